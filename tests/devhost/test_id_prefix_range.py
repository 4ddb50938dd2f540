"""The key range both stores use for `instanceIdPrefix`: exactly the ids that start with the prefix."""

from __future__ import annotations

import pytest

from devhost.store.base import id_prefix_range

IDS = [
    "a",
    "ab",
    "abc",
    "ab\U0010ffff",
    "ab\U0010ffff\U0010ffffz",
    "ac",
    "b",
    "x\ud7ff",
    "x\ud7ffy",
    "x\ue000",
    "x\uffff",
    "y",
    "\U0010ffff",
    "\U0010ffffq",
    "",
]


def within(text: str, prefix: str) -> bool:
    low, high = id_prefix_range(prefix)
    return text >= low and (high is None or text < high)


@pytest.mark.parametrize("prefix", ["a", "ab", "ab\U0010ffff", "x\ud7ff", "x", "\U0010ffff", "zz"])
def test_the_range_holds_exactly_the_ids_with_the_prefix(prefix: str) -> None:
    assert [i for i in IDS if within(i, prefix)] == [i for i in IDS if i.startswith(prefix)]


def test_a_prefix_of_only_the_last_code_point_has_no_upper_bound() -> None:
    assert id_prefix_range("\U0010ffff\U0010ffff") == ("\U0010ffff\U0010ffff", None)


def test_the_successor_is_never_a_surrogate() -> None:
    _, high = id_prefix_range("x\ud7ff")
    assert high == "x\ue000"
    high.encode("utf-8")  # storable in both stores
