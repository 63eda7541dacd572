"""The sandbox's monitoring: `alert <service> <alertname> <severity>` sends the sandbox's warroom
what Alertmanager's webhook would (firing), `alert resolve <service> <alertname>` the same
alert resolved; and the catalog sections that make them do something: `alerts:` rules
(critical declares SEV1, warning is posted in #alerts with a Declare button) and an `oncall:`
schedule and escalation for `checkout`, so that a declared incident pages someone."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from warroom_sandbox.testbed import Testbed

ALERTS_TOKEN = "sandbox-alerts-token"
ALERTS_CHANNEL = "alerts"
ESCALATED_SERVICE = "checkout"
USAGE = (
    "Say `alert <service> <alertname> <severity>` (severity critical declares, warning is "
    "offered in #alerts), or `alert resolve <service> <alertname>`."
)


def with_alerts(bed: Testbed, catalog: dict[str, Any]) -> dict[str, Any]:
    """The sandbox catalog with alert rules and an on-call rotation of bob and carol (daily,
    09:00 UTC) paged for `checkout`; makes #alerts in the emulated workspace."""
    if bed.emulator.channel_by_name(ALERTS_CHANNEL) is None:
        bed.emulator.add_channel(ALERTS_CHANNEL)
    people = [bed.people["bob"], bed.people["carol"]]
    services = [
        {**s, "escalation": "checkout"} if s["name"] == ESCALATED_SERVICE else s
        for s in catalog["services"]
    ]
    return {
        **catalog,
        "services": services,
        "alerts": {
            "channel": ALERTS_CHANNEL,
            "rules": [
                {"match": {"severity": "critical"}, "declare": "SEV1"},
                {"match": {"severity": "warning"}, "post": True},
            ],
        },
        "oncall": {
            "schedules": {
                "checkout": {
                    "timezone": "UTC",
                    "rotation": {
                        "start": "2026-01-05",
                        "every": "1d",
                        "handoff": "09:00",
                        "people": people,
                    },
                }
            },
            "escalations": {
                "checkout": [
                    {"notify": "schedule:checkout", "wait": "5m"},
                    {"notify": "schedule:checkout:next"},
                ]
            },
        },
    }


def _time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _notification(alert: dict[str, Any]) -> dict[str, Any]:
    service = alert["labels"]["service"]
    return {
        "version": "4",
        "groupKey": f'{{}}:{{service="{service}"}}',
        "truncatedAlerts": 0,
        "status": alert["status"],
        "receiver": "warroom",
        "groupLabels": {"service": service},
        "commonLabels": alert["labels"],
        "commonAnnotations": alert["annotations"],
        "externalURL": "http://alertmanager.sandbox:9093",
        "alerts": [alert],
    }


def send_alert(console: Any, rest: str) -> None:
    """`alert …` in the console: what Alertmanager would send, to the running warroom."""
    words = rest.split()
    fired: dict[tuple[str, str], dict[str, Any]] = vars(console).setdefault("fired_alerts", {})
    if len(words) == 3 and words[0] == "resolve":
        _, service, name = words
        alert = fired.pop((service, name), None)
        if alert is None:
            console.say(f"No alert {name} is firing for {service} here. {USAGE}")
            return
        alert = {**alert, "status": "resolved", "endsAt": _time(datetime.now(UTC))}
    elif len(words) == 3:
        service, name, severity = words
        labels = {"alertname": name, "service": service, "severity": severity}
        alert = fired.get((service, name)) or {
            "status": "firing",
            "labels": labels,
            "annotations": {"summary": f"{name} on {service}"},
            "startsAt": _time(datetime.now(UTC) - timedelta(minutes=1)),
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": f"http://prometheus.sandbox:9090/graph?g0.expr={name}",
            "fingerprint": hashlib.sha256(json.dumps(labels).encode()).hexdigest()[:16],
        }
        fired[(service, name)] = alert
    else:
        console.say(USAGE)
        return
    resp = httpx.post(
        console.bed.url + "/alerts/alertmanager",
        json=_notification(alert),
        headers={"Authorization": f"Bearer {ALERTS_TOKEN}"},
        timeout=30,
    )
    what = f"{alert['labels']['alertname']} {alert['status']} for {alert['labels']['service']}"
    if resp.status_code != 200:
        console.say(f"🔔 Alertmanager → warroom: {what}: HTTP {resp.status_code} {resp.text[:200]}")
        return
    outcomes = []
    for r in resp.json().get("alerts", []):
        number = f" incident #{r['incident']}" if r.get("incident") else ""
        outcomes.append(f"{r['outcome']}{number}")
    console.say(f"🔔 Alertmanager → warroom: {what}: {', '.join(outcomes) or 'ignored'}")
