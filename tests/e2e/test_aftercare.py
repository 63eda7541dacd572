"""The 30 minutes after resolution (runbook 003): the service's checks run every interval,
a failure offers *Reopen* once, a clean window says so once, on one replica or two."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from warroom_sandbox.testbed import Testbed
from warroom_sandbox.testbed_second import start_second_app

from bot.adapters.catalog.model import Catalog, Service
from bot.adapters.catalog.store import CatalogStore
from bot.flows.aftercare.loop import Watch
from bot.services import Services
from tests.e2e import loop_rounds
from tests.e2e.test_lifecycle import declared, events, incident, incidents_channel_texts

TICK_S = 0.05
STEP = timedelta(minutes=5, seconds=1)


class Health:
    """A health endpoint whose answer the test switches."""

    def __init__(self) -> None:
        self.healthy = True
        health = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status = "healthy" if health.healthy else "degraded"
                body = json.dumps({"status": status}).encode()
                self.send_response(200 if health.healthy else 503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/health"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def catalog(health: Health) -> CatalogStore:
    return CatalogStore.of(Catalog(services=[Service(name="web", health_url=health.url)]))


@pytest.fixture
def watched(bed: Testbed) -> Iterator[tuple[Testbed, Health]]:
    health = Health()
    s = bed.settings
    old = (s.reminder_interval_s, s.warroom_watch_window_min, s.warroom_watch_interval_min)
    s.reminder_interval_s, s.warroom_watch_window_min, s.warroom_watch_interval_min = (
        TICK_S,
        30,
        5,
    )
    bed.services.catalog = catalog(health)
    yield bed, health
    s.reminder_interval_s, s.warroom_watch_window_min, s.warroom_watch_interval_min = old
    health.stop()


def settle(*services: Services, at_least_s: float = 0.3) -> None:
    """Several whole aftercare ticks of every replica named: no round is due to come."""
    loop_rounds.settle("aftercare", *services, at_least_s=at_least_s)


def resolve(bed: Testbed, inc: dict, who: str = "alice") -> None:
    user, ch = bed.people[who], inc["channel_id"]

    def forms() -> list:
        return [v for v in bed.emulator.views() if v.callback_id == "incident_resolve_view"]

    before = len(forms())
    bed.driver.block_action(
        "incident_resolve",
        str(inc["number"]),
        user_id=user,
        channel_id=ch,
        message_ts=inc["card_ts"],
    )
    view = bed.wait_for(lambda: len(forms()) > before and forms())[-1]
    bed.driver.view_submission(
        view.callback_id, {"summary": {"value": "Rolled back"}}, user_id=user, view_id=view.id
    )
    bed.wait_for(lambda: incident(bed, inc["number"])["status"] == "resolved")


def watch_checks(bed: Testbed) -> list[dict]:
    return [e for e in events(bed, "check") if "watch" in e["data"]]


def failures(bed: Testbed, ch: str) -> list:
    return [m for m in bed.emulator.messages(ch) if "min after resolution, a check" in m.text]


def passed(bed: Testbed, ch: str) -> list[str]:
    return [m.text for m in bed.emulator.messages(ch) if "all checks passed" in m.text]


def step_through(bed: Testbed, rounds: int) -> None:
    for n in range(1, rounds + 1):
        bed.clock.advance(timedelta(minutes=5))
        bed.wait_for(lambda n=n: len(watch_checks(bed)) >= n, timeout=10)


def test_a_failure_after_resolution_offers_reopen_once(watched: tuple[Testbed, Health]) -> None:
    bed, health = watched
    inc = declared(bed, title="Web is down --service web")
    ch, alice = inc["channel_id"], bed.people["alice"]
    resolve(bed, inc)
    bed.clock.advance(STEP)
    [first] = bed.wait_for(lambda: watch_checks(bed), timeout=10)
    assert first["data"]["watch"] == {"round": 1, "of": 6, "failed": False}
    assert first["dedupe_key"].startswith("watch:1:") and first["dedupe_key"].endswith(":1")
    settle(bed.services)
    assert not failures(bed, ch) and not passed(bed, ch)

    health.healthy = False
    bed.clock.advance(timedelta(minutes=5))
    [msg] = bed.wait_for(lambda: failures(bed, ch), timeout=10)
    assert msg.text.startswith("⚠️ 10 min after resolution, a check of `web` failed")
    assert f"<@{alice}>" in msg.text
    [actions] = [b for b in msg.blocks if b["type"] == "actions"]
    [button] = actions["elements"]
    assert button["action_id"] == "aftercare_reopen" and button["value"] == "1"
    assert button["confirm"]["confirm"]["text"] == "Reopen"
    [record] = events(bed, "aftercare")
    assert record["data"]["outcome"] == "failed"
    bed.clock.advance(timedelta(minutes=25))
    settle(bed.services)
    assert len(failures(bed, ch)) == 1 and len(events(bed, "aftercare")) == 1
    assert len(watch_checks(bed)) == 2

    # carol may not reopen (the default: commander, reporter, responders)
    bed.driver.block_action(
        "aftercare_reopen", "1", user_id=bed.people["carol"], channel_id=ch, message_ts=msg.ts
    )
    bed.wait_for(lambda: events(bed, "denied"))
    assert incident(bed)["status"] == "resolved"

    # a double click reopens once
    for _ in range(2):
        bed.driver.block_action(
            "aftercare_reopen", "1", user_id=alice, channel_id=ch, message_ts=msg.ts
        )
    bed.wait_for(lambda: incident(bed)["status"] == "mitigating")
    settle(bed.services, at_least_s=1.0)  # and the second click's post-ack work
    row = incident(bed)
    assert row["resolved_at"] is None and row["status"] == "mitigating"
    [reopened] = events(bed, "reopened")
    assert reopened["actor"] == alice and reopened["data"]["after"] == "mitigating"
    said = [m.text for m in bed.emulator.messages(ch) if m.text.startswith("↩️")]
    assert len(said) == 1 and f"<@{row['commander_id']}>" in said[0]
    assert [t for t in incidents_channel_texts(bed) if "reopened" in t]
    card = bed.emulator.message(ch, inc["card_ts"])
    assert card is not None
    ids = {e.get("action_id") for b in card.blocks if b["type"] == "actions" for e in b["elements"]}
    assert "incident_resolve" in ids  # open again: the buttons are back


def test_a_clean_window_is_said_once(watched: tuple[Testbed, Health]) -> None:
    bed, _ = watched
    inc = declared(bed, title="Web is slow --service web")
    ch = inc["channel_id"]
    resolve(bed, inc)
    step_through(bed, 6)
    [text] = bed.wait_for(lambda: passed(bed, ch))
    assert text == "✅ 30 min after resolution: all checks passed (`web`)."
    bed.clock.advance(timedelta(minutes=20))
    settle(bed.services)
    assert len(passed(bed, ch)) == 1 and not failures(bed, ch)
    [record] = events(bed, "aftercare")
    assert record["data"]["outcome"] == "passed"
    assert record["text"] == "30 min after resolution: all checks passed"
    assert [e["data"]["watch"]["round"] for e in watch_checks(bed)] == [1, 2, 3, 4, 5, 6]


def test_two_replicas_watch_once(watched: tuple[Testbed, Health]) -> None:
    bed, health = watched
    second = start_second_app(bed)
    second.services.catalog = catalog(health)
    try:
        inc = declared(bed, title="Web again --service web")
        ch = inc["channel_id"]
        resolve(bed, inc)
        step_through(bed, 6)
        bed.wait_for(lambda: passed(bed, ch))
        settle(bed.services, second.services)
        assert len(passed(bed, ch)) == 1
        assert len(watch_checks(bed)) == 6 and len(events(bed, "aftercare")) == 1
    finally:
        second.stop()


def test_no_service_no_watch(watched: tuple[Testbed, Health]) -> None:
    bed, _ = watched
    inc = declared(bed, title="Something odd")
    resolve(bed, inc)
    bed.clock.advance(timedelta(minutes=31))
    settle(bed.services)
    assert not watch_checks(bed) and not events(bed, "aftercare")


def test_rounds_and_missed_rounds() -> None:
    from datetime import UTC, datetime

    t0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    w = Watch(timedelta(minutes=30), timedelta(minutes=5))
    assert w.rounds == 6
    assert w.latest_due(t0, t0 + timedelta(minutes=4)) == 0
    assert w.latest_due(t0, t0 + timedelta(minutes=5)) == 1
    assert w.latest_due(t0, t0 + timedelta(minutes=29)) == 5
    assert w.latest_due(t0, t0 + timedelta(minutes=45)) == 6
    odd = Watch(timedelta(minutes=7), timedelta(minutes=5))
    assert odd.rounds == 2 and odd.due_at(t0, 2) == t0 + timedelta(minutes=7)
