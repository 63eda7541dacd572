"""`POST /alerts/sentry`: Sentry's issue-alert webhook, verified by its HMAC signature, routed
by project slug to the catalog service listing it; and its issue webhook, which resolves (and
reopens) the alert of the issue."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from warroom_sandbox.testbed import Testbed

from tests.e2e.alert_support import (
    alert_events,
    am_alert,
    card_shows,
    enable,
    incidents,
    notification,
    post_am,
    post_sentry,
    sentry_payload,
)


def test_without_a_secret_configured_the_intake_is_off(bed: Testbed) -> None:
    resp = post_sentry(bed.url, sentry_payload())
    assert resp.status_code == 404
    assert "SENTRY_WEBHOOK_SECRET" in resp.json()["message"]


def test_a_bad_signature_is_401(bed: Testbed, tmp_path: Path) -> None:
    enable(bed, tmp_path)
    for sig in ("0" * 64, "not-hex", "sha256=abc"):
        resp = post_sentry(bed.url, sentry_payload(), signature=sig)
        assert resp.status_code == 401, sig
        assert resp.json()["error"] == "bad_signature"
    wrong_key = post_sentry(bed.url, sentry_payload(), secret="another-secret")
    assert wrong_key.status_code == 401
    assert incidents(bed) == []


def test_an_issue_alert_declares_for_the_service_of_its_project(
    bed: Testbed, tmp_path: Path
) -> None:
    enable(bed, tmp_path)
    resp = post_sentry(bed.url, sentry_payload())
    assert resp.status_code == 200, resp.text
    assert resp.json()["alerts"] == [{"outcome": "declared", "incident": 1}]
    bed.wait_for(lambda: card_shows(bed, "🔔 1 alert firing: Checkout errors"), timeout=10)
    inc = incidents(bed)[0]
    assert inc["service"] == "checkout" and inc["severity"] == "SEV2"
    assert inc["reporter_id"] == "Sentry"
    assert inc["detected_at"].isoformat() == "2026-11-30T09:58:12.123000+00:00"
    (event,) = alert_events(bed)
    assert event["data"]["source"] == "sentry"
    assert event["data"]["fingerprint"] == "1117540176"
    assert event["data"]["labels"]["project"] == "checkout-web"
    assert event["data"]["generator_url"].startswith("https://sentry.io/organizations/acme/")
    # the rule triggering again for the same issue is the same alert
    again = post_sentry(bed.url, sentry_payload())
    assert again.json()["alerts"] == [{"outcome": "duplicate", "incident": 1}]
    assert len(alert_events(bed)) == 1


def test_sentry_and_alertmanager_alerts_of_one_service_share_its_incident(
    bed: Testbed, tmp_path: Path
) -> None:
    enable(bed, tmp_path)
    post_am(bed.url, notification(am_alert()))
    bed.wait_for(lambda: card_shows(bed, "1 alert firing"), timeout=10)
    resp = post_sentry(bed.url, sentry_payload(issue="42"))
    assert resp.json()["alerts"] == [{"outcome": "attached", "incident": 1}]
    bed.wait_for(lambda: card_shows(bed, "🔔 2 alerts firing: Checkout errors, HighErrorRate"))
    assert len(incidents(bed)) == 1


def test_other_resources_and_bad_bodies(bed: Testbed, tmp_path: Path) -> None:
    enable(bed, tmp_path)
    installed = post_sentry(bed.url, {"action": "created", "data": {}}, resource="installation")
    assert installed.status_code == 200 and installed.json() == {"status": "ignored"}
    no_event = post_sentry(bed.url, {"action": "triggered", "data": {}})
    assert no_event.status_code == 400
    assert "data.event" in no_event.json()["message"]
    no_issue = sentry_payload()
    del no_issue["data"]["event"]["issue_id"]
    resp = post_sentry(bed.url, no_issue)
    assert resp.status_code == 400 and "issue_id" in resp.json()["message"]
    assert "Traceback" not in resp.text
    listed = post_sentry(bed.url, [json.dumps(sentry_payload())])
    assert listed.status_code == 400
    assert incidents(bed) == []


def test_an_unknown_project_routes_by_rules_without_a_service(bed: Testbed, tmp_path: Path) -> None:
    enable(bed, tmp_path, rules=[{"match": {"project": "other"}, "post": True}])
    resp = post_sentry(bed.url, sentry_payload(project="other"))
    assert resp.json()["alerts"] == [{"outcome": "posted", "incident": None}]
    offers = bed.emulator.messages(bed.emulator.channel_by_name("alerts").id)
    assert len(offers) == 1 and "Checkout errors" in offers[0].text
    assert bed.rows("SELECT service FROM alerts") == [{"service": None}]


# -- the issue webhook (Sentry-Hook-Resource: issue) -------------------------------------------


def sentry_issue(
    action: str, *, issue: str = "1117540176", project: str = "checkout-web"
) -> dict[str, Any]:
    """Sentry's issue webhook body, as its integration platform sends it."""
    return {
        "action": action,
        "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
        "data": {
            "issue": {
                "id": issue,
                "shortId": "CHECKOUT-WEB-1",
                "title": "ReferenceError: heck is not defined",
                "culprit": "?(<anonymous>)",
                "level": "error",
                "status": "resolved" if action == "resolved" else "unresolved",
                "substatus": "regressed" if action == "unresolved" else None,
                "statusDetails": {},
                "project": {"id": "1", "name": project, "slug": project, "platform": "node"},
                "firstSeen": "2026-11-30T09:58:12.123000Z",
                "lastSeen": "2026-11-30T10:40:00.000000Z",
                "url": f"https://sentry.io/api/0/issues/{issue}/",
                "web_url": f"https://sentry.io/organizations/acme/issues/{issue}/",
                "project_url": f"https://sentry.io/api/0/projects/acme/{project}/",
            }
        },
        "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},
    }


