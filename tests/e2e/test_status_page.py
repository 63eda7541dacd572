"""The public status page over HTTP: `/status`, `/status/feed.atom`, `/status.json`. Public
updates appear, nothing else does (titles, notes, plain updates, private incidents), hostile
text stays text, caching answers 304, and a real headless Chromium shows the update."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET

import httpx
import pytest
from warroom_sandbox.testbed import Testbed

from tests.e2e.test_declare import setup_finished
from tests.e2e.test_postmortem_web import CHROMIUM, CHROMIUM_ARGS, _playwright
from tests.e2e.test_stakeholders import _catalog

ATOM = "{http://www.w3.org/2005/Atom}"
HOSTILE = "<script>alert(1)</script> payments & refunds"
PUBLIC = "Card payments are failing for some customers"


def _declare(bed: Testbed, text: str, number: int) -> dict:
    general = bed.emulator.channel_by_name("general").id
    bed.driver.command(text, user_id=bed.people["alice"], channel_id=general)
    return bed.wait_for(lambda: setup_finished(bed, number))


def _events(bed: Testbed, kind: str) -> int:
    return len(bed.rows("SELECT 1 FROM timeline_events WHERE kind = :k", k=kind))


@pytest.fixture
def scene(bed: Testbed) -> Testbed:
    """#1 checkout (public updates, hostile text, a plain update, a note); #2 with no service
    and a public update, made private; #3 with no service, open, nothing public."""
    bed.emulator.add_channel("exec-updates")
    bed.emulator.add_channel("payments-stake")
    _catalog(bed)
    alice = bed.people["alice"]
    one = _declare(bed, "declare SEV1 Secret title one --service checkout", 1)
    ch = one["channel_id"]
    bed.driver.command(f"update --public {PUBLIC}", user_id=alice, channel_id=ch)
    bed.driver.command(f"update --public {HOSTILE}", user_id=alice, channel_id=ch)
    bed.driver.command("update internal chatter zebra", user_id=alice, channel_id=ch)
    bed.driver.command("note secret note giraffe", user_id=alice, channel_id=ch)
    two = _declare(bed, "declare SEV2 Hidden security thing", 2)
    bed.driver.command("update --public vault words", user_id=alice, channel_id=two["channel_id"])
    bed.wait_for(lambda: _events(bed, "update") == 4 and _events(bed, "note") == 1)
    with bed._sync_engine.begin() as conn:
        conn.exec_driver_sql("UPDATE incidents SET private = true WHERE number = 2")
    _declare(bed, "declare SEV3 Secret title three", 3)
    return bed


def test_html_shows_public_updates_only_escaped_and_cacheable(scene: Testbed) -> None:
    resp = httpx.get(f"{scene.url}/status")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert resp.headers["cache-control"] == "public, max-age=30"
    assert resp.headers["etag"] and resp.headers["last-modified"]
    assert "script-src" not in resp.headers["content-security-policy"]
    html = resp.text
    assert PUBLIC in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; payments &amp; refunds" in html
    assert "<script" not in html
    for never in ("Secret title", "zebra", "giraffe", "vault words", "Hidden security"):
        assert never not in html
    assert 'id="incident-1"' in html and 'id="incident-3"' in html
    assert 'id="incident-2"' not in html
    assert "Some services are affected" in html

    again = httpx.get(f"{scene.url}/status", headers={"If-None-Match": resp.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == resp.headers["etag"]
    since = httpx.get(
        f"{scene.url}/status", headers={"If-Modified-Since": resp.headers["last-modified"]}
    )
    assert since.status_code == 304
    stale = httpx.get(f"{scene.url}/status", headers={"If-None-Match": '"nope"'})
    assert stale.status_code == 200


def test_json_shape(scene: Testbed) -> None:
    resp = httpx.get(f"{scene.url}/status.json")
    assert resp.status_code == 200 and resp.headers["cache-control"] == "public, max-age=30"
    data = resp.json()
    assert set(data) == {"updated_at", "services", "current", "resolved"}
    assert {s["name"]: s["status"] for s in data["services"]} == {
        "checkout": "degraded",
        "other": "degraded",
    }
    assert [i["id"] for i in data["current"]] == [3, 1]
    one = data["current"][1]
    assert one["service"] == "checkout" and one["severity"] == "SEV1"
    assert one["status"] == "investigating" and one["resolved_at"] is None
    assert [u["text"] for u in one["updates"]] == [HOSTILE, PUBLIC]  # newest first
    assert data["current"][0]["service"] == "other" and data["current"][0]["updates"] == []
    assert data["resolved"] == []
    for never in ("Secret title", "zebra", "giraffe", "vault words", "U0", "title"):
        assert never not in resp.text
    assert (
        httpx.get(
            f"{scene.url}/status.json", headers={"If-None-Match": resp.headers["etag"]}
        ).status_code
        == 304
    )


def test_atom_feed_parses_and_resolution_moves_to_resolved(scene: Testbed) -> None:
    alice = scene.people["alice"]
    three = scene.rows("SELECT channel_id FROM incidents WHERE number = 3")[0]["channel_id"]
    before = httpx.get(f"{scene.url}/status/feed.atom")
    asked = scene.driver.command("resolve fixed it internally", user_id=alice, channel_id=three)
    from tests.e2e.test_lifecycle import _confirm_payload

    message, value = _confirm_payload(asked)
    scene.driver.block_action(
        "incident_resolve_confirm", value, user_id=alice, channel_id=three, message=message
    )
    scene.wait_for(lambda: _events(scene, "resolved") == 1)

    resp = httpx.get(
        f"{scene.url}/status/feed.atom", headers={"If-None-Match": before.headers["etag"]}
    )
    assert resp.status_code == 200  # the content changed, so did the ETag
    assert resp.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(resp.content)
    assert feed.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{tag}") is not None
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 2
    for entry in entries:
        for tag in ("id", "title", "updated", "content"):
            assert entry.find(f"{ATOM}{tag}") is not None
    contents = " ".join(e.findtext(f"{ATOM}content") or "" for e in entries)
    assert PUBLIC in contents and HOSTILE in contents
    assert "fixed it internally" not in resp.text and "Secret title" not in resp.text
    titles = [e.findtext(f"{ATOM}title") for e in entries]
    assert "other: Degraded performance (resolved)" in titles
    data = httpx.get(f"{scene.url}/status.json").json()
    assert [i["id"] for i in data["resolved"]] == [3]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_status_page_in_headless_chromium(scene: Testbed) -> None:
    url = f"{scene.url}/status"
    sync_playwright = _playwright()
    if sync_playwright is None:
        dom = subprocess.run(
            [CHROMIUM, *CHROMIUM_ARGS, "--dump-dom", url],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        assert PUBLIC in dom
        assert "&lt;script&gt;alert(1)" in dom and "<script" not in dom
        assert "Secret title" not in dom
        return
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(url, wait_until="load")
            assert PUBLIC in page.locator("#incident-1").inner_text()
            assert page.locator("script").count() == 0
        finally:
            browser.close()
