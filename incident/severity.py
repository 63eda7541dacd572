"""Severity levels and the response policy the runbooks ask for.

Where the runbooks disagree the stricter target is the default (runbook 003 vs 000: SEV1 ack
within 5 min here, not 15), and every number can be overridden from a policy file. So can
the names people type for the levels (`P1`, `critical`...): the file's `[aliases]` table, over
DEFAULT_ALIASES below, is read by the one parser every command and form uses.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
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


# The words people type for a level, beyond `SEV1`/`SEV-1`/`SEV 1`/`sev1`/`1`, from the runbooks.
# Runbook 003 defines SEV-1..4 as Critical/High/Medium/Low; runbook 000 calls SEV3 "Warning";
# runbook 004 uses P0 (site down, payments broken), P1 (feature broken, data issue) and P2
# (degraded performance). Where they disagree the stricter level wins: P1's "data issue" is
# runbook 003's "data loss/corruption" (SEV1), and P2's degraded performance is at least
# SEV2's "performance severely degraded". P3 and beyond are defined by no runbook and are
# refused unless a policy file's `[aliases]` table names them. `S1`..`S4` are shorthand.
DEFAULT_ALIASES: dict[str, str] = {
    "S1": "SEV1",
    "S2": "SEV2",
    "S3": "SEV3",
    "S4": "SEV4",
    "P0": "SEV1",
    "P1": "SEV1",
    "P2": "SEV2",
    "CRITICAL": "SEV1",
    "HIGH": "SEV2",
    "MEDIUM": "SEV3",
    "WARNING": "SEV3",
    "LOW": "SEV4",
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
    # what else people call each level: {alias_key: level}, see DEFAULT_ALIASES
    aliases: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ALIASES))

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


# A code that reads as a severity even when no level has it (`SEV9`, `SEV²`, and `P7` while
# some `P` code is an alias): refused rather than taken for the first word of a title.
# `SEVERE` is a word, not a code; and a code has one digit, so "P99 latency" is a title.
_SEV_CODE = re.compile(r"(?i)sev[-_ ]?[^a-z\s]\S*")
_CODE = re.compile(r"(?i)([a-z]{1,3})[-_]?\d")
_SEPARATORS = re.compile(r"[-_\s]+")
# The first word(s) of a declaration: `SEV 1` may have a space, an alias may end with a colon.
_LEADING = re.compile(r"(?i)\s*(sev [0-9]+\b|[^\s:]+)(:?)(?:\s+|$)")


def alias_key(text: str) -> str:
    """How a typed level is compared: case, dashes, underscores and spaces do not count."""
    return _SEPARATORS.sub("", text.strip()).upper()


def normalise(text: str, aliases: Mapping[str, str] | None = None) -> str | None:
    """The level `text` names (`SEV2`, `sev-2`, `SEV 2`, `2`, or an alias such as `P1` or
    `critical`), None when it names none. Digits are ASCII only: `SEV²` is no level."""
    key = alias_key(text)
    table = DEFAULT_ALIASES if aliases is None else aliases
    if re.fullmatch(r"[0-9]+", key):
        key = f"SEV{key}"
    if key in SEVERITIES:
        return key
    return table.get(key)


def levels_text(aliases: Mapping[str, str] | None = None) -> str:
    """The levels and what else each may be called, for usage and refusals."""
    table = DEFAULT_ALIASES if aliases is None else aliases
    parts = []
    for level in SEVERITIES:
        names = [k.lower() if k.isalpha() else k for k, v in table.items() if v == level]
        parts.append(f"{level} ({', '.join(names)})" if names else level)
    return ", ".join(parts)


def parse_severity(text: str, aliases: Mapping[str, str] | None = None) -> str:
    """The one reading of a typed severity, shared by the declare command and form,
    `/incident sev` and the severity modal, so they accept and refuse the same words.
    `aliases` is the policy's table (None: the defaults)."""
    sev = normalise(text, aliases)
    if sev is None:
        shown = escape_mrkdwn(" ".join(text.split())[:30])
        if not shown:
            raise SeverityError(f"Give a severity: {levels_text(aliases)}.")
        raise SeverityError(f"Unknown severity `{shown}`. Use one of: {levels_text(aliases)}.")
    return sev


def looks_like_severity(word: str, aliases: Mapping[str, str] | None = None) -> bool:
    """A code shaped like a level, known or not: `SEV<anything>`, or a letter and digits
    whose letter some alias code uses (`P7` beside `P1`, `S5` beside `S1`). Words are not
    codes; and once a policy removes every `S` code, "S3 bucket" starts a title again."""
    word = word.strip()
    if _SEV_CODE.fullmatch(word):
        return True
    if not (m := _CODE.fullmatch(word)):
        return False
    prefix = m.group(1).upper()
    table = DEFAULT_ALIASES if aliases is None else aliases
    return any((c := _CODE.fullmatch(k)) and c.group(1).upper() == prefix for k in table)


def split_severity(text: str, aliases: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """(the level `text` starts with or None, the rest). Raises SeverityError when it starts
    with a code that is no level (`SEV9 Database down`): better refused than swallowed into
    the title. A word alias (`critical`) counts only with a colon (`critical: Database
    down`), because "High latency on checkout" is a title, not a SEV2."""
    m = _LEADING.match(text)
    if m is None:
        return None, text.strip()
    word, colon = m.group(1), m.group(2)
    rest = text[m.end() :].strip()
    if alias_key(word).isalpha() and not alias_key(word).startswith("SEV"):
        sev = normalise(word, aliases) if colon else None
        return (sev, rest) if sev else (None, text.strip())
    if not looks_like_severity(word, aliases):
        return None, text.strip()
    return parse_severity(word, aliases), rest


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
        name = normalise(sev, {})
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
    aliases = _aliases(path, data.get("aliases") or {})
    return Policy(
        levels=levels,
        monitoring_window=timedelta(minutes=window),
        responders_group=data.get("responders_group"),
        oncall_group=data.get("oncall_group"),
        allowed=allowed,
        aliases=aliases,
    )


def _aliases(path: Path, raw: object) -> dict[str, str]:
    """The defaults, changed by the policy file's `[aliases]` table: `P3 = "SEV3"` adds or
    remaps a name, `S3 = false` removes one (a team whose titles start with "S3 bucket")."""
    if not isinstance(raw, dict):
        raise PolicyError(f"{path}: aliases: must be a table of name = level")
    aliases = dict(DEFAULT_ALIASES)
    for name, level in raw.items():
        key = alias_key(name)
        where = f"{path}: aliases.{name}"
        if not key or key.isdigit() or normalise(key, {}) is not None:
            raise PolicyError(f"{where}: a level or a number cannot be an alias")
        if " " in name.strip() or not (key.isalpha() or _CODE.fullmatch(key)):
            raise PolicyError(f"{where}: an alias is one word (critical) or a code (P3)")
        if level is False:
            aliases.pop(key, None)
            continue
        target = normalise(level, {}) if isinstance(level, str) else None
        if target is None:
            raise PolicyError(f"{where}: must name one of {', '.join(SEVERITIES)} (or false)")
        aliases[key] = target
    return aliases


def _minutes(raw: dict, key: str, default: timedelta | None) -> timedelta | None:
    if key not in raw:
        return default
    v = raw[key]
    if v is False or v == 0:
        return None
    if not isinstance(v, int | float) or v < 0:
        raise ValueError(f"{key}: must be a number of minutes")
    return timedelta(minutes=v)
