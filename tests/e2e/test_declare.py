"""`/incident declare` end to end: signed requests in, what reached Slack and Postgres out."""

from __future__ import annotations

import time

from warroom_sandbox.testbed import Testbed


def incidents(bed: Testbed) -> list[dict]:
    return bed.rows("SELECT * FROM incidents ORDER BY number")


def setup_finished(bed: Testbed, number: int = 1) -> dict | None:
    rows = bed.rows("SELECT * FROM incidents WHERE number = :n", n=number)
    if not rows:
        return None
    setup = rows[0]["setup"]
    done = set(setup.get("done", [])) | set(setup.get("failed", {}))
    channel_failed = "channel" in setup.get("failed", {})
    return rows[0] if len(done) >= 6 or channel_failed else None


def responses_text(bed: Testbed) -> str:
    return "\n".join(r.text for r in bed.emulator.responses())


def test_quick_declare_creates_everything(bed: Testbed) -> None:
    alice = bed.people["alice"]
    general = bed.emulator.channel_by_name("general").id
    started = time.perf_counter()
    resp = bed.driver.command("declare SEV2 Checkout is failing", user_id=alice, channel_id=general)
    assert resp.status_code == 200
    assert time.perf_counter() - started < 3

    inc = bed.wait_for(lambda: setup_finished(bed))
    assert inc["title"] == "Checkout is failing"
    assert inc["severity"] == "SEV2"
    assert inc["status"] == "investigating"
    assert inc["reporter_id"] == inc["commander_id"] == alice
    assert inc["setup"]["failed"] == {}
    assert set(inc["setup"]["done"]) == {"channel", "invite", "topic", "card", "pin", "announce"}

    channel = bed.emulator.channel_by_name("inc-1-checkout-is-failing")
    assert channel.id == inc["channel_id"]
    assert alice in bed.emulator.members(channel.id)
    assert "SEV2" in bed.emulator.topic(channel.id)
    assert "Investigating" in bed.emulator.topic(channel.id)

    card = bed.emulator.messages(channel.id)[-1]
    assert card.ts == inc["card_ts"]
    for label in (
        "INCIDENT",
        "Severity",
        "Status",
        "Impact",
        "Started",
        "Updates",
        "Incident Commander",
    ):
        assert label in card.text
    assert [p.ts for p in bed.emulator.pins(channel.id)] == [card.ts]

    incidents_channel = bed.emulator.channel_by_name("incidents").id
    announcement = bed.emulator.messages(incidents_channel)[-1]
    assert f"<#{channel.id}>" in announcement.text
    assert "Checkout is failing" in announcement.text

    bed.wait_for(lambda: "Incident #1 declared" in responses_text(bed))
    kinds = [r["kind"] for r in bed.rows("SELECT kind FROM timeline_events ORDER BY id")]
    assert kinds == [
        "declared",
        "setup.channel",
        "setup.invite",
        "setup.topic",
        "setup.card",
        "setup.pin",
        "setup.announce",
    ]


def test_default_severity_when_omitted(bed: Testbed) -> None:
    bed.driver.command("declare Search is slow", user_id=bed.people["bob"], channel_id="C0GENERAL")
    inc = bed.wait_for(lambda: setup_finished(bed))
    assert inc["severity"] == bed.settings.default_severity
    assert inc["title"] == "Search is slow"


def test_severity_words_people_type_are_read_not_titled(bed: Testbed) -> None:
    """`SEV 1`, `P1`, `critical:` name a level (the default never overrides them); `SEV9` and
    `P7` look like levels and are refused with the list, not swallowed into the title."""
    alice = bed.people["alice"]
    typed = [
        ("declare SEV 1 Database down", "SEV1", "Database down"),
        ("declare P1 Payments failing", "SEV1", "Payments failing"),
        ("declare P2 Search degraded", "SEV2", "Search degraded"),
        ("declare critical: Login broken", "SEV1", "Login broken"),
        ("declare High error rate on checkout", "SEV3", "High error rate on checkout"),
    ]
    for n, (text, _, _) in enumerate(typed, start=1):
        bed.driver.command(text, user_id=alice, channel_id="C0GENERAL")
        bed.wait_for(lambda n=n: setup_finished(bed, n), timeout=10)
    got = [(r["severity"], r["title"]) for r in incidents(bed)]
    assert got == [(sev, title) for _, sev, title in typed]

    for text in ("declare SEV9 Database down", "declare P7 Database down"):
        answer = bed.driver.command(text, user_id=alice, channel_id="C0GENERAL").json()["text"]
        assert "Unknown severity" in answer
        assert "SEV1 (S1, P0, P1, critical), SEV2 (S2, P2, high)" in answer
    assert len(incidents(bed)) == len(typed)


