"""Alerts from monitoring, read from the two webhook formats warroom accepts, and the keys that
make a redelivered alert change nothing. Pure: no I/O; the flow (bot.flows.alerts) stores and
routes what this module reads.

- Alertmanager's webhook (payload version 4): one notification per group, each alert with its
  labels, annotations, `startsAt`/`endsAt`, `status` (firing | resolved) and `fingerprint`.
- Sentry's issue-alert webhook (`Sentry-Hook-Resource: event_alert`, action `triggered`): one
  event of one issue, firing. Sentry never says an issue alert resolved...
- ...but its issue webhook (`Sentry-Hook-Resource: issue`) says when the issue changes state:
  `created` fires, `resolved` resolves, `unresolved` (reopened, regressed) fires again as a new
  occurrence (`Alert.reopens`); `assigned` and `ignored`/`archived` change nothing.

One occurrence of an alert is (source, fingerprint, start): Alertmanager repeats a group
(repeat_interval, retries, replicas) with the same fingerprint and `startsAt`, and a new
firing of the same labels after a resolution gets a new `startsAt`. A Sentry issue is one
occurrence whatever the number of events that trigger its rule again, keyed by the issue id
in both webhooks, so an issue's `resolved` finds the alert its rule fired; once reopened, the
issue's next occurrence is keyed `sentry:<id>:<n>` (bot.flows.alerts.store picks n).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

ALERTMANAGER = "alertmanager"
SENTRY = "sentry"
REPORTERS = {ALERTMANAGER: "Alertmanager", SENTRY: "Sentry"}
FIRING = "firing"
RESOLVED = "resolved"
# Go's zero time: Alertmanager's endsAt of an alert with no end yet.
_GO_ZERO_YEAR = 1
MAX_ALERTS = 1000  # Alertmanager's max_alerts is usually far lower; past it, a bad payload
MAX_LABELS = 64
MAX_LABEL_TEXT = 1024
NAME_MAX = 200
KEY_MAX = 200
_FRACTION = re.compile(r"(\.\d{1,6})\d*")
_SENTRY_PROJECT = re.compile(r"/api/0/projects/[^/]+/([^/]+)/")
# Sentry's issue webhook actions: the state each one means, None: nothing to change.
SENTRY_ISSUE_ACTIONS: dict[str, str | None] = {
    "created": FIRING,
    "unresolved": FIRING,
    "resolved": RESOLVED,
    "assigned": None,
    "ignored": None,
    "archived": None,
}


class PayloadError(ValueError):
    """The body is not what the source sends; the message names what is wrong."""


@dataclass(frozen=True)
class Alert:
    source: str
    fingerprint: str
    status: str  # firing | resolved
    name: str
    labels: dict[str, str]
    starts_at: datetime
    summary: str | None = None
    ends_at: datetime | None = None
    generator_url: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    project: str | None = None  # Sentry's project slug
    # Sentry's `unresolved`: the issue fires again after its resolution, a new occurrence
    # (a stale `triggered` for a resolved issue changes nothing).
    reopens: bool = False
    occurrence: int = 0  # Sentry: the issue's n-th occurrence (0: the first), set by the flow

    @property
    def firing(self) -> bool:
        return self.status == FIRING

    @property
    def service_label(self) -> str | None:
        value = self.labels.get("service", "").strip()
        return value or None

    @property
    def occurrence_key(self) -> str:
        """One per occurrence: the same alert repeated, by any replica, has the same key."""
        if self.source == SENTRY:
            again = f":{self.occurrence}" if self.occurrence else ""
            return bounded(f"{SENTRY}:{self.fingerprint}{again}")
        return bounded(f"{self.source}:{self.fingerprint}:{self.starts_at.isoformat()}")

    @property
    def event_key(self) -> str:
        """The timeline's dedupe key: one entry per occurrence and state."""
        return bounded(f"alert:{self.occurrence_key}:{self.status}")

    @property
    def reporter(self) -> str:
        return REPORTERS[self.source]

    @property
    def title(self) -> str:
        return (self.summary or self.name).strip() or self.name

    def timeline_data(self) -> dict[str, Any]:
        """`alert` events' data (incident.event_kinds.ALERT)."""
        return {
            "source": self.source,
            "name": self.name,
            "status": self.status,
            "summary": self.summary,
            "labels": self.labels,
            "generator_url": self.generator_url,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat() if self.ends_at else None,
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True)
class Notification:
    source: str
    alerts: list[Alert]
    group_key: str | None = None


