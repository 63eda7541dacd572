"""`statuspage` checks (issue 15 B): the providers a service depends on are read from their
Atlassian Statuspage `summary.json` (a local server here) with the other checks; a page that
is slow, unreachable or malformed is "unknown", never ok."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from warroom_sandbox.testbed import Testbed

from bot.adapters.catalog.model import Catalog, Service
from bot.adapters.catalog.status_pages import StatusPage
from bot.adapters.catalog.store import CatalogStore
from tests.e2e.test_declare import setup_finished


def summary(indicator: str, components: list[tuple[str, str]], incidents: list[dict]) -> dict:
    """The shape status.stripe.com/api/v2/summary.json has (trimmed)."""
    return {
        "page": {"id": "x", "name": "Provider", "url": "https://status.example.com"},
        "components": [
            {"id": f"c{i}", "name": n, "status": s, "group": False, "position": i}
            for i, (n, s) in enumerate(components)
        ],
        "incidents": incidents,
        "scheduled_maintenances": [],
        "status": {"indicator": indicator, "description": "x"},
    }


PAGES: dict[str, Any] = {
    "/stripe/api/v2/summary.json": summary(
        "minor",
        [("Payments API", "degraded_performance"), ("Dashboard", "operational")],
        [
            {
                "name": "Elevated API errors",
                "status": "investigating",
                "impact": "minor",
                "created_at": "2026-12-02T09:12:31.000Z",
            }
        ],
    ),
    "/github/api/v2/summary.json": summary("none", [("Git Operations", "operational")], []),
    "/down/api/v2/summary.json": summary("critical", [("Everything", "major_outage")], []),
    "/broken/api/v2/summary.json": b"<html>maintenance</html>",
    "/slow/api/v2/summary.json": "SLOW",
}
HITS: dict[str, int] = {}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        HITS[self.path] = HITS.get(self.path, 0) + 1
        body = PAGES.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        if body == "SLOW":
            time.sleep(2.0)
            body = summary("none", [], [])
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        try:
            self.wfile.write(raw)
        except OSError:
            pass

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def pages() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    HITS.clear()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def catalog(base: str) -> Catalog:
    def page(name: str, label: str, **kw: Any) -> StatusPage:
        return StatusPage(name=name, label=label, url=f"{base}/{name}", **kw)

    return Catalog(
        services=[
            Service(
                name="checkout",
                health_url=f"{base}/health",
                depends_on=["stripe", "github", "slow", "broken", "down", "nowhere"],
            ),
            Service(name="search", health_url=f"{base}/health", depends_on=["stripe"]),
        ],
        status_pages=[
            page("stripe", "Stripe", components=["Payments API"]),
            page("github", "GitHub"),
            page("slow", "SlowCo", timeout_s=0.5),
            page("broken", "Broken"),
            page("down", "DownCo"),
            StatusPage(name="nowhere", label="Nowhere", url="http://127.0.0.1:9", timeout_s=1),
        ],
    )


def test_status_pages_run_with_the_checks(bed: Testbed, pages: str) -> None:
    bed.services.catalog = CatalogStore.of(catalog(pages))
    alice = bed.people["alice"]
    general = bed.emulator.channel_by_name("general").id
    bed.driver.command("declare SEV2 Payments failing", user_id=alice, channel_id=general)
    inc = bed.wait_for(lambda: setup_finished(bed), timeout=20)
    channel = inc["channel_id"]

    started = time.monotonic()
    bed.driver.command("check", user_id=alice, channel_id=channel)
    posted = bed.wait_for(
        lambda: next(
            (m.text for m in bed.emulator.messages(channel) if "Status checks" in m.text), None
        ),
        timeout=20,
    )
    assert time.monotonic() - started < 8  # the slow page does not hold the reply

    lines = posted.splitlines()

    def line(service: str, label: str) -> str:
        [found] = [x for x in lines if f"{service} · statuspage · {label}:" in x]
        return found

    assert line("checkout", "Stripe").startswith("⚠️")
    assert "Stripe: minor — Payments API degraded (since 09:12 UTC)" in line("checkout", "Stripe")
    assert line("checkout", "GitHub").startswith("✅")
    assert "GitHub: none — all systems operational" in line("checkout", "GitHub")
    assert line("checkout", "DownCo").startswith("❌")
    assert "Everything major outage" in line("checkout", "DownCo")
    slow = line("checkout", "SlowCo")
    assert slow.startswith("❔") and "timed out after 0.5 s" in slow
    broken = line("checkout", "Broken")
    assert broken.startswith("❔") and "not a status page" in broken
    nowhere = line("checkout", "Nowhere")
    assert nowhere.startswith("❔") and "connection refused" in nowhere
    assert line("search", "Stripe").startswith("⚠️")
    # one read per page and run, however many services depend on it
    assert HITS["/stripe/api/v2/summary.json"] == 1
    assert "3 unknown" in lines[0]

    [event] = bed.rows("SELECT data FROM timeline_events WHERE kind = 'check'")
    by_label = {
        r["reason"].split(":")[0]: r["status"]
        for r in event["data"]["results"]
        if r["check"] == "statuspage" and r["service"] == "checkout"
    }
    assert by_label == {
        "Stripe": "warn",
        "GitHub": "ok",
        "SlowCo": "unknown",
        "Broken": "unknown",
        "DownCo": "fail",
        "Nowhere": "unknown",
    }


def test_check_of_a_service_without_dependencies_reads_no_page(bed: Testbed, pages: str) -> None:
    cat = catalog(pages)
    cat = cat.model_copy(
        update={"services": [*cat.services, Service(name="plain", health_url=f"{pages}/health")]}
    )
    bed.services.catalog = CatalogStore.of(cat)
    alice = bed.people["alice"]
    general = bed.emulator.channel_by_name("general").id
    bed.driver.command("declare SEV3 Slow pages", user_id=alice, channel_id=general)
    inc = bed.wait_for(lambda: setup_finished(bed), timeout=20)
    bed.driver.command("check plain", user_id=alice, channel_id=inc["channel_id"])
    posted = bed.wait_for(
        lambda: next(
            (m.text for m in bed.emulator.messages(inc["channel_id"]) if "Status checks" in m.text),
            None,
        ),
        timeout=20,
    )
    assert "statuspage" not in posted
    assert not any(k.endswith("summary.json") for k in HITS)