def test_modal_declare(bed: Testbed) -> None:
    alice, bob = bed.people["alice"], bed.people["bob"]
    general = bed.emulator.channel_by_name("general").id
    resp = bed.driver.command("declare", user_id=alice, channel_id=general)
    assert resp.status_code == 200
    view = bed.wait_for(lambda: bed.emulator.views())[-1]
    assert view.callback_id == "declare_incident"
    assert view.private_metadata == general
    assert not incidents(bed)

    resp = bed.driver.view_submission(
        "declare_incident",
        {
            "title": {"value": {"type": "plain_text_input", "value": "Payments timing out"}},
            "severity": {"value": {"type": "static_select", "selected_option": {"value": "SEV1"}}},
            "impact": {"value": {"type": "plain_text_input", "value": "EU customers cannot pay"}},
            "commander": {"value": {"type": "users_select", "selected_user": bob}},
        },
        user_id=alice,
        private_metadata=general,
        view_id=view.id,
    )
    assert resp.status_code == 200
    inc = bed.wait_for(lambda: setup_finished(bed))
    assert (inc["title"], inc["severity"], inc["impact"]) == (
        "Payments timing out",
        "SEV1",
        "EU customers cannot pay",
    )
    assert inc["commander_id"] == bob and inc["reporter_id"] == alice
    assert {alice, bob} <= set(bed.emulator.members(inc["channel_id"]))
    card = bed.emulator.messages(inc["channel_id"])[-1]
    assert "EU customers cannot pay" in card.text and f"<@{bob}>" in card.text


def test_modal_validation_errors_come_back_inline(bed: Testbed) -> None:
    resp = bed.driver.view_submission(
        "declare_incident",
        {
            "title": {"value": {"type": "plain_text_input", "value": "x" * 151}},
            "severity": {"value": {"type": "static_select", "selected_option": {"value": "SEV2"}}},
            "commander": {"value": {"type": "users_select", "selected_user": bed.people["alice"]}},
        },
        user_id=bed.people["alice"],
    )
    assert resp.status_code == 200
    body = resp.json()
    assert body["response_action"] == "errors"
    assert "150" in body["errors"]["title"]
    time.sleep(0.2)
    assert not incidents(bed)


def test_modal_double_submit_creates_one_incident(bed: Testbed) -> None:
    values = {
        "title": {"value": {"type": "plain_text_input", "value": "Double clicked"}},
        "severity": {"value": {"type": "static_select", "selected_option": {"value": "SEV3"}}},
        "commander": {"value": {"type": "users_select", "selected_user": bed.people["alice"]}},
    }
    for _ in range(3):
        bed.driver.view_submission(
            "declare_incident", values, user_id=bed.people["alice"], view_id="VDOUBLE1"
        )
    bed.wait_for(lambda: setup_finished(bed))
    time.sleep(0.3)
    assert len(incidents(bed)) == 1
    assert len(bed.emulator.calls("conversations.create")) == 1


def test_bad_signature_and_stale_timestamp_are_refused(bed: Testbed) -> None:
    alice = bed.people["alice"]
    bad = bed.driver.command(
        "declare SEV1 forged", user_id=alice, channel_id="C1", bad_signature=True
    )
    stale = bed.driver.command(
        "declare SEV1 replayed", user_id=alice, channel_id="C1", timestamp=int(time.time()) - 301
    )
    assert bad.status_code == 401
    assert stale.status_code == 401
    time.sleep(0.3)
    assert not incidents(bed)
    assert not bed.emulator.calls("conversations.create")


def test_retried_delivery_creates_one_incident(bed: Testbed) -> None:
    alice = bed.people["alice"]
    first = bed.driver.command(
        "declare SEV2 Retry storm", user_id=alice, channel_id="C1", trigger_id="T-RETRY-1"
    )
    retries = [
        bed.driver.command(
            "declare SEV2 Retry storm",
            user_id=alice,
            channel_id="C1",
            trigger_id="T-RETRY-1",
            retry_num=n,
        )
        for n in (1, 2, 3)
    ]
    assert first.status_code == 200 and all(r.status_code == 200 for r in retries)
    bed.wait_for(lambda: setup_finished(bed))
    time.sleep(0.3)
    assert len(incidents(bed)) == 1
    assert len(bed.emulator.calls("conversations.create")) == 1


def test_same_title_twice_in_a_row_is_one_incident(bed: Testbed) -> None:
    alice = bed.people["alice"]
    bed.driver.command("declare SEV2 Login broken", user_id=alice, channel_id="C1")
    bed.wait_for(lambda: setup_finished(bed))
    bed.driver.command("declare SEV2 Login broken", user_id=alice, channel_id="C1")
    bed.wait_for(lambda: "not declaring it twice" in responses_text(bed))
    assert len(incidents(bed)) == 1


def test_name_taken_adds_a_suffix(bed: Testbed) -> None:
    bed.emulator.add_channel("inc-1-checkout-is-failing")
    bed.driver.command(
        "declare SEV2 Checkout is failing", user_id=bed.people["alice"], channel_id="C1"
    )
    inc = bed.wait_for(lambda: setup_finished(bed))
    assert inc["channel_name"] == "inc-1-checkout-is-failing-2"
    assert inc["setup"]["failed"] == {}


