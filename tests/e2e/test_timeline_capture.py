"""Events API capture: 📌 on a message and channel joins become timeline events, stored
before Slack gets its 2xx, once however often Slack delivers them."""

from __future__ import annotations

from datetime import timedelta

import httpx
from slack_sdk import WebClient
from warroom_sandbox.slack_driver import reaction_event
from warroom_sandbox.testbed import Testbed

from bot.flows.postmortem.links import link_signer
from tests.e2e.test_lifecycle import declared, events


def pin_event(
    bed: Testbed, channel: str, ts: str, by: str, author: str, reaction: str = "pushpin"
) -> dict:
    return reaction_event(channel, ts, bed.people[by], author, reaction)


def unpin_event(bed: Testbed, channel: str, ts: str, by: str, author: str) -> dict:
    return {**pin_event(bed, channel, ts, by, author), "type": "reaction_removed"}


def deliver(bed: Testbed, event: dict, **kwargs) -> httpx.Response:
    return bed.driver.event(event, **kwargs)


def pins(bed: Testbed, *, withdrawn: bool = False) -> list[dict]:
    q = "SELECT * FROM timeline_events WHERE kind = 'pinned'"
    if not withdrawn:
        q += " AND withdrawn_at IS NULL"
    return bed.rows(q + " ORDER BY id")


def test_pinned_message_is_recorded_before_the_ack_and_once(bed: Testbed) -> None:
    inc = declared(bed)
    ch, bob = inc["channel_id"], bed.people["bob"]
    ts = bed.emulator.add_message(ch, bob, "p99 latency jumped after <!here> deploy 42")
    first = deliver(bed, pin_event(bed, ch, ts, "alice", bob), event_id="Ev-PIN-1")
    assert first.status_code == 200
    [pin] = pins(bed)  # already stored when Slack got its answer
    assert pin["actor"] == bob
    assert pin["text"] == "p99 latency jumped after @here deploy 42"  # as the author saw it
    assert pin["data"]["channel"] == ch and pin["data"]["ts"] == ts
    assert pin["data"]["pinned_by"] == bed.people["alice"]
    assert pin["dedupe_key"] == f"pin:{ch}:{ts}"
    assert pin["occurred_at"].timestamp() == float(ts)

    for n in (1, 2, 3):
        assert bed.driver.retry(first, retry_num=n).status_code == 200
    assert deliver(bed, pin_event(bed, ch, ts, "carol", bob)).status_code == 200  # a second 📌
    assert len(pins(bed)) == 1
    assert len(bed.emulator.calls("conversations.history")) == 1  # nothing fetched again


def test_other_reactions_and_other_channels_are_ignored(bed: Testbed) -> None:
    inc = declared(bed)
    general = bed.emulator.channel_by_name("general").id
    bob = bed.people["bob"]
    ts = bed.emulator.add_message(inc["channel_id"], bob, "hello")
    elsewhere = bed.emulator.add_message(general, bob, "not an incident")
    assert (
        deliver(
            bed, pin_event(bed, inc["channel_id"], ts, "alice", bob, reaction="eyes")
        ).status_code
        == 200
    )
    assert deliver(bed, pin_event(bed, general, elsewhere, "alice", bob)).status_code == 200
    file_item = pin_event(bed, inc["channel_id"], ts, "alice", bob)
    file_item["item"] = {"type": "file", "file": "F123"}
    assert deliver(bed, file_item).status_code == 200
    assert not pins(bed)
    assert not bed.emulator.calls("conversations.history")


