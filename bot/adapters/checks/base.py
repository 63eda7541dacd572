"""What every checker offers the runner, and a clock for measuring checks."""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

from bot.adapters.catalog.model import Service
from incident.checks import CheckResult


@runtime_checkable
class Checker(Protocol):
    """One kind of check (http, postgres, rds...).

    ``applies_to`` lets the runner skip services that have nothing to check for this kind
    (no redis_url, no aws section), so a catalog entry only lists what it has.
    """

    name: str

    def applies_to(self, service: Service) -> bool: ...

    async def check(self, service: Service) -> CheckResult: ...


class Stopwatch:
    """Milliseconds since creation, on the monotonic clock."""

    def __init__(self) -> None:
        self._start = time.perf_counter()

    @property
    def ms(self) -> float:
        return (time.perf_counter() - self._start) * 1000
