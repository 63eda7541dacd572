"""Check results: what a status check found, how it reads in Slack, how it is stored.

Pure domain: no I/O here, so the adapters in ``bot/checks`` can produce results and the
timeline can store them without either knowing how the other works.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from incident.escaping import escape_mrkdwn

# Long reasons (stack-ish error messages) would wreck a Slack line; keep them readable.
MAX_REASON_CHARS = 300


class CheckStatus(StrEnum):
    """Outcome of one check; the string value is what the timeline stores."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    # the check could not tell (a provider unreachable, timing out, answering garbage):
    # shown apart, never counted as ok
    UNKNOWN = "unknown"

    @property
    def emoji(self) -> str:
        return _EMOJI[self]

    @property
    def severity(self) -> int:
        """Orders statuses so the worst of a set can be picked with ``max``."""
        return _SEVERITY[self]


_EMOJI = {
    CheckStatus.OK: "✅",
    CheckStatus.WARN: "⚠️",
    CheckStatus.FAIL: "❌",
    CheckStatus.UNKNOWN: "❔",
}
_SEVERITY = {CheckStatus.OK: 0, CheckStatus.UNKNOWN: 1, CheckStatus.WARN: 2, CheckStatus.FAIL: 3}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check of one service.

    ``reason`` is short and human ("200 healthy", "connection refused"); anything a
    responder may want to dig into later goes in ``details``, which must stay JSON-able
    because it is written to the incident timeline as-is.
    """

    service: str
    check: str
    status: CheckStatus
    reason: str
    duration_ms: float
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status is CheckStatus.OK

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for the timeline; odd detail values degrade to strings."""
        return {
            "service": self.service,
            "check": self.check,
            "status": self.status.value,
            "reason": self.reason,
            "duration_ms": round(self.duration_ms, 1),
            "details": json.loads(json.dumps(self.details, default=str)),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        return cls(
            service=str(data["service"]),
            check=str(data["check"]),
            status=CheckStatus(data["status"]),
            reason=str(data["reason"]),
            duration_ms=float(data["duration_ms"]),
            details=dict(data.get("details") or {}),
        )


@dataclass(frozen=True, slots=True)
class CheckSummary:
    """Counts and the overall verdict of a check run, for the headline of a status reply."""

    total: int
    ok: int
    warn: int
    fail: int
    status: CheckStatus
    failing_services: tuple[str, ...]
    unknown: int = 0

    @property
    def headline(self) -> str:
        if self.total == 0:
            return f"{CheckStatus.WARN.emoji} no checks ran"
        if self.fail:
            head = f"{CheckStatus.FAIL.emoji} {self.fail} of {self.total} checks failing"
            head += f" ({', '.join(escape_mrkdwn(s) for s in self.failing_services)})"
        elif self.warn:
            head = f"{CheckStatus.WARN.emoji} {self.warn} of {self.total} checks warning"
        elif self.unknown:
            head = f"{CheckStatus.UNKNOWN.emoji} {self.unknown} of {self.total} checks unknown"
            return head
        else:
            return f"{CheckStatus.OK.emoji} all {self.total} checks passing"
        if self.fail and self.warn:
            head += f" · {self.warn} warning"
        if self.unknown:
            head += f" · {self.unknown} unknown"
        return head


def summarise(results: Iterable[CheckResult]) -> CheckSummary:
    """Reduce a run to counts and its worst status.

    An empty run is a WARN, not an OK: "nothing was checked" must never read as healthy.
    """
    results = list(results)
    counts = dict.fromkeys(CheckStatus, 0)
    failing: list[str] = []
    for result in results:
        counts[result.status] += 1
        if result.status is CheckStatus.FAIL and result.service not in failing:
            failing.append(result.service)
    if results:
        worst = max((r.status for r in results), key=lambda s: s.severity)
    else:
        worst = CheckStatus.WARN
    return CheckSummary(
        total=len(results),
        ok=counts[CheckStatus.OK],
        warn=counts[CheckStatus.WARN],
        fail=counts[CheckStatus.FAIL],
        status=worst,
        failing_services=tuple(failing),
        unknown=counts[CheckStatus.UNKNOWN],
    )


def render_mrkdwn(results: Sequence[CheckResult]) -> list[str]:
    """One Slack mrkdwn line per result, e.g. ``✅ api · http · 200 healthy · 34 ms``."""
    return [render_line(r) for r in results]


def render_line(result: CheckResult) -> str:
    parts = (
        result.status.emoji,
        " · ".join(
            (
                escape_mrkdwn(_one_line(result.service)),
                escape_mrkdwn(_one_line(result.check)),
                escape_mrkdwn(_one_line(result.reason)),
                format_duration(result.duration_ms),
            )
        ),
    )
    return " ".join(parts)


def format_duration(duration_ms: float) -> str:
    if duration_ms < 1000:
        return f"{round(duration_ms)} ms"
    return f"{duration_ms / 1000:.1f} s"


def results_to_dicts(results: Iterable[CheckResult]) -> list[dict[str, Any]]:
    return [r.to_dict() for r in results]


def results_from_dicts(items: Iterable[Mapping[str, Any]]) -> list[CheckResult]:
    return [CheckResult.from_dict(item) for item in items]


_WHITESPACE = re.compile(r"\s+")


def _one_line(text: str) -> str:
    """Collapse newlines so one result stays one Slack line, and cap its length."""
    flat = _WHITESPACE.sub(" ", text).strip()
    if len(flat) > MAX_REASON_CHARS:
        flat = flat[: MAX_REASON_CHARS - 1] + "…"
    return flat
