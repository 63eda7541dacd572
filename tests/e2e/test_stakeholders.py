"""Stakeholder summaries: one message per incident per stakeholder channel, posted at
declaration and edited in place (same ts) on severity changes, public updates and resolution;
never anything internal; redeliveries post nothing new; a channel warroom cannot reach is a
problem told to the person, not a crash; a summary Slack has but the database never recorded
(a crash between post and write, a 5xx that posted all the same) is adopted, not doubled."""

from __future__ import annotations

import time

import pytest
from warroom_sandbox.testbed import Testbed

from bot.adapters.catalog.model import Catalog
from bot.adapters.catalog.store import CatalogStore
from tests.e2e.test_declare import responses_text, setup_finished
from tests.e2e.test_lifecycle import _confirm_payload


def _catalog(bed: Testbed, **by_service: dict) -> None:
    bed.services.catalog = CatalogStore.of(
        Catalog.model_validate(
            {
                "services": [{"name": "checkout", "health_url": "http://127.0.0.1:9/health"}],
                "stakeholders": {
                    "by_severity": {"SEV1": {"channels": ["exec-updates"]}},
                    "by_service": by_service or {"checkout": {"channels": ["payments-stake"]}},
                },
            }
        )
    )


def _declare(bed: Testbed, text: str = "declare SEV1 Checkout down --service checkout") -> dict:
    general = bed.emulator.channel_by_name("general").id
    bed.driver.command(
        text, user_id=bed.people["alice"], channel_id=general, trigger_id="T-STAKE-DECLARE"
    )
    return bed.wait_for(lambda: setup_finished(bed))


def _summaries(bed: Testbed, channel: str) -> list:
    return bed.emulator.messages(channel)


def _quiet(bed: Testbed, still_s: float = 0.6, timeout: float = 15.0) -> None:
    """Until no Slack write has been made for `still_s`."""
    deadline = time.monotonic() + timeout
    seen, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = len(bed.emulator.calls("chat.postMessage")) + len(bed.emulator.calls("chat.update"))
        if now != seen:
            seen, since = now, time.monotonic()
        elif time.monotonic() - since >= still_s:
            return
        time.sleep(0.05)
    raise AssertionError("Slack writes never stopped")


def _one_summary(bed: Testbed, channel: str, needle: str) -> object:
    def found() -> object:
        msgs = _summaries(bed, channel)
        return msgs[0] if len(msgs) == 1 and needle in msgs[0].text else None

    return bed.wait_for(found, timeout=8)


def test_summary_posted_once_then_edited_in_place(bed: Testbed) -> None:
    exec_ch = bed.emulator.add_channel("exec-updates")  # warroom is not in it: it joins
    pay_ch = bed.emulator.add_channel("payments-stake")
    _catalog(bed)
    inc = _declare(bed)
    alice, ch = bed.people["alice"], inc["channel_id"]

    first = _one_summary(bed, exec_ch, "*SEV1*")
    assert "Checkout down" in first.text and "Investigating" in first.text
    assert "`checkout`" in first.text
    pay_first = _one_summary(bed, pay_ch, "*SEV1*")
    assert len(bed.emulator.calls("conversations.join")) >= 1

    # internal chatter: a plain update and a note change nothing stakeholders see
    bed.driver.command("update internal chatter zebra", user_id=alice, channel_id=ch)
    bed.driver.command("note secret note giraffe", user_id=alice, channel_id=ch)
    bed.wait_for(lambda: len(bed.rows("SELECT 1 FROM timeline_events WHERE kind='note'")) == 1)

    bed.driver.command(
        "update --public Card payments fail for some customers",
        user_id=alice,
        channel_id=ch,
        trigger_id="T-STAKE-PUBLIC",
    )
    _one_summary(bed, exec_ch, "Card payments fail for some customers")
    stored = bed.rows("SELECT data FROM timeline_events WHERE kind='update' ORDER BY id")
    assert [r["data"].get("public") for r in stored] == [None, True]

    bed.driver.command("sev SEV2", user_id=alice, channel_id=ch)
    after_sev = _one_summary(bed, exec_ch, "*SEV2*")
    assert after_sev.ts == first.ts

    asked = bed.driver.command("resolve Rolled back the deploy", user_id=alice, channel_id=ch)
    message, value = _confirm_payload(asked)
    bed.driver.block_action(
        "incident_resolve_confirm", value, user_id=alice, channel_id=ch, message=message
    )
    resolved = _one_summary(bed, exec_ch, "resolved")
    assert resolved.ts == first.ts
    pay = _one_summary(bed, pay_ch, "resolved")
    assert pay.ts == pay_first.ts

    # a redelivered command (same trigger, Slack's retry) changes and posts nothing; first
    # let the resolution's own follow-up (announcements, post-mortem) finish
    _quiet(bed)
    edits = len(bed.emulator.calls("chat.update"))
    posts = len(bed.emulator.calls("chat.postMessage"))
    bed.driver.command(
        "update --public Card payments fail for some customers",
        user_id=alice,
        channel_id=ch,
        trigger_id="T-STAKE-PUBLIC",
        retry_num=1,
    )
    bed.driver.command(
        "declare SEV1 Checkout down --service checkout",
        user_id=alice,
        channel_id=bed.emulator.channel_by_name("general").id,
        trigger_id="T-STAKE-DECLARE",
        retry_num=1,
    )
    time.sleep(0.5)
    assert len(bed.emulator.calls("chat.postMessage")) == posts
    assert len(bed.emulator.calls("chat.update")) == edits

    for channel in (exec_ch, pay_ch):
        texts = " ".join(m.text for m in _summaries(bed, channel))
        for internal in ("zebra", "giraffe", "Rolled back the deploy"):
            assert internal not in texts
        assert len(_summaries(bed, channel)) == 1
    row = bed.rows("SELECT setup FROM incidents")[0]["setup"]
    assert set(row["stakeholders"]) == {exec_ch, pay_ch}


