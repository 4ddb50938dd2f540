"""The stores' cache policy (store/recent.py): bounded, least recently used dropped first."""

from __future__ import annotations

from devhost.store.recent import Recent


def test_the_least_recently_used_entry_goes_first() -> None:
    cache: Recent[str, int] = Recent(limit=2)
    cache.remember("a", 1)
    cache.remember("b", 2)
    assert cache.recall("a") == 1  # "a" is now the most recent
    cache.remember("c", 3)
    assert list(cache) == ["a", "c"]
    assert cache.recall("b") is None


def test_remembering_again_replaces_and_renews() -> None:
    cache: Recent[str, int] = Recent(limit=2)
    cache.remember("a", 1)
    cache.remember("b", 2)
    cache.remember("a", 10)
    cache.remember("c", 3)
    assert dict(cache) == {"a": 10, "c": 3}