def test_long_title_makes_a_valid_channel_name(bed: Testbed) -> None:
    title = "Ünïcode & spaces — " + "very long words " * 8
    bed.driver.command(f"declare SEV3 {title[:150]}", user_id=bed.people["alice"], channel_id="C1")
    inc = bed.wait_for(lambda: setup_finished(bed))
    assert inc["setup"]["failed"] == {}
    assert len(inc["channel_name"]) <= 80
    assert inc["channel_name"].startswith("inc-1-unicode-spaces-very-long-words")


def test_slack_failure_half_way_is_reported_and_repairable(bed: Testbed) -> None:
    alice = bed.people["alice"]
    bed.emulator.fail("pins.add", error="ratelimited", retry_after=0, times=10)
    bed.driver.command("declare SEV1 Database on fire", user_id=alice, channel_id="C1")
    inc = bed.wait_for(lambda: setup_finished(bed))
    assert "pin" in inc["setup"]["failed"]
    assert "pin" not in inc["setup"]["done"]
    assert {"channel", "invite", "topic", "card", "announce"} <= set(inc["setup"]["done"])
    assert not bed.emulator.pins(inc["channel_id"])
    bed.wait_for(lambda: "pin the card" in responses_text(bed))
    assert "/incident repair 1" in responses_text(bed)
    failed = bed.rows("SELECT data FROM timeline_events WHERE kind = 'setup.failed'")
    assert failed[0]["data"]["step"] == "pin"

    bed.emulator.clear_faults()
    bed.driver.command("repair", user_id=alice, channel_id=inc["channel_id"])
    bed.wait_for(lambda: "pin" in bed.rows("SELECT setup FROM incidents")[0]["setup"]["done"])
    assert len(bed.emulator.pins(inc["channel_id"])) == 1
    assert len(bed.emulator.calls("conversations.create")) == 1
    posted = [c for c in bed.emulator.calls("chat.postMessage") if c.ok]
    assert len(posted) == 2  # card + announcement, once each


def test_rate_limit_is_retried_by_the_client(bed: Testbed) -> None:
    bed.emulator.fail("conversations.create", error="ratelimited", retry_after=1, times=1)
    bed.driver.command(
        "declare SEV2 Briefly throttled", user_id=bed.people["alice"], channel_id="C1"
    )
    inc = bed.wait_for(lambda: setup_finished(bed), timeout=10)
    assert inc["setup"]["failed"] == {}
    assert len(bed.emulator.calls("conversations.create")) == 2


def test_channel_creation_failure_leaves_an_honest_incident(bed: Testbed) -> None:
    bed.emulator.fail("conversations.create", error="restricted_action", times=10)
    bed.driver.command(
        "declare SEV2 No channel for you", user_id=bed.people["alice"], channel_id="C1"
    )
    inc = bed.wait_for(lambda: setup_finished(bed))
    assert inc["channel_id"] is None
    assert inc["setup"]["done"] == []
    assert inc["setup"]["failed"] == {"channel": "restricted_action"}
    bed.wait_for(lambda: "restricted_action" in responses_text(bed))
    text = responses_text(bed)
    assert "Incident #1 is stored" in text and "/incident repair 1" in text


def test_bad_input_gets_a_clear_message_and_stores_nothing(bed: Testbed) -> None:
    alice = bed.people["alice"]
    cases = {
        "declare SEV9 Unknown severity": "Unknown severity",
        "declare SEV2": "needs a title",
        "declare SEV2    ": "needs a title",
        "declare SEV1 " + "x" * 151: "151 characters",
    }
    for text, expected in cases.items():
        resp = bed.driver.command(text, user_id=alice, channel_id="C1")
        assert resp.status_code == 200
        assert expected in resp.json()["text"], text
    time.sleep(0.3)
    assert not incidents(bed)
    assert not bed.emulator.calls("conversations.create")


def test_mentions_in_a_title_are_escaped_everywhere(bed: Testbed) -> None:
    title = "<!channel> ping <@U0BOSS> & <https://evil.example|click>"
    bed.driver.command(f"declare SEV2 {title}", user_id=bed.people["alice"], channel_id="C1")
    inc = bed.wait_for(lambda: setup_finished(bed))
    assert inc["title"] == title  # stored as typed
    card = bed.emulator.messages(inc["channel_id"])[-1]
    announcement = bed.emulator.messages(bed.emulator.channel_by_name("incidents").id)[-1]
    for message in (card, announcement):
        assert "<!channel>" not in message.text
        assert "<@U0BOSS>" not in message.text
        assert "&lt;!channel&gt;" in message.text
    # Only the header is plain_text (never parsed by Slack); mrkdwn blocks must be escaped.
    for block in card.blocks:
        if block["type"] == "section":
            assert "<!channel>" not in str(block)


def test_help_and_unknown_subcommand(bed: Testbed) -> None:
    for text in ("help", "", "frobnicate now"):
        resp = bed.driver.command(text, user_id=bed.people["alice"], channel_id="C1")
        assert resp.status_code == 200
        body = resp.json()["text"]
        assert "/incident declare" in body
        if text.startswith("frob"):
            assert "Unknown subcommand `frobnicate`" in body
