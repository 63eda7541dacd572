"""One timeline event as a post-mortem line: a sentence a manager can read, plus the
structured facts behind it for the JSON form.

Sentences are plain text in which people appear as `<@U123>`; each renderer turns those into
names and escapes the rest for its own format.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from incident import event_kinds as K
from incident import slack_text

# Kinds that are bookkeeping, not part of the story.
HIDDEN_KINDS: frozenset[str] = frozenset({K.REMINDER, K.PARTICIPANT, K.SETUP_FAILED})
CHECK_EMOJI = {"ok": "✅", "warn": "⚠️", "fail": "❌", "unknown": "❔"}
MAX_VALUE_CHARS = 200


@dataclass(frozen=True, slots=True)
class Entry:
    at: datetime
    kind: str
    actor: str | None
    text: str
    detail: dict[str, Any]


def is_hidden(kind: str) -> bool:
    return kind in HIDDEN_KINDS or kind.startswith(K.SETUP_PREFIX)


def mention(user: Any) -> str:
    return f"<@{user}>" if user else "someone"


def value_text(value: Any) -> str:
    """before/after of an action may be a scalar, a list or a dict of settings."""
    if value is None or value == "":
        return "—"
    if isinstance(value, Mapping):
        text = ", ".join(f"{k}={value_text(v)}" for k, v in value.items())
    elif isinstance(value, list | tuple):
        text = ", ".join(value_text(v) for v in value)
    else:
        text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def approvers(data: Mapping[str, Any]) -> list[str]:
    raw = data.get("approved_by")
    if not raw:
        return []
    return [str(u) for u in raw] if isinstance(raw, list | tuple) else [str(raw)]


def _declared(text: str | None, data: Mapping[str, Any]) -> str:
    sev = data.get("severity")
    return f"Declared {sev}: {text}" if sev else f"Declared: {text}"


def _update(text: str | None, data: Mapping[str, Any]) -> str:
    """An update may also move the status and restate the impact (lifecycle's contract)."""
    status, impact = data.get("status"), data.get("impact")
    prefix = f"[{str(status).capitalize()}] " if status else ""
    suffix = f" (impact: {impact})" if impact else ""
    return f"{prefix}{text or ''}{suffix}".strip() or "Update"


def _change(label: str) -> Callable[[str | None, Mapping[str, Any]], str]:
    def describe(_: str | None, data: Mapping[str, Any]) -> str:
        before, after = data.get("before"), data.get("after")
        if label == "Status":
            before = str(before).capitalize() if before else before
            after = str(after).capitalize() if after else after
        if label == "Commander":
            return f"Commander {mention(before)} → {mention(after)}"
        if label == "Impact":
            return f"Impact: {after or '—'}"
        return f"{label} {before or '—'} → {after or '—'}"

    return describe


def _note(text: str | None, data: Mapping[str, Any]) -> str:
    return f"Root-cause candidate: {text}" if data.get("cause_candidate") else f"Note: {text}"


def _pinned(text: str | None, data: Mapping[str, Any]) -> str:
    """The message as its author wrote it, whether captured before or after decoding."""
    by = data.get("pinned_by")
    said = slack_text.stored(text, data) or ""
    return f"📌 {said}" + (f" (pinned by {mention(by)})" if by else "")


def _resolved(text: str | None, _: Mapping[str, Any]) -> str:
    return f"Resolved: {text}" if text else "Resolved"


def check_line(result: Mapping[str, Any]) -> str:
    status = str(result.get("status", ""))
    emoji = CHECK_EMOJI.get(status, status)
    service, check = result.get("service", "?"), result.get("check", "?")
    return f"{service} {check} {emoji} {result.get('reason', '')}"


def _check(_: str | None, data: Mapping[str, Any]) -> str:
    results = data.get("results") or []
    if not results:
        return "Checks ran (no results)"
    return "Checks: " + " · ".join(check_line(r).strip() for r in results)


def _action(_: str | None, data: Mapping[str, Any]) -> str:
    what = f"{data.get('action', 'action')} {value_text(data.get('target'))}".strip()
    change = f"{value_text(data.get('before'))} → {value_text(data.get('after'))}"
    if data.get("refused_reason"):
        return f"Action {what} refused: {data['refused_reason']}"
    if data.get("failed_reason"):
        return f"Action {what} failed: {data['failed_reason']}"
    outcome = f" ({data['outcome']})" if data.get("outcome") else ""
    approved = approvers(data)
    who = f", approved by {', '.join(mention(u) for u in approved)}" if approved else ""
    return f"Action {what}: {change}{outcome}{who}"


def _action_item(text: str | None, data: Mapping[str, Any]) -> str:
    owner = data.get("owner")
    return f"Action item: {text}" + (f" (owner {mention(owner)})" if owner else "")


def _escalation(_: str | None, data: Mapping[str, Any]) -> str:
    group = data.get("group")
    return f"Escalated to {group}" if group else "Escalated"


def _page(text: str | None, data: Mapping[str, Any]) -> str:
    who = mention(data.get("ref")) if data.get("kind") == "user" else f"@{data.get('ref', '')}"
    step = f", step {data['step'] + 1}" if isinstance(data.get("step"), int) else ""
    message = f": {text}" if text else ""
    return f"Paged {who} ({data.get('target', '')}{step}){message}"


def _denied(_: str | None, data: Mapping[str, Any]) -> str:
    return f"Refused {data.get('what', 'a request')}: {data.get('reason', '')}".strip()


def _suspect_change(text: str | None, data: Mapping[str, Any]) -> str:
    """A rollout that began shortly before the incident (bot.flows.changes)."""
    return text or f"Suspect change: {value_text(data.get('rollout'))}"


_DESCRIBE: dict[str, Callable[[str | None, Mapping[str, Any]], str]] = {
    K.DECLARED: _declared,
    K.ACKNOWLEDGED: lambda _t, _d: "Acknowledged",
    K.UPDATE: _update,
    K.STATUS: _change("Status"),
    K.SEVERITY: _change("Severity"),
    K.COMMANDER: _change("Commander"),
    K.IMPACT: _change("Impact"),
    K.NOTE: _note,
    K.PINNED: _pinned,
    K.RESOLVED: _resolved,
    K.CHECK: _check,
    K.ACTION: _action,
    K.ACTION_ITEM: _action_item,
    K.ESCALATION: _escalation,
    K.PAGE: _page,
    K.DENIED: _denied,
    K.ALERT: lambda text, data: text or f"Alert {data.get('name', '')} {data.get('status', '')}",
    K.ALERTS_RESOLVED: lambda _t, d: f"All {d.get('count', '')} alerts resolved; commander asked",
    K.SUSPECT_CHANGE: _suspect_change,
}


def describe(kind: str, text: str | None, data: Mapping[str, Any]) -> str:
    fn = _DESCRIBE.get(kind)
    if fn is None:
        return f"{kind}: {text}" if text else kind
    return fn(text, data)
