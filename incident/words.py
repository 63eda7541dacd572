"""Counts written as people write them ("1 update", "2 updates", "0 action items"), so no
message says "update(s)" or "1 updates". One helper, used wherever a count meets a noun."""

from __future__ import annotations

# Nouns whose plural is not the noun plus "s"; a caller may also pass its own.
_IRREGULAR = {"person": "people", "criterion": "criteria"}


def plural_of(word: str) -> str:
    """The plural of `word` (its last word decides: "earlier update" → "earlier updates")."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and word[-2:-1] not in set("aeiou"):
        return word[:-1] + "ies"
    return word + "s"


def plural(n: int, word: str, many: str | None = None) -> str:
    """`n` and the noun in the form that count takes: 1 → singular, anything else → plural
    (English says "0 updates"). `many` overrides the plural when the rule above is wrong."""
    noun = word if n == 1 else (many or plural_of(word))
    return f"{n} {noun}"