def test_unpin_withdraws_unless_another_pin_remains(bed: Testbed) -> None:
    inc = declared(bed)
    ch, bob = inc["channel_id"], bed.people["bob"]
    ts = bed.emulator.add_message(ch, bob, "rollback started")
    deliver(bed, pin_event(bed, ch, ts, "alice", bob))
    # another 📌 is still on the message (the emulator lets only the bot react): keep it
    slack = WebClient(token=bed.settings.slack_bot_token, base_url=bed.settings.slack_api_url)
    slack.reactions_add(channel=ch, timestamp=ts, name="pushpin")
    assert deliver(bed, unpin_event(bed, ch, ts, "alice", bob)).status_code == 200
    assert len(pins(bed)) == 1
    slack.reactions_remove(channel=ch, timestamp=ts, name="pushpin")

    removed = deliver(bed, unpin_event(bed, ch, ts, "alice", bob), event_id="Ev-UNPIN-2")
    assert removed.status_code == 200
    assert not pins(bed)
    [withdrawn] = pins(bed, withdrawn=True)
    assert withdrawn["withdrawn_at"] is not None
    assert bed.driver.retry(removed, retry_num=1).status_code == 200
    # the timeline command no longer shows it; a new 📌 brings it back
    deliver(bed, pin_event(bed, ch, ts, "carol", bob))
    assert len(pins(bed)) == 1 and len(pins(bed, withdrawn=True)) == 1


def test_thread_reply_and_deleted_message(bed: Testbed) -> None:
    inc = declared(bed)
    ch, bob, carol = inc["channel_id"], bed.people["bob"], bed.people["carol"]
    parent = bed.emulator.add_message(ch, bob, "investigating the DB")
    reply = bed.emulator.add_message(ch, carol, "found it: vacuum stuck", thread_ts=parent)
    deliver(bed, pin_event(bed, ch, reply, "alice", carol))
    deliver(bed, pin_event(bed, ch, "1.000001", "alice", bob))  # a message deleted since
    got = {p["data"]["ts"]: p for p in pins(bed)}
    assert got[reply]["text"] == "found it: vacuum stuck" and got[reply]["actor"] == carol
    assert got["1.000001"]["text"] is None and got["1.000001"]["data"]["missing"] is True


def test_joins_become_participants_once(bed: Testbed) -> None:
    inc = declared(bed)
    ch, dave = inc["channel_id"], bed.people["dave"]
    joined = {
        "type": "member_joined_channel",
        "user": dave,
        "channel": ch,
        "channel_type": "C",
        "inviter": bed.people["alice"],
    }
    first = deliver(bed, joined, event_id="Ev-JOIN-1")
    assert first.status_code == 200
    bed.driver.retry(first, retry_num=1)
    deliver(bed, {**joined, "user": bed.people["alice"]})
    deliver(bed, {**joined, "user": bed.emulator.config.bot_user_id})  # the bot itself
    deliver(bed, {**joined, "channel": bed.emulator.channel_by_name("general").id})
    people = bed.rows("SELECT user_id, role FROM participants ORDER BY id")
    assert people == [
        {"user_id": dave, "role": "responder"},
        {"user_id": bed.people["alice"], "role": "commander"},
    ]
    joins = events(bed, "participant")
    assert [e["actor"] for e in joins] == [dave, bed.people["alice"]]
    assert joins[0]["data"]["inviter"] == bed.people["alice"]


def test_postgres_down_answers_500_and_the_redelivery_is_stored(bed: Testbed) -> None:
    inc = declared(bed)
    ch, bob = inc["channel_id"], bed.people["bob"]
    ts = bed.emulator.add_message(ch, bob, "the primary is back")
    joined = {
        "type": "member_joined_channel",
        "user": bed.people["erin"],
        "channel": ch,
        "channel_type": "C",
    }
    bed.pg.stop()
    try:
        failed_pin = deliver(bed, pin_event(bed, ch, ts, "alice", bob), event_id="Ev-DOWN-1")
        failed_join = deliver(bed, joined, event_id="Ev-DOWN-2")
        assert failed_pin.status_code >= 500
        assert failed_join.status_code >= 500
    finally:
        bed.pg.start()
    bed.wait_for(lambda: _reachable(bed), timeout=15)
    assert not pins(bed)
    assert bed.driver.retry(failed_pin, retry_num=1, reason="http_error").status_code == 200
    assert bed.driver.retry(failed_join, retry_num=1, reason="http_error").status_code == 200
    assert bed.driver.retry(failed_pin, retry_num=2, reason="http_error").status_code == 200
    [pin] = pins(bed)
    assert pin["text"] == "the primary is back"
    assert len(events(bed, "participant")) == 1


