"""What the host and a worker process say to each other over their socket.

Each message is a pickle with a 4-byte big-endian length in front. The host sends lists of work items,
`(call id, kind, arguments)`; the worker answers `READY` once the app is loaded, then one
`(call id, reply)` per item as each is done (a reply that is an exception fails that item).
"""

from __future__ import annotations

import pickle

READY = "ready"
EPISODE, ACTIVITY, ENTITY, HTTP = "episode", "activity", "entity", "http"
AT_ONCE = frozenset({ACTIVITY, HTTP})  # may wait for long: sent at once, run concurrently


class Frames:
    """Length-prefixed messages (4 bytes, big-endian) cut out of a byte stream."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        buffer = self._buffer
        buffer += data
        frames: list[bytes] = []
        at, end = 0, len(buffer)
        while end - at >= 4:
            size = int.from_bytes(buffer[at : at + 4], "big")
            if end - at - 4 < size:
                break
            frames.append(bytes(buffer[at + 4 : at + 4 + size]))
            at += 4 + size
        del buffer[:at]
        return frames


def _frame(value: object) -> bytes:
    data = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    return len(data).to_bytes(4, "big") + data


def frame(value: object) -> bytes:
    data = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    return len(data).to_bytes(4, "big") + data
