"""bench/profile_host.py: how py-spy's collapsed stacks share out over the host's parts."""

from __future__ import annotations

from bench.profile_host import shares

PARTS = {"reads": ("reads.<locals>.read",), "http": ("aiohttp/",), "json": ("json/encoder",)}

COLLAPSED = [
    "_run (asyncio/events.py:80);_drive (devhost/engine/dispatcher.py:245);"
    "read (devhost/store/sqlite_writer.py:38) 7\n",
    "_run (asyncio/events.py:80);reads.<locals>.read (devhost/store/sqlite_writer.py:38);"
    "encode (json/encoder.py:200) 3\n",
    "_handle_request (aiohttp/web_protocol.py:480) 10\n",
    "\n",
    "a line without a count\n",
]


def test_each_part_counts_the_samples_whose_stack_holds_one_of_its_frames() -> None:
    total, by_part = shares(COLLAPSED, PARTS)
    assert total == 20
    # "read (...sqlite_writer.py)" alone is not the reads part: its text is `reads.<locals>.read`.
    assert by_part == {"reads": 3 / 20, "http": 10 / 20, "json": 3 / 20}


def test_no_samples_is_no_share() -> None:
    assert shares([], PARTS) == (0, {"reads": 0.0, "http": 0.0, "json": 0.0})