def _reachable(bed: Testbed) -> bool:
    try:
        bed.rows("SELECT 1")
    except Exception:
        return False
    return True


def _postmortem(bed: Testbed, number: int, path: str) -> httpx.Response:
    token = link_signer(bed.services).token(
        str(number), bed.services.clock.now() + timedelta(hours=1)
    )
    resp = httpx.get(f"{bed.url}{path}", params={"t": token})
    assert resp.status_code == 200
    return resp


def test_pinned_text_reads_as_its_author_wrote_it(bed: Testbed) -> None:
    """Slack sends `<` `>` `&` escaped and people as `<@U…>`: stored decoded once, the person
    named when the post-mortem is rendered, and each format escapes it once for itself."""
    inc = declared(bed)
    ch, bob, carol = inc["channel_id"], bed.people["bob"], bed.people["carol"]
    slack_text = f"error rate &lt; 1% &amp; falling, ask <@{carol}> &amp;lt;sic&amp;gt;"
    ts = bed.emulator.add_message(ch, bob, slack_text)
    assert deliver(bed, pin_event(bed, ch, ts, "alice", bob)).status_code == 200

    [pin] = pins(bed)
    assert pin["text"] == f"error rate < 1% & falling, ask <@{carol}> &lt;sic&gt;"
    assert pin["data"]["text_format"] == "plain"

    n = inc["number"]
    doc = _postmortem(bed, n, f"/api/incidents/{n}").json()
    [entry] = [e for e in doc["timeline"] if e["kind"] == "pinned"]
    assert entry["text"].startswith(f"📌 error rate < 1% & falling, ask <@{carol}> &lt;sic&gt;")
    assert doc["names"][carol] == "carol"

    md = _postmortem(bed, n, f"/postmortems/{n}.md").text
    said = "error rate &lt; 1% &amp; falling, ask @carol &amp;lt;sic&amp;gt;"  # Markdown: once
    assert f"📌 {said}" in md and "&amp;lt; 1%" not in md

    html = _postmortem(bed, n, f"/postmortems/{n}").text
    assert "📌 error rate &lt; 1% &amp; falling, ask " in html
    assert ">@carol</span> &amp;lt;sic&amp;gt;" in html
    assert "&amp;lt; 1%" not in html and "&amp;amp;" not in html


def test_a_rate_limited_or_failing_lookup_is_retried_as_slack_asks(bed: Testbed) -> None:
    """The 📌's message lookup (a read, taken straight through aiohttp when Slack answers
    200) waits Retry-After on a 429 and retries a 503, then stores the 📌 once."""
    inc = declared(bed)
    ch, bob = inc["channel_id"], bed.people["bob"]
    ts = bed.emulator.add_message(ch, bob, "error rate < 1% & falling")
    bed.emulator.fail("conversations.history", error="ratelimited", retry_after=1, times=1)
    assert deliver(bed, pin_event(bed, ch, ts, "alice", bob)).status_code == 200
    calls = bed.emulator.calls("conversations.history")
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].time - calls[0].time >= 0.9  # Retry-After: 1 was honoured
    [pin] = pins(bed)
    assert pin["text"] == "error rate < 1% & falling"

    ts2 = bed.emulator.add_message(ch, bob, "second finding")
    bed.emulator.fail("conversations.history", status=503, times=1)
    assert deliver(bed, pin_event(bed, ch, ts2, "alice", bob)).status_code == 200
    assert [c.status for c in bed.emulator.calls("conversations.history")][2:] == [503, 200]
    assert sorted(p["text"] for p in pins(bed)) == ["error rate < 1% & falling", "second finding"]
