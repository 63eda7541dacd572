"""Slack-looking ids and message timestamps."""

from __future__ import annotations

import itertools
import threading
import time

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _base36(n: int, width: int) -> str:
    digits = []
    while n:
        n, r = divmod(n, 36)
        digits.append(_ALPHABET[r])
    return "".join(reversed(digits)).rjust(width, "0")


class IdFactory:
    """Deterministic ids (`C0000000001`, `U0000000002`...) that never repeat.

    One counter for all prefixes, kept across resets, so an id the app cached
    before a reset can never silently point at a different object afterwards.
    """

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def new(self, prefix: str) -> str:
        with self._lock:
            n = next(self._counter)
        return f"{prefix}{_base36(n, 10)}"


class TsClock:
    """Message timestamps like Slack's ("1700000000.000100"), strictly increasing.

    Based on wall time so ts values look real and sort with `time.time()`, bumped
    by one microsecond whenever two messages land in the same microsecond.
    """

    def __init__(self) -> None:
        self._last_us = 0
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            now_us = time.time_ns() // 1000
            self._last_us = max(now_us, self._last_us + 1)
            us = self._last_us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"
