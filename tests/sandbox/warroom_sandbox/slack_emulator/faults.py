"""Injected failures: rate limits, Slack errors, HTTP 5xx and slow answers.

A fault is armed for the next `times` calls of one method (or "*" for every
method) and consumed call by call, so a test can say "the first
chat.postMessage is rate limited" and then watch the client recover.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

_DEFAULT_HTTP_ERRORS = {
    500: "internal_error",
    502: "service_unavailable",
    503: "service_unavailable",
}


@dataclass
class Fault:
    method: str
    error: str | None = None
    retry_after: int = 1
    times: int | None = 1  # None: every call until cleared
    status: int | None = None
    delay: float | None = None
    # also run the method (state changes) before answering with the fault:
    # Slack's "it's possible some aspect of the operation succeeded".
    apply: bool = False
    hits: int = 0

    @property
    def kind(self) -> str:
        if self.status == 429 or (self.status is None and self.error == "ratelimited"):
            return "ratelimited"
        if self.status is not None:
            return "http_error"
        if self.error is not None:
            return "slack_error"
        if self.delay:
            return "delay"
        return "ratelimited"

    def answer(self) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        """(status, body, headers) to send instead of the real answer; None means
        "answer normally" (a pure delay)."""
        kind = self.kind
        if kind == "delay":
            return None
        if kind == "ratelimited":
            # exactly Slack's: 429, Retry-After in whole seconds, JSON error body
            return (
                429,
                {"ok": False, "error": "ratelimited"},
                {"Retry-After": str(self.retry_after)},
            )
        if kind == "http_error":
            assert self.status is not None
            error = self.error or _DEFAULT_HTTP_ERRORS.get(self.status, "fatal_error")
            return self.status, {"ok": False, "error": error}, {}
        return 200, {"ok": False, "error": str(self.error)}, {}

    def matches(self, method: str) -> bool:
        return self.method in ("*", method)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        method = data.get("method")
        if not isinstance(method, str) or not method:
            raise ValueError("fault needs a 'method' (a Web API method name or '*')")
        times = data.get("times", 1)
        return cls(
            method=method,
            error=data.get("error"),
            retry_after=int(data.get("retry_after", 1)),
            times=None if times is None else int(times),
            status=None if data.get("status") is None else int(data["status"]),
            delay=None if data.get("delay") is None else float(data["delay"]),
            apply=bool(data.get("apply", False)),
        )


class FaultBook:
    """Armed faults, consumed in the order they were armed."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method):
                    fault.hits += 1
                    if fault.times is not None and fault.hits >= fault.times:
                        self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def armed(self) -> list[Fault]:
        with self._lock:
            return [Fault(**f.to_dict()) for f in self._faults]
