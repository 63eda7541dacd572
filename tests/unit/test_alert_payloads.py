"""incident.alerts: reading Alertmanager's and Sentry's webhook bodies, and the keys that make
a redelivery change nothing. Pure: no processes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from incident.alerts import (
    PayloadError,
    bounded,
    load_json,
    parse_alertmanager,
    parse_sentry,
    parse_sentry_issue,
    parse_time,
    with_service,
)
from tests.e2e.alert_support import T0, am_alert, notification, resolved, sentry_payload
from tests.e2e.test_sentry_intake import sentry_issue


def test_alertmanager_notification_reads_every_field() -> None:
    n = parse_alertmanager(notification(am_alert(), resolved(am_alert("B", fp="fp-2"))))
    first, second = n.alerts
    assert n.group_key == '{}:{service="checkout"}'
    assert first.status == "firing" and first.name == "HighErrorRate"
    assert first.starts_at == T0  # nanoseconds cut to microseconds
    assert first.ends_at is None  # Go's zero time
    assert first.summary == "Checkout error rate above 5%"
    assert first.service_label == "checkout"
    assert first.reporter == "Alertmanager"
    assert second.status == "resolved"
    assert second.ends_at == datetime(2026, 11, 30, 10, 20, tzinfo=UTC)


def test_keys_are_stable_per_occurrence_and_state() -> None:
    a = parse_alertmanager(notification(am_alert())).alerts[0]
    again = parse_alertmanager(notification(am_alert())).alerts[0]
    ended = parse_alertmanager(notification(resolved(am_alert()))).alerts[0]
    later = parse_alertmanager(notification(am_alert(starts="2026-11-30T11:00:00Z"))).alerts[0]
    assert a.occurrence_key == again.occurrence_key == ended.occurrence_key
    assert a.event_key == again.event_key != ended.event_key
    assert later.occurrence_key != a.occurrence_key
    assert a.event_key == f"alert:alertmanager:fp-1:{T0.isoformat()}:firing"


def test_a_missing_fingerprint_is_derived_from_the_labels() -> None:
    raw = am_alert()
    del raw["fingerprint"]
    one = parse_alertmanager(notification(raw)).alerts[0]
    two = parse_alertmanager(notification(dict(raw))).alerts[0]
    assert one.fingerprint == two.fingerprint and len(one.fingerprint) == 16


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ({}, "alerts: expected a list"),
        ({"alerts": [1]}, "alerts[0]: expected an object"),
        ({"alerts": [{**am_alert(), "status": "ok"}]}, "alerts[0].status"),
        ({"alerts": [{**am_alert(), "startsAt": 5}]}, "alerts[0].startsAt"),
        ({"alerts": [{**am_alert(), "startsAt": "2026-11-30T10:00:00"}]}, "no time zone"),
        ({"alerts": [{**am_alert(), "startsAt": "0001-01-01T00:00:00Z"}]}, "zero time"),
        ({"alerts": [{**am_alert(), "labels": ["a"]}]}, "alerts[0].labels"),
        ({"alerts": [], "commonLabels": {"a": None}}, "commonLabels.a"),
        ({"version": "3", "alerts": []}, "version"),
    ],
)
def test_bad_alertmanager_bodies_name_the_problem(payload: dict, needle: str) -> None:
    with pytest.raises(PayloadError) as exc:
        parse_alertmanager(payload)
    assert needle in str(exc.value)


def test_load_json_refuses_what_is_not_an_object() -> None:
    for raw in (b"", b"{", b"[]", b"\xff", b'"x"'):
        with pytest.raises(PayloadError):
            load_json(raw)


def test_sentry_issue_alert_reads_project_from_the_event_url() -> None:
    n = parse_sentry(sentry_payload())
    (alert,) = n.alerts
    assert alert.project == "checkout-web"
    assert alert.name == "Checkout errors" and alert.summary.startswith("ReferenceError")
    assert alert.fingerprint == "1117540176"
    assert alert.labels["source"] == "sentry" and alert.labels["environment"] == "prod"
    assert alert.occurrence_key == "sentry:1117540176"
    assert alert.reporter == "Sentry"
    assert with_service(alert, "checkout").labels["service"] == "checkout"


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda p: p.update(action="resolved"), "action"),
        (lambda p: p.update(data=[]), "data:"),
        (lambda p: p["data"].update(event=None), "data.event"),
        (lambda p: p["data"]["event"].pop("issue_id"), "issue_id"),
        (lambda p: p["data"]["event"].update(datetime="soon"), "datetime"),
    ],
)
def test_bad_sentry_bodies_name_the_problem(mutate, needle: str) -> None:
    payload = sentry_payload()
    mutate(payload)
    with pytest.raises(PayloadError) as exc:
        parse_sentry(payload)
    assert needle in str(exc.value)


def test_times_and_keys() -> None:
    assert parse_time("2026-11-30T09:58:12.123456789+02:00", "t") == datetime(
        2026, 11, 30, 7, 58, 12, 123456, tzinfo=UTC
    )
    assert parse_time(None, "t", optional=True) is None
    long = "x" * 500
    assert len(bounded(long)) == 200 and bounded(long) != bounded(long[:-1] + "y")


def test_sentry_issue_webhook_resolves_and_reopens_the_issue_alert() -> None:
    fired = parse_sentry(sentry_payload()).alerts[0]
    created = parse_sentry_issue(sentry_issue("created"))
    assert created is not None
    (alert,) = created.alerts
    assert alert.firing and not alert.reopens and alert.project == "checkout-web"
    assert alert.starts_at == T0.replace(microsecond=123000)
    # the same key as the alert rule's: the issue's resolution finds that alert
    assert alert.occurrence_key == fired.occurrence_key == "sentry:1117540176"
    resolved_ = parse_sentry_issue(sentry_issue("resolved"))
    assert resolved_ is not None
    (gone,) = resolved_.alerts
    assert gone.status == "resolved" and gone.occurrence_key == fired.occurrence_key
    assert gone.event_key == "alert:sentry:1117540176:resolved"
    reopened = parse_sentry_issue(sentry_issue("unresolved"))
    assert reopened is not None
    (again,) = reopened.alerts
    assert again.firing and again.reopens
    assert again.starts_at == datetime(2026, 11, 30, 10, 40, tzinfo=UTC)  # lastSeen
    assert replace(again, occurrence=2).occurrence_key == "sentry:1117540176:2"


def test_sentry_issue_actions_that_change_nothing_and_bad_bodies() -> None:
    for action in ("assigned", "ignored", "archived", "something-new"):
        assert parse_sentry_issue(sentry_issue(action)) is None, action
    payload = sentry_issue("resolved")
    del payload["data"]["issue"]["project"]
    n = parse_sentry_issue(payload)
    assert n is not None and n.alerts[0].project == "checkout-web"  # from project_url
    for mutate, needle in [
        (lambda p: p.update(action=None), "action"),
        (lambda p: p.update(data=[]), "data:"),
        (lambda p: p["data"].update(issue="x"), "data.issue"),
        (lambda p: p["data"]["issue"].pop("id"), "data.issue.id"),
        (lambda p: p["data"]["issue"].update(firstSeen="soon"), "firstSeen"),
    ]:
        payload = sentry_issue("created")
        mutate(payload)
        with pytest.raises(PayloadError) as exc:
            parse_sentry_issue(payload)
        assert needle in str(exc.value)
