"""Shared by the alert intake tests: a catalog with alert rules, the intake's secrets, and
Alertmanager / Sentry payloads as those tools send them."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from pydantic import SecretStr
from warroom_sandbox.testbed import Testbed

from bot.adapters.catalog.store import CatalogStore

TOKEN = "alerts-token-for-tests"
SENTRY_SECRET = "sentry-client-secret-for-tests"
T0 = datetime(2026, 11, 30, 9, 58, 12, 123456, tzinfo=UTC)
T0_TEXT = "2026-11-30T09:58:12.123456789Z"  # Go writes nanoseconds
ZERO = "0001-01-01T00:00:00Z"

RULES = [
    {"match": {"severity": "critical"}, "declare": "SEV1"},
    {"match": {"source": "sentry"}, "declare": "SEV2"},
    {"match": {"severity": "warning"}, "post": True},
]


def enable(bed: Testbed, tmp_path: Path, *, rules: list | None = None) -> CatalogStore:
    """Intake on (both secrets), a catalog with two services and the alert rules."""
    bed.services.settings = bed.services.settings.model_copy(
        update={
            "warroom_alerts_token": SecretStr(TOKEN),
            "sentry_webhook_secret": SecretStr(SENTRY_SECRET),
        }
    )
    path = tmp_path / "catalog.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "services": [
                    {
                        "name": "checkout",
                        "health_url": "http://127.0.0.1:9/health",
                        "sentry_projects": ["checkout-web"],
                    },
                    {"name": "search", "health_url": "http://127.0.0.1:9/health"},
                ],
                "alerts": {"channel": "alerts", "rules": RULES if rules is None else rules},
            }
        )
    )
    store = CatalogStore.load(path)
    assert store.current is not None, store.status()
    bed.services.catalog = store
    if bed.emulator.channel_by_name("alerts") is None:
        bed.emulator.add_channel("alerts")
    return store


def am_alert(
    name: str = "HighErrorRate",
    *,
    fp: str = "fp-1",
    service: str = "checkout",
    severity: str = "critical",
    status: str = "firing",
    starts: str = T0_TEXT,
    ends: str = ZERO,
    summary: str | None = "Checkout error rate above 5%",
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": name, "service": service, "severity": severity},
        "annotations": {"summary": summary} if summary else {},
        "startsAt": starts,
        "endsAt": ends,
        "generatorURL": "http://prometheus:9090/graph?g0.expr=rate",
        "fingerprint": fp,
    }


def resolved(alert: dict[str, Any], ends: str = "2026-11-30T10:20:00Z") -> dict[str, Any]:
    return {**alert, "status": "resolved", "endsAt": ends}


def notification(*alerts: dict[str, Any]) -> dict[str, Any]:
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return {
        "version": "4",
        "groupKey": '{}:{service="checkout"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "warroom",
        "groupLabels": {"service": "checkout"},
        "commonLabels": {"service": "checkout"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


def post_am(
    url: str, payload: Any, *, token: str | None = TOKEN, raw: bytes | None = None
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    body = raw if raw is not None else json.dumps(payload).encode()
    return httpx.post(url + "/alerts/alertmanager", content=body, headers=headers, timeout=20)


def sentry_payload(
    *, issue: str = "1117540176", project: str = "checkout-web", title: str | None = None
) -> dict[str, Any]:
    event_id = "e4874d664c3540c1a32eab185f12c5ab"
    return {
        "action": "triggered",
        "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
        "data": {
            "event": {
                "event_id": event_id,
                "issue_id": issue,
                "issue_url": f"https://sentry.io/api/0/issues/{issue}/",
                "title": title or "ReferenceError: heck is not defined",
                "level": "error",
                "project": 1,
                "datetime": "2026-11-30T09:58:12.123000Z",
                "url": f"https://sentry.io/api/0/projects/acme/{project}/events/{event_id}/",
                "web_url": f"https://sentry.io/organizations/acme/issues/{issue}/events/{event_id}/",
                "tags": [["environment", "prod"], ["level", "error"]],
            },
            "triggered_rule": "Checkout errors",
        },
        "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},
    }


def post_sentry(
    url: str,
    payload: Any,
    *,
    secret: str = SENTRY_SECRET,
    resource: str = "event_alert",
    signature: str | None = None,
) -> httpx.Response:
    body = json.dumps(payload).encode()
    sig = signature or hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "Sentry-Hook-Resource": resource,
        "Sentry-Hook-Timestamp": "1764496692",
        "Sentry-Hook-Signature": sig,
        "Request-ID": "5b2d1a4e-0000-4000-8000-000000000000",
    }
    return httpx.post(url + "/alerts/sentry", content=body, headers=headers, timeout=20)


def incidents(bed: Testbed) -> list[dict[str, Any]]:
    return bed.rows("SELECT * FROM incidents ORDER BY number")


def alert_events(bed: Testbed) -> list[dict[str, Any]]:
    return bed.rows("SELECT * FROM timeline_events WHERE kind = 'alert' ORDER BY id")


def card_text(bed: Testbed, inc: dict[str, Any]) -> str:
    if not inc.get("channel_id") or not inc.get("card_ts"):
        return ""
    for m in bed.emulator.messages(inc["channel_id"]):
        if m.ts == inc["card_ts"]:
            return m.text
    return ""


def card_shows(bed: Testbed, text: str) -> bool:
    incs = incidents(bed)
    return bool(incs) and text in card_text(bed, incs[0])