def post_issue(bed: Testbed, action: str, **kwargs: Any) -> dict[str, Any]:
    resp = post_sentry(bed.url, sentry_issue(action, **kwargs), resource="issue")
    assert resp.status_code == 200, resp.text
    return resp.json()


def asks(bed: Testbed) -> list:
    inc = incidents(bed)[0]
    return [
        m
        for m in bed.emulator.messages(inc["channel_id"])
        if "warroom never resolves it by itself" in m.text
    ]


def test_a_created_then_resolved_issue_resolves_its_alert_once(
    bed: Testbed, tmp_path: Path
) -> None:
    enable(bed, tmp_path)
    assert post_issue(bed, "created")["alerts"] == [{"outcome": "declared", "incident": 1}]
    bed.wait_for(lambda: card_shows(bed, "🔔 1 alert firing"), timeout=10)
    assert post_issue(bed, "resolved")["alerts"] == [{"outcome": "resolved", "incident": 1}]
    bed.wait_for(lambda: card_shows(bed, "🔕 1 alert, all resolved"))
    bed.wait_for(lambda: asks(bed))
    statuses = [e["data"]["status"] for e in alert_events(bed)]
    assert statuses == ["firing", "resolved"]
    assert alert_events(bed)[-1]["data"]["fingerprint"] == "1117540176"
    [row] = bed.rows("SELECT status, ends_at FROM alerts")
    assert row["status"] == "resolved" and row["ends_at"] is not None
    # Sentry redelivers: nothing changes, nobody is asked twice
    assert post_issue(bed, "resolved")["alerts"] == [{"outcome": "duplicate", "incident": 1}]
    time.sleep(0.3)
    assert len(alert_events(bed)) == 2 and len(asks(bed)) == 1
    assert card_shows(bed, "🔕 1 alert, all resolved")


def test_the_issue_resolves_the_alert_its_rule_fired_and_unresolved_fires_it_again(
    bed: Testbed, tmp_path: Path
) -> None:
    enable(bed, tmp_path)
    post_sentry(bed.url, sentry_payload())  # event_alert: the rule "Checkout errors" fired
    bed.wait_for(lambda: card_shows(bed, "🔔 1 alert firing: Checkout errors"), timeout=10)
    post_issue(bed, "resolved")
    bed.wait_for(lambda: card_shows(bed, "🔕 1 alert, all resolved"))
    bed.wait_for(lambda: len(asks(bed)) == 1)
    # regressed: it fires again, under the name its rule gave it, and asks again once resolved
    assert post_issue(bed, "unresolved")["alerts"] == [{"outcome": "attached", "incident": 1}]
    bed.wait_for(lambda: card_shows(bed, "🔔 1 alert firing: Checkout errors"))
    assert post_issue(bed, "unresolved")["alerts"] == [{"outcome": "duplicate", "incident": 1}]
    assert post_issue(bed, "resolved")["alerts"] == [{"outcome": "resolved", "incident": 1}]
    bed.wait_for(lambda: card_shows(bed, "🔕 2 alerts, all resolved"))
    bed.wait_for(lambda: len(asks(bed)) == 2)
    assert [e["data"]["status"] for e in alert_events(bed)] == [
        "firing",
        "resolved",
        "firing",
        "resolved",
    ]
    assert len(incidents(bed)) == 1


def test_assigned_ignored_and_unknown_issues_change_nothing(bed: Testbed, tmp_path: Path) -> None:
    enable(bed, tmp_path)
    post_sentry(bed.url, sentry_payload())
    bed.wait_for(lambda: card_shows(bed, "🔔 1 alert firing"), timeout=10)
    for action in ("assigned", "ignored", "archived"):
        assert post_issue(bed, action) == {"status": "ignored"}, action
    # a resolution of an issue that never fired here: nothing to resolve, nothing stored
    assert post_issue(bed, "resolved", issue="999")["alerts"] == [
        {"outcome": "ignored", "incident": None}
    ]
    assert [r["status"] for r in bed.rows("SELECT status FROM alerts")] == ["firing"]
    assert len(alert_events(bed)) == 1
    bad = post_sentry(bed.url, {"action": "resolved", "data": {}}, resource="issue")
    assert bad.status_code == 400 and "data.issue" in bad.json()["message"]
