"""Wake-up hints between devhost processes sharing an Azure Storage task hub.

Queue visibility runs on the server's clock, which neither the store contract's explicit `now` nor
time skipping can move, so messages stay in tables; the `<hub lower>-devhost` queue carries only hints
that there is new work. A hint from another writer makes the store reload its due index.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid

from azure.core.exceptions import AzureError
from azure.storage.queue.aio import QueueClient

log = logging.getLogger("devhost.store.azure")
_HINT_TTL_SECONDS = 120
_HINT_EVERY_SECONDS = 1.0
_DRAIN_EVERY_SECONDS = 1.0


class WakeHints:
    """Sends hints after writes (at most one a second) and tells whether another writer sent one."""

    def __init__(self, queue: QueueClient) -> None:
        self._queue = queue
        self._writer = uuid.uuid4().hex
        self._drained = 0.0
        self._hinted = 0.0
        self._later: asyncio.Task[None] | None = None

    async def soon(self) -> None:
        """Tell any other devhost on this hub that there is new work (best effort: at most one a second).

        The first write after a quiet second sends a hint at once; later ones share one sent when the
        second is over, so a burst of writes costs one message, and its last write is never unhinted.
        """
        if self._later is not None:
            return
        wait = self._hinted + _HINT_EVERY_SECONDS - time.monotonic()
        if wait <= 0:
            await self._send()
        else:
            self._later = asyncio.create_task(self._after(wait))

    async def _after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self._later = None
        await self._send()

    async def _send(self) -> None:
        self._hinted = time.monotonic()
        try:
            await self._queue.send_message(
                json.dumps({"writer": self._writer}), time_to_live=_HINT_TTL_SECONDS
            )
        except AzureError as exc:
            log.debug(
                "wake-up hint not sent: %s", (getattr(exc, "message", None) or str(exc)).splitlines()[0]
            )

    async def from_others(self) -> bool:
        """At most once a second: read the queue; True when another writer has sent a hint since."""
        if time.monotonic() - self._drained < _DRAIN_EVERY_SECONDS:
            return False
        self._drained = time.monotonic()
        found = False
        # Received hints stay hidden until they expire: nobody needs to delete them.
        async for hint in self._queue.receive_messages(
            max_messages=32, visibility_timeout=_HINT_TTL_SECONDS // 2
        ):
            try:
                found = found or json.loads(hint.content).get("writer") != self._writer
            except (ValueError, AttributeError):
                found = True
        return found

    async def close(self) -> None:
        """Send the hint a burst of writes still owes."""
        if self._later is not None:
            self._later.cancel()
            await asyncio.gather(self._later, return_exceptions=True)
            self._later = None
            await self._send()
