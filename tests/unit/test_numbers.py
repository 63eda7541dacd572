"""The one reading of a number (pure: no processes)."""

from __future__ import annotations

import pytest

from incident.numbers import PG_INT_MAX, parse_count


@pytest.mark.parametrize(("value", "number"), [("12", 12), (" 7 ", 7), ("007", 7), (3, 3)])
def test_ascii_digits_and_integers(value: object, number: int) -> None:
    assert parse_count(value) == number


@pytest.mark.parametrize(
    "value",
    ["²", "١٢", "１２", "1_000", "1e3", "-1", "+1", "1.0", "", " ", "0x10", True, 2.0, None, [1]],
)
def test_anything_else_is_refused_plainly(value: object) -> None:
    with pytest.raises(ValueError, match="whole number written with the digits 0-9"):
        parse_count(value, what="page")


@pytest.mark.parametrize("value", ["0", str(PG_INT_MAX + 1), "9" * 5000, 10**30])
def test_out_of_bounds_names_the_bounds(value: object) -> None:
    with pytest.raises(ValueError, match=f"between 1 and {PG_INT_MAX}"):
        parse_count(value, minimum=1, what="incident number")