def test_unreachable_private_channel_is_reported_not_a_crash(bed: Testbed) -> None:
    bed.emulator.add_channel("exec-updates")
    bed.emulator.add_channel("vault-stake", is_private=True)  # warroom was never invited
    _catalog(bed, checkout={"channels": ["vault-stake"]})
    inc = _declare(bed)
    assert inc["title"] == "Checkout down"
    bed.wait_for(lambda: "vault-stake" in responses_text(bed), timeout=8)
    assert "invite warroom" in responses_text(bed)
    exec_ch = bed.emulator.channel_by_name("exec-updates").id
    _one_summary(bed, exec_ch, "*SEV1*")  # the reachable channel still got it


def test_public_checkbox_in_the_update_form(bed: Testbed) -> None:
    exec_ch = bed.emulator.add_channel("exec-updates")
    bed.emulator.add_channel("payments-stake")
    _catalog(bed)
    inc = _declare(bed)
    _one_summary(bed, exec_ch, "*SEV1*")
    bed.driver.block_action(
        "incident_update",
        str(inc["number"]),
        user_id=bed.people["alice"],
        channel_id=inc["channel_id"],
        message_ts=inc["card_ts"],
    )
    view = bed.wait_for(
        lambda: next(
            (v for v in bed.emulator.views() if v.callback_id == "incident_update_view"), None
        )
    )
    values = {
        "status": {"value": {"type": "static_select", "selected_option": {"value": "identified"}}},
        "message": {"value": "We found the cause"},
        "impact": {"value": None},
        "public": {"value": {"type": "checkboxes", "selected_options": [{"value": "public"}]}},
    }
    resp = bed.driver.view_submission(
        "incident_update_view", values, user_id=bed.people["alice"], view_id=view.id
    )
    assert resp.status_code == 200
    _one_summary(bed, exec_ch, "We found the cause")
    data = bed.rows("SELECT data FROM timeline_events WHERE kind='update'")[0]["data"]
    assert data["public"] is True


def _forget_posted_summaries(bed: Testbed, number: int) -> None:
    """What a crash (or Postgres gone) between `chat.postMessage` and the write of its ts
    leaves: the summaries are in Slack, the database knows none of them."""
    with bed._sync_engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE incidents SET setup = setup - 'stakeholders' WHERE number = %(n)s",
            {"n": number},
        )


def _stored_ts(bed: Testbed, channel: str, number: int = 1) -> str | None:
    setup = bed.rows("SELECT setup FROM incidents WHERE number = :n", n=number)[0]["setup"]
    return ((setup.get("stakeholders") or {}).get(channel) or {}).get("ts")


