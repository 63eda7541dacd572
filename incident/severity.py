"""Severity levels and the response policy the runbooks ask for.

Where the runbooks disagree the stricter target is the default (runbook 003 vs 000: SEV1 ack
within 5 min here, not 15), and every number can be overridden from a policy file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from incident.escaping import escape_mrkdwn

SEVERITIES: tuple[str, ...] = ("SEV1", "SEV2", "SEV3", "SEV4")

# Runbook 003's definitions, shown as hints in the declare modal.
DEFINITIONS: dict[str, str] = {
    "SEV1": "Critical: complete outage, data loss or security breach",
    "SEV2": "High: major feature broken or performance severely degraded",
    "SEV3": "Medium: minor feature broken, some users affected",
    "SEV4": "Low: minor issue, no immediate impact",
}


class SeverityError(ValueError):
    """What was typed names no severity; the message is written for the person who typed it."""


class PolicyError(ValueError):
    """A bad policy file: the message names the file and the key."""


@dataclass(frozen=True)
class SeverityPolicy:
    ack_within: timedelta | None  # None: next business day
    update_every: timedelta | None  # None: no cadence
    page_group: str | None = None  # Slack user group handle to mention


@dataclass(frozen=True)
class Policy:
    levels: dict[str, SeverityPolicy]
    monitoring_window: timedelta = timedelta(minutes=30)
    responders_group: str | None = None
    oncall_group: str | None = None
    allowed: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def for_severity(self, severity: str) -> SeverityPolicy:
        return self.levels[severity]


DEFAULT_POLICY = Policy(
    levels={
        "SEV1": SeverityPolicy(timedelta(minutes=5), timedelta(minutes=15)),
        "SEV2": SeverityPolicy(timedelta(minutes=15), timedelta(minutes=30)),
        "SEV3": SeverityPolicy(timedelta(hours=1), timedelta(hours=2)),
        "SEV4": SeverityPolicy(None, None),
    }
)


def normalise(text: str) -> str | None:
    """Accept `SEV2`, `sev2`, `SEV-2`, `S2`, `2`, `P1`-style aliases are not guessed."""
    t = text.strip().upper().replace("-", "")
    if t.startswith("SEV"):
        t = t[3:]
    elif t.startswith("S"):
        t = t[1:]
    name = f"SEV{t}"
    return name if name in SEVERITIES else None


def parse_severity(text: str) -> str:
    """The one reading of a typed severity, shared by the declare command and form,
    `/incident sev` and the severity modal, so they accept and refuse the same words."""
    sev = normalise(text)
    if sev is None:
        shown = escape_mrkdwn(text.strip()[:30])
        raise SeverityError(f"Unknown severity `{shown}`. Use one of: {', '.join(SEVERITIES)}.")
    return sev


def looks_like_severity(word: str) -> bool:
    w = word.strip().upper().replace("-", "")
    return w.startswith("SEV") and len(w) > 3


def rank(severity: str) -> int:
    """Lower is worse: SEV1 → 1."""
    return SEVERITIES.index(severity) + 1


def load_policy(path: Path | None) -> Policy:
    if path is None:
        return DEFAULT_POLICY
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"{path}: {exc}") from None
    levels = dict(DEFAULT_POLICY.levels)
    for sev, raw in (data.get("severity") or {}).items():
        name = normalise(sev)
        if name is None:
            raise PolicyError(f"{path}: severity.{sev}: unknown severity")
        base = levels[name]
        try:
            levels[name] = replace(
                base,
                ack_within=_minutes(raw, "ack_minutes", base.ack_within),
                update_every=_minutes(raw, "update_minutes", base.update_every),
                page_group=raw.get("page_group", base.page_group),
            )
        except (TypeError, ValueError) as exc:
            raise PolicyError(f"{path}: severity.{sev}: {exc}") from None
    window = data.get("monitoring_window_minutes", 30)
    if not isinstance(window, int) or window < 0:
        raise PolicyError(f"{path}: monitoring_window_minutes: must be a whole number ≥ 0")
    allowed = {k: tuple(v) for k, v in (data.get("allowed") or {}).items()}
    return Policy(
        levels=levels,
        monitoring_window=timedelta(minutes=window),
        responders_group=data.get("responders_group"),
        oncall_group=data.get("oncall_group"),
        allowed=allowed,
    )


def _minutes(raw: dict, key: str, default: timedelta | None) -> timedelta | None:
    if key not in raw:
        return default
    v = raw[key]
    if v is False or v == 0:
        return None
    if not isinstance(v, int | float) or v < 0:
        raise ValueError(f"{key}: must be a number of minutes")
    return timedelta(minutes=v)
