"""`POST /alerts/alertmanager`: Alertmanager's webhook declares, attaches to the open incident
of the service, or offers a "Declare incident" button; every redelivery (repeat_interval,
retries, two replicas) changes nothing; resolved alerts leave the card's count and the
commander is asked once; storage down is a 503 Alertmanager retries."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
from pydantic import SecretStr
from warroom_sandbox.testbed import Testbed
from warroom_sandbox.testbed_second import start_second_app

from tests.e2e.alert_support import (
    T0,
    TOKEN,
    alert_events,
    am_alert,
    card_shows,
    card_text,
    enable,
    incidents,
    notification,
    post_am,
    resolved,
)


def _declared(bed: Testbed) -> dict:
    """The first incident, once its card shows its alert."""
    bed.wait_for(lambda: card_shows(bed, "alert"), timeout=10)
    return incidents(bed)[0]


# -- who may send ---------------------------------------------------------------------------


def test_without_a_token_configured_the_intake_is_off(bed: Testbed) -> None:
    resp = post_am(bed.url, notification(am_alert()))
    assert resp.status_code == 404
    assert resp.json()["error"] == "not_configured"
    assert "WARROOM_ALERTS_TOKEN" in resp.json()["message"]
    assert incidents(bed) == []


def test_a_missing_or_wrong_token_is_401(bed: Testbed, tmp_path: Path) -> None:
    enable(bed, tmp_path)
    for token in (None, "wrong", TOKEN + "x", "x" + TOKEN):
        resp = post_am(bed.url, notification(am_alert()), token=token)
        assert resp.status_code == 401, token
        assert resp.json()["error"] == "unauthorized"
    basic = httpx.post(
        bed.url + "/alerts/alertmanager",
        json=notification(am_alert()),
        headers={"Authorization": f"Basic {TOKEN}"},
    )
    assert basic.status_code == 401
    assert incidents(bed) == []
    assert bed.rows("SELECT * FROM alerts") == []


def test_malformed_bodies_are_400_naming_the_problem(bed: Testbed, tmp_path: Path) -> None:
    enable(bed, tmp_path)
    bad = post_am(bed.url, None, raw=b"{not json")
    assert bad.status_code == 400 and "not valid JSON" in bad.json()["message"]
    cases = {
        "alerts: expected a list": {"version": "4", "alerts": {}},
        "alerts[0].status": notification({**am_alert(), "status": "pending"}),
        "alerts[0].startsAt": notification({**am_alert(), "startsAt": "yesterday"}),
        "alerts[0].labels.severity": notification(
            {**am_alert(), "labels": {"alertname": "X", "severity": 1}}
        ),
        "must be a JSON object": [1, 2],
        'version: expected "4"': {**notification(am_alert()), "version": "3"},
    }
    for needle, payload in cases.items():
        resp = post_am(bed.url, payload)
        assert resp.status_code == 400, (needle, resp.text)
        assert resp.json()["error"] == "bad_request"
        assert needle in resp.json()["message"], (needle, resp.json())
    assert incidents(bed) == []


# -- declaring and attaching ----------------------------------------------------------------


def test_a_critical_alert_declares_an_incident_for_its_service(
    bed: Testbed, tmp_path: Path
) -> None:
    enable(bed, tmp_path)
    resp = post_am(bed.url, notification(am_alert()))
    assert resp.status_code == 200, resp.text
    assert resp.json()["alerts"] == [{"outcome": "declared", "incident": 1}]
    inc = _declared(bed)
    assert inc["service"] == "checkout"
    assert inc["severity"] == "SEV1"
    assert inc["detected_at"] == T0
    assert inc["reporter_id"] == "Alertmanager"
    assert inc["commander_id"] == "unassigned"
    assert inc["title"] == "Checkout error rate above 5%"  # names its service already
    card = card_text(bed, inc)
    assert "🔔 1 alert firing: HighErrorRate" in card
    assert "unassigned" in card and "<@unassigned>" not in card
    # the announcement names the source as text, not as a broken mention
    announced = [
        m.text for m in bed.emulator.messages(bed.emulator.channel_by_name("incidents").id)
    ]
    assert any("Reported by Alertmanager" in t for t in announced), announced
    assert not any("<@Alertmanager>" in t or "<@unassigned>" in t for t in announced)
    (event,) = alert_events(bed)
    assert event["incident_number"] == 1 and event["actor"] == "Alertmanager"
    assert event["data"]["name"] == "HighErrorRate"
    assert event["data"]["status"] == "firing"
    assert event["data"]["fingerprint"] == "fp-1"
    assert event["data"]["starts_at"] == T0.isoformat()
    assert event["data"]["summary"] == "Checkout error rate above 5%"
    # whoever acknowledges becomes the commander
    bob = bed.people["bob"]
    bed.driver.block_action(
        "incident_ack", "1", user_id=bob, channel_id=inc["channel_id"], message_ts=inc["card_ts"]
    )
    bed.wait_for(lambda: incidents(bed)[0]["commander_id"] == bob)
    bed.wait_for(lambda: f"<@{bob}>" in card_text(bed, incidents(bed)[0]))


def test_the_same_notification_twice_at_once_and_again_later_is_one_incident(
    bed: Testbed, tmp_path: Path
) -> None:
    enable(bed, tmp_path)
    payload = notification(am_alert())
    answers: list[int] = []

    def send() -> None:
        answers.append(post_am(bed.url, payload).status_code)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [200, 200]
    _declared(bed)
    time.sleep(0.3)
    again = post_am(bed.url, payload)  # Alertmanager's repeat_interval
    assert again.json()["alerts"] == [{"outcome": "duplicate", "incident": 1}]
    assert len(incidents(bed)) == 1
    assert len(alert_events(bed)) == 1
    assert len(bed.rows("SELECT * FROM alerts")) == 1
    assert len(bed.emulator.channels()) == len({c.name for c in bed.emulator.channels()})
    assert sum(c.name.startswith("inc-") for c in bed.emulator.channels()) == 1


def test_alerts_attach_resolve_and_the_commander_is_asked_once(
    bed: Testbed, tmp_path: Path
) -> None:
    enable(bed, tmp_path)
    first = am_alert()
    second = am_alert("LatencyHigh", fp="fp-2", summary="p99 above 2 s")
    post_am(bed.url, notification(first))
    inc = _declared(bed)
    resp = post_am(bed.url, notification(first, second))
    assert resp.json()["alerts"] == [
        {"outcome": "duplicate", "incident": 1},
        {"outcome": "attached", "incident": 1},
    ]
    bed.wait_for(lambda: card_shows(bed, "🔔 2 alerts firing: HighErrorRate, LatencyHigh"))
    # the commander takes it before the alerts clear
    carol = bed.people["carol"]
    bed.driver.block_action(
        "incident_ack", "1", user_id=carol, channel_id=inc["channel_id"], message_ts=inc["card_ts"]
    )
    bed.wait_for(lambda: incidents(bed)[0]["commander_id"] == carol)

    post_am(bed.url, notification(resolved(first), second))
    bed.wait_for(lambda: card_shows(bed, "🔔 1 alert firing: LatencyHigh"))
    statuses = [(e["data"]["name"], e["data"]["status"]) for e in alert_events(bed)]
    assert statuses == [
        ("HighErrorRate", "firing"),
        ("LatencyHigh", "firing"),
        ("HighErrorRate", "resolved"),
    ]
    assert alert_events(bed)[-1]["data"]["ends_at"] == "2026-11-30T10:20:00+00:00"

    def asks() -> list:
        return [
            m
            for m in bed.emulator.messages(inc["channel_id"])
            if "warroom never resolves it by itself" in m.text
        ]

    assert asks() == []
    for _ in range(3):  # resent: still one question
        post_am(bed.url, notification(resolved(first), resolved(second)))
    bed.wait_for(lambda: card_shows(bed, "🔕 2 alerts, all resolved"))
    bed.wait_for(asks)
    time.sleep(0.3)
    (ask,) = asks()
    assert f"<@{carol}>" in ask.text
    buttons = [e for b in ask.blocks or [] if b["type"] == "actions" for e in b["elements"]]
    assert [(b["action_id"], b["value"]) for b in buttons] == [("incident_resolve", "1")]
    assert len(alert_events(bed)) == 4
    # warroom did not resolve it
    assert incidents(bed)[0]["resolved_at"] is None


def test_a_warning_is_offered_once_and_the_button_declares(bed: Testbed, tmp_path: Path) -> None:
    enable(bed, tmp_path)
    warn = am_alert("DiskFilling", fp="fp-w", severity="warning", summary="Disk 85% full")
    for _ in range(2):
        resp = post_am(bed.url, notification(warn))
        assert resp.status_code == 200
    alerts_channel = bed.emulator.channel_by_name("alerts").id
    offers = bed.emulator.messages(alerts_channel)
    assert len(offers) == 1, [m.text for m in offers]
    offer = offers[0]
    assert "DiskFilling" in offer.text and "Disk 85% full" in offer.text
    assert incidents(bed) == []
    dave = bed.people["dave"]
    (button,) = [e for b in offer.blocks or [] if b["type"] == "actions" for e in b["elements"]]
    assert button["action_id"] == "alert_declare"
    bed.driver.block_action(
        "alert_declare",
        button["value"],
        user_id=dave,
        channel_id=alerts_channel,
        message_ts=offer.ts,
    )
    bed.wait_for(lambda: card_shows(bed, "🔔 1 alert firing: DiskFilling"), timeout=10)
    inc = incidents(bed)[0]
    assert inc["commander_id"] == dave and inc["reporter_id"] == dave
    assert inc["severity"] == "SEV3"  # "warning" is no severity word: the default
    assert inc["service"] == "checkout" and inc["detected_at"] == T0
    bed.wait_for(lambda: "Taken by" in bed.emulator.messages(alerts_channel)[0].text)
    updated = bed.emulator.messages(alerts_channel)[0]
    assert not any(b["type"] == "actions" for b in updated.blocks or [])
    # a second press declares nothing more
    bed.driver.block_action(
        "alert_declare",
        button["value"],
        user_id=bed.people["erin"],
        channel_id=alerts_channel,
        message_ts=offer.ts,
        message={"blocks": offer.blocks, "ts": offer.ts, "text": offer.text},
    )
    time.sleep(0.5)
    assert len(incidents(bed)) == 1
    assert len(alert_events(bed)) == 1


def test_two_replicas_receiving_the_same_notification_declare_once(
    bed: Testbed, tmp_path: Path
) -> None:
    store = enable(bed, tmp_path)
    original = bed.settings
    bed.settings = bed.services.settings
    try:
        second = start_second_app(bed)
    finally:
        bed.settings = original
    second.services.catalog = store
    try:
        payload = notification(am_alert(), am_alert("LatencyHigh", fp="fp-2"))
        answers: list[int] = []
        threads = [
            threading.Thread(target=lambda u=u: answers.append(post_am(u, payload).status_code))
            for u in (bed.url, second.url)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert answers == [200, 200]
        bed.wait_for(lambda: card_shows(bed, "🔔 2 alerts firing"), timeout=10)
        time.sleep(0.3)
        assert len(incidents(bed)) == 1
        assert len(alert_events(bed)) == 2
        assert sum(c.name.startswith("inc-") for c in bed.emulator.channels()) == 1
    finally:
        second.stop()


def test_postgres_down_is_503_and_the_retry_declares(bed: Testbed, tmp_path: Path) -> None:
    enable(bed, tmp_path)
    payload = notification(am_alert())
    bed.pg.stop()
    try:
        started = time.monotonic()
        resp = post_am(bed.url, payload)
        assert resp.status_code == 503, resp.text
        assert resp.json()["error"] == "unavailable"
        assert "Traceback" not in resp.text
        assert time.monotonic() - started < 10  # within Alertmanager's webhook timeout
    finally:
        bed.pg.start()
    bed.wait_for(lambda: httpx.get(bed.url + "/healthz").status_code == 200, timeout=20)
    retry = bed.wait_for(lambda: (r := post_am(bed.url, payload)).status_code == 200 and r)
    assert retry.json()["alerts"] == [{"outcome": "declared", "incident": 1}]
    _declared(bed)
    assert len(incidents(bed)) == 1 and len(alert_events(bed)) == 1


def test_an_alert_no_rule_takes_is_stored_and_routes_nowhere(bed: Testbed, tmp_path: Path) -> None:
    enable(bed, tmp_path)
    info = am_alert("Heartbeat", fp="fp-i", severity="info", service="unknown-svc")
    resp = post_am(bed.url, notification(info))
    assert resp.json()["alerts"] == [{"outcome": "unrouted", "incident": None}]
    assert incidents(bed) == []
    assert bed.rows("SELECT service, status FROM alerts") == [{"service": None, "status": "firing"}]


def test_the_token_never_reaches_the_settings_repr(bed: Testbed) -> None:
    settings = bed.services.settings.model_copy(
        update={"warroom_alerts_token": SecretStr("tok-zq81")}
    )
    assert "tok-zq81" not in repr(settings) and "tok-zq81" not in str(settings.model_dump())


def test_migration_0005_matches_the_model(bed: Testbed) -> None:
    """The hand-written migration creates exactly what incident.models.AlertRecord declares."""
    from typing import Any

    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import MetaData, create_engine

    from bot.adapters.db import normalise_url
    from incident.models import AlertRecord, Base

    ours = MetaData()
    for table in (AlertRecord.__table__, Base.metadata.tables["incidents"]):
        table.to_metadata(ours)

    def only_alerts(name: str | None, kind: str, _: Any) -> bool:
        return kind != "table" or name in ours.tables

    engine = create_engine(normalise_url(bed.pg.url))
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"include_name": only_alerts})
            diff = [d for d in compare_metadata(ctx, ours) if "alerts" in repr(d)]
            assert diff == []
    finally:
        engine.dispose()


def test_the_postmortem_shows_detection_and_time_to_detect(bed: Testbed, tmp_path: Path) -> None:
    from datetime import datetime

    enable(bed, tmp_path)
    bed.services.settings = bed.services.settings.model_copy(
        update={"warroom_api_token": SecretStr("api-token-for-tests")}
    )
    auth = {"Authorization": "Bearer api-token-for-tests"}
    post_am(bed.url, notification(am_alert()))
    _declared(bed)
    post_am(bed.url, notification(resolved(am_alert())))
    bed.wait_for(lambda: card_shows(bed, "all resolved"))
    doc = httpx.get(bed.url + "/api/incidents/1", headers=auth).json()
    assert doc["detection"] == [
        {
            "name": "HighErrorRate",
            "source": "alertmanager",
            "status": "resolved",
            "summary": "Checkout error rate above 5%",
            "starts_at": T0.isoformat(),
            "ends_at": "2026-11-30T10:20:00+00:00",
        }
    ]
    declared = datetime.fromisoformat(doc["times"]["declared_at"])
    assert doc["durations"]["ttd"]["seconds"] == int((declared - T0).total_seconds())
    md = httpx.get(bed.url + "/postmortems/1.md", headers=auth).text
    assert "## Detection" in md
    assert "Time to detect (first alert → declared)" in md
    assert "**HighErrorRate** (alertmanager)" in md and "ended 2026-11-30 10:20 UTC" in md
    assert "| Detected | TTD" in md