def test_summary_posted_but_not_recorded_is_adopted_not_posted_again(bed: Testbed) -> None:
    exec_ch = bed.emulator.add_channel("exec-updates")
    pay_ch = bed.emulator.add_channel("payments-stake")
    _catalog(bed)
    inc = _declare(bed)
    first = {ch: _one_summary(bed, ch, "*SEV1*") for ch in (exec_ch, pay_ch)}
    _quiet(bed)
    _forget_posted_summaries(bed, inc["number"])
    assert _stored_ts(bed, exec_ch) is None

    bed.driver.command(
        "update --public Payments are recovering",
        user_id=bed.people["alice"],
        channel_id=inc["channel_id"],
    )
    for ch in (exec_ch, pay_ch):
        now = _one_summary(bed, ch, "Payments are recovering")
        assert now.ts == first[ch].ts  # the same message, edited
        bed.wait_for(lambda ch=ch: _stored_ts(bed, ch) == first[ch].ts)
    _quiet(bed)
    assert all(len(_summaries(bed, ch)) == 1 for ch in (exec_ch, pay_ch))

    # adopted means remembered again: the next change is a plain edit, no history read
    reads = len(bed.emulator.calls("conversations.history"))
    bed.driver.command("sev SEV2", user_id=bed.people["alice"], channel_id=inc["channel_id"])
    assert _one_summary(bed, pay_ch, "*SEV2*").ts == first[pay_ch].ts
    _quiet(bed)
    assert len(bed.emulator.calls("conversations.history")) == reads
    assert all(len(_summaries(bed, ch)) == 1 for ch in (exec_ch, pay_ch))


def test_adoption_ignores_other_posters_and_other_incidents(bed: Testbed) -> None:
    """Only our own summary of this incident is adopted: not a newer summary of another
    incident in the same channel, not a person's message about it."""
    bot = bed.emulator.config.bot_user_id
    exec_ch = bed.emulator.add_channel("exec-updates", members=[bot, bed.people["bob"]])
    bed.emulator.add_channel("payments-stake", members=[bot])
    _catalog(bed)
    first = _declare(bed)
    own = _one_summary(bed, exec_ch, "Incident #1").ts
    _quiet(bed)
    bed.driver.command(
        "declare SEV1 Search slow --service checkout",
        user_id=bed.people["alice"],
        channel_id=bed.emulator.channel_by_name("general").id,
        trigger_id="T-STAKE-DECLARE-2",
    )
    bed.wait_for(lambda: setup_finished(bed, 2))
    bed.wait_for(lambda: len(_summaries(bed, exec_ch)) == 2, timeout=8)
    _quiet(bed)
    bed.emulator.add_message(exec_ch, bed.people["bob"], "Incident #1: what is the ETA?")
    _forget_posted_summaries(bed, first["number"])  # the newer #2 summary is still recorded

    bed.driver.command(
        "update --public Checkout is back",
        user_id=bed.people["alice"],
        channel_id=first["channel_id"],
    )
    bed.wait_for(lambda: _stored_ts(bed, exec_ch, 1) == own)
    _quiet(bed)
    msgs = _summaries(bed, exec_ch)
    assert len(msgs) == 3 and msgs[0].ts == own
    assert "Checkout is back" in msgs[0].text
    assert "Search slow" in msgs[1].text and "Checkout is back" not in msgs[1].text
    assert msgs[2].text == "Incident #1: what is the ETA?"


@pytest.mark.parametrize("posted", [True, False], ids=["5xx-after-posting", "5xx-not-posted"])
def test_post_answered_5xx_then_retried_yields_one_summary(bed: Testbed, posted: bool) -> None:
    """Slack answered 503 to the summary's `chat.postMessage`: it may (apply) or may not have
    posted. The client does not retry it; the next refresh must leave exactly one."""
    bot = bed.emulator.config.bot_user_id
    exec_ch = bed.emulator.add_channel("exec-updates", members=[bot])
    _catalog(bed, checkout={"channels": []})  # only SEV1 has an audience
    inc = _declare(bed, "declare SEV2 Checkout slow --service checkout")
    _quiet(bed)
    assert _summaries(bed, exec_ch) == []
    alice, ch = bed.people["alice"], inc["channel_id"]

    # every post fails while the SEV1 follow-up runs (channel message, announcement, summary)
    bed.emulator.fail("chat.postMessage", status=503, times=None, apply=posted)
    try:
        bed.driver.command("sev SEV1", user_id=alice, channel_id=ch)
        bed.wait_for(
            lambda: any(
                c.args.get("channel") == exec_ch and c.fault
                for c in bed.emulator.calls("chat.postMessage")
            ),
            timeout=8,
        )
    finally:
        bed.emulator.clear_faults()
    _quiet(bed)
    assert len(_summaries(bed, exec_ch)) == (1 if posted else 0)
    assert _stored_ts(bed, exec_ch) is None
    exec_posts = [
        c for c in bed.emulator.calls("chat.postMessage") if c.args.get("channel") == exec_ch
    ]
    assert len(exec_posts) == 1  # not retried blindly

    bed.driver.command("update --public Checkout is failing over", user_id=alice, channel_id=ch)
    summary = _one_summary(bed, exec_ch, "Checkout is failing over")
    assert "*SEV1*" in summary.text
    bed.wait_for(lambda: _stored_ts(bed, exec_ch) == summary.ts)
    _quiet(bed)
    assert len(_summaries(bed, exec_ch)) == 1