def bounded(key: str, limit: int = KEY_MAX) -> str:
    """Keys go into String(200) columns; a longer one keeps its start and a hash of all."""
    if len(key) <= limit:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"{key[: limit - 25]}#{digest}"


def parse_time(value: Any, what: str, *, optional: bool = False) -> datetime | None:
    """RFC 3339 as Go and Sentry write it (nanoseconds, `Z`); Go's zero time is no time."""
    if value in (None, "") and optional:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{what}: expected an RFC 3339 time string")
    text = _FRACTION.sub(lambda m: m.group(1), value.strip())
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise PayloadError(f"{what}: {value[:40]!r} is not an RFC 3339 time") from None
    if at.tzinfo is None:
        raise PayloadError(f"{what}: {value[:40]!r} has no time zone")
    if at.year <= _GO_ZERO_YEAR:
        if optional:
            return None
        raise PayloadError(f"{what}: the zero time is no start")
    return at.astimezone(UTC)


def load_json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(f"the body is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise PayloadError("the body must be a JSON object")
    return data


def _strings(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(f"{what}: expected an object of strings")
    if len(value) > MAX_LABELS:
        raise PayloadError(f"{what}: more than {MAX_LABELS} entries")
    out: dict[str, str] = {}
    for k, v in value.items():
        if not isinstance(v, str):
            raise PayloadError(f"{what}.{str(k)[:40]}: expected a string")
        out[str(k)[:MAX_LABEL_TEXT]] = v[:MAX_LABEL_TEXT]
    return out


def _text(value: Any, what: str, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise PayloadError(f"{what}: missing")
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise PayloadError(f"{what}: expected a string")
    return value


def _labels_fingerprint(labels: Mapping[str, str]) -> str:
    raw = json.dumps(sorted(labels.items()), separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def parse_alertmanager(data: Mapping[str, Any]) -> Notification:
    """Alertmanager's webhook body (version 4), already decoded."""
    version = data.get("version")
    if version is not None and str(version) != "4":
        raise PayloadError(f'version: expected "4", got {str(version)[:10]!r}')
    alerts = data.get("alerts")
    if not isinstance(alerts, list):
        raise PayloadError("alerts: expected a list of alerts")
    if len(alerts) > MAX_ALERTS:
        raise PayloadError(f"alerts: more than {MAX_ALERTS}")
    common = _strings(data.get("commonLabels"), "commonLabels")
    out = []
    for i, raw in enumerate(alerts):
        where = f"alerts[{i}]"
        raw = _object(raw, where)
        status = raw.get("status")
        if status not in (FIRING, RESOLVED):
            raise PayloadError(f'{where}.status: expected "firing" or "resolved"')
        labels = {**common, **_strings(raw.get("labels"), f"{where}.labels")}
        annotations = _strings(raw.get("annotations"), f"{where}.annotations")
        starts_at = parse_time(raw.get("startsAt"), f"{where}.startsAt")
        assert starts_at is not None
        ends_at = parse_time(raw.get("endsAt"), f"{where}.endsAt", optional=True)
        fingerprint = _text(raw.get("fingerprint"), f"{where}.fingerprint")
        fingerprint = fingerprint or _labels_fingerprint(labels)
        name = labels.get("alertname") or "alert"
        out.append(
            Alert(
                source=ALERTMANAGER,
                fingerprint=fingerprint[:100],
                status=status,
                name=name[:NAME_MAX],
                labels=labels,
                starts_at=starts_at,
                summary=annotations.get("summary") or annotations.get("description"),
                ends_at=ends_at if status == RESOLVED else None,
                generator_url=_text(raw.get("generatorURL"), f"{where}.generatorURL"),
                annotations=annotations,
            )
        )
    group_key = _text(data.get("groupKey"), "groupKey")
    return Notification(ALERTMANAGER, out, group_key)


def sentry_project(event: Mapping[str, Any]) -> str | None:
    """The project slug: Sentry's documented `url` of the event is the API URL
    `…/api/0/projects/{organization}/{project}/events/{event_id}/`."""
    url = event.get("url")
    if isinstance(url, str):
        m = _SENTRY_PROJECT.search(urlsplit(url).path + "/")
        if m:
            return m.group(1)
    slug = event.get("project_slug")
    return slug if isinstance(slug, str) and slug else None


def _sentry_tags(raw: Any) -> dict[str, str]:
    """`tags` is a list of [key, value] pairs (or an object); kept as labels, a few."""
    pairs: list[tuple[Any, Any]] = []
    if isinstance(raw, dict):
        pairs = list(raw.items())
    elif isinstance(raw, list):
        pairs = [tuple(t) for t in raw if isinstance(t, list | tuple) and len(t) == 2]
    out = {}
    for k, v in pairs[:MAX_LABELS]:
        if isinstance(k, str) and isinstance(v, str | int | float):
            out[k[:MAX_LABEL_TEXT]] = str(v)[:MAX_LABEL_TEXT]
    return out


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(f"{where}: expected an object")
    return value


def parse_sentry(data: Mapping[str, Any]) -> Notification:
    """Sentry's issue-alert webhook body (resource `event_alert`), already decoded."""
    action = data.get("action")
    if action != "triggered":
        raise PayloadError(f'action: expected "triggered", got {str(action)[:20]!r}')
    body = _object(data.get("data"), "data")
    event = _object(body.get("event"), "data.event")
    issue_id = _text(event.get("issue_id"), "data.event.issue_id", required=True)
    assert issue_id is not None
    title = _text(event.get("title"), "data.event.title") or f"Sentry issue {issue_id}"
    rule = _text(body.get("triggered_rule"), "data.triggered_rule")
    project = sentry_project(event)
    starts_at = parse_time(event.get("datetime"), "data.event.datetime")
    assert starts_at is not None
    labels = _sentry_tags(event.get("tags"))
    labels.update(
        {
            "source": SENTRY,
            "alertname": (rule or title)[:NAME_MAX],
            **({"project": project} if project else {}),
            **({"level": str(event["level"])} if isinstance(event.get("level"), str) else {}),
        }
    )
    web_url = _text(event.get("web_url"), "data.event.web_url") or _text(
        event.get("issue_url"), "data.event.issue_url"
    )
    alert = Alert(
        source=SENTRY,
        fingerprint=issue_id[:100],
        status=FIRING,
        name=(rule or title)[:NAME_MAX],
        labels=labels,
        starts_at=starts_at,
        summary=title,
        generator_url=web_url,
        project=project,
    )
    return Notification(SENTRY, [alert], group_key=f"sentry:{issue_id}")


def _sentry_issue_project(issue: Mapping[str, Any]) -> str | None:
    """`project.slug` of the serialized issue, else the slug in its API `project_url`."""
    project = issue.get("project")
    if isinstance(project, dict) and isinstance(project.get("slug"), str) and project["slug"]:
        return str(project["slug"])
    url = issue.get("project_url")
    if isinstance(url, str):
        m = _SENTRY_PROJECT.search(urlsplit(url).path.rstrip("/") + "/")
        if m:
            return m.group(1)
    return None


def parse_sentry_issue(data: Mapping[str, Any]) -> Notification | None:
    """Sentry's issue webhook body (resource `issue`), already decoded; None for an action
    that changes no alert (assigned, ignored/archived, or one Sentry adds later)."""
    action = data.get("action")
    if not isinstance(action, str):
        raise PayloadError("action: expected a string")
    if SENTRY_ISSUE_ACTIONS.get(action) is None:
        return None
    status = SENTRY_ISSUE_ACTIONS[action]
    assert status is not None
    body = _object(data.get("data"), "data")
    issue = _object(body.get("issue"), "data.issue")
    issue_id = _text(issue.get("id"), "data.issue.id", required=True)
    assert issue_id is not None
    title = _text(issue.get("title"), "data.issue.title") or f"Sentry issue {issue_id}"
    project = _sentry_issue_project(issue)
    # When it (last) began: a reopened issue's latest event, else its first.
    seen = issue.get("lastSeen") if action == "unresolved" else None
    starts_at = parse_time(seen or issue.get("firstSeen"), "data.issue.firstSeen")
    assert starts_at is not None
    labels = {
        "source": SENTRY,
        "alertname": title[:NAME_MAX],
        **({"project": project} if project else {}),
        **({"level": str(issue["level"])} if isinstance(issue.get("level"), str) else {}),
    }
    alert = Alert(
        source=SENTRY,
        fingerprint=issue_id[:100],
        status=status,
        name=title[:NAME_MAX],
        labels=labels,
        starts_at=starts_at,
        summary=title,
        generator_url=_text(issue.get("web_url"), "data.issue.web_url")
        or _text(issue.get("permalink"), "data.issue.permalink"),
        project=project,
        reopens=action == "unresolved",
    )
    return Notification(SENTRY, [alert], group_key=f"sentry:{issue_id}")


def with_service(alert: Alert, service: str | None) -> Alert:
    """The alert with the catalog service it belongs to as its `service` label."""
    if not service or alert.labels.get("service") == service:
        return alert
    return replace(alert, labels={**alert.labels, "service": service})
