"""`plural`: the one way a count is written, so "1 update" and "2 action items" read right."""

from __future__ import annotations

import pytest

from incident.words import plural, plural_of


@pytest.mark.parametrize(
    ("n", "word", "expected"),
    [
        (0, "update", "0 updates"),
        (1, "update", "1 update"),
        (2, "update", "2 updates"),
        (1, "action item", "1 action item"),
        (2, "action item", "2 action items"),
        (1, "earlier update", "1 earlier update"),
        (3, "earlier update", "3 earlier updates"),
        (2, "entry", "2 entries"),
        (2, "day", "2 days"),
        (2, "alias", "2 aliases"),
        (2, "person", "2 people"),
        (1, "person", "1 person"),
    ],
)
def test_plural(n: int, word: str, expected: str) -> None:
    assert plural(n, word) == expected


def test_plural_override() -> None:
    assert plural(2, "criterion", "criteria") == "2 criteria"
    assert plural(1, "criterion", "criteria") == "1 criterion"
    assert plural_of("page") == "pages"
    assert "(s)" not in plural(5, "update")
