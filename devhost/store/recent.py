"""The stores' one cache policy: what this process wrote lately, kept in memory, the oldest dropped first.

Every episode reads its instance's whole history, and a store that wrote it needs not read it back.
Both stores keep what they wrote for the instances they ran last (SQLite: histories; Azure Storage:
instance rows with their histories; large-value blob names), updated only after a write succeeded and
dropped whenever it may be stale, so a cache miss is only slower, never wrong.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

INSTANCES = 2048  # instances whose state a store remembers


class Recent(OrderedDict[K, V], Generic[K, V]):
    """A dict of at most `limit` entries, the least recently used dropped first: `remember` and
    `recall` mark an entry used; plain `[]`, `get` and `pop` do not."""

    def __init__(self, limit: int = INSTANCES) -> None:
        super().__init__()
        self.limit = limit

    def remember(self, key: K, value: V) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)

    def recall(self, key: K) -> V | None:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value
