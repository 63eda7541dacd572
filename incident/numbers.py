"""The one reading of a number a person typed or a payload carried.

Python's `str.isdigit()` and `int()` accept far more than people mean: `"²".isdigit()` is
True (and `int("²")` then fails), `int("١٢")` is 12, `int(" 1_0 ")` is 10, `int(True)` is 1
and `int(2.9)` is 2; and a number past Postgres' integer fails only when the database sees
it, as "Storage is unavailable". Here a number is ASCII digits (or a JSON integer) within
bounds, and anything else is a ValueError whose message can be shown as it is.
"""

from __future__ import annotations

import re

PG_INT_MAX = 2**31 - 1  # a Postgres `integer` column (incident numbers, revisions)
_DIGITS = re.compile(r"[0-9]+")
_MAX_DIGITS = 12  # longer is never a count we keep, and int() of it is not worth the work


def parse_count(
    value: object, *, minimum: int = 0, maximum: int = PG_INT_MAX, what: str = "number"
) -> int:
    """`value` as an int in [minimum, maximum]: ASCII digits (surrounding spaces allowed) or
    an int that is not a bool. Raises ValueError naming `what` and the bounds."""
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(text := value.strip()):
        number = int(text) if len(text.lstrip("0")) <= _MAX_DIGITS else maximum + 1
    else:
        number = None
    if number is None:
        raise ValueError(f"The {what} must be a whole number written with the digits 0-9.")
    if not minimum <= number <= maximum:
        raise ValueError(f"The {what} must be between {minimum} and {maximum}.")
    return number
