"""The post-mortem pages and API over real HTTP (uvicorn on a free port): signed links and the
API token, escaping and CSP, editing a section by form POST (kept across regeneration and
archived to moto's S3), the list with its trend charts, and a real Chromium rendering it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from starlette.applications import Starlette

from bot.adapters.links import ALL, LinkSigner
from bot.flows.postmortem.links import link_signer
from bot.services import Services
from bot.web.html import CSP
from bot.web.routes import postmortem_routes
from incident import event_kinds as K
from incident import timeline
from tests.e2e.postmortem_support import (
    DBA,
    IC,
    LoopThread,
    Scripted,
    Served,
    at,
    embedded_postgres,
    make_services,
    script_incident,
    serve,
)

API_TOKEN = "api-token-for-tests"
BUCKET = "warroom-web-archive"
XSS_TITLE = "<script>alert(1)</script> Checkout down"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def loop() -> Iterator[LoopThread]:
    lt = LoopThread()
    yield lt
    lt.stop()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with embedded_postgres() as url:
        yield url


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    keys = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(dict(zip(keys, ("testing", "testing", "us-east-1"), strict=True)))
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def services(loop: LoopThread, pg_url: str, s3_endpoint: str) -> Iterator[Services]:
    settings = {
        "warroom_api_token": API_TOKEN,
        "warroom_web_secret": "web-secret-for-tests",
        "postmortem_s3_bucket": BUCKET,
        "s3_endpoint_url": s3_endpoint,
    }
    s = make_services(pg_url, settings=settings)
    yield s
    loop.run(s.engine.dispose())


@pytest.fixture(scope="session")
def server(loop: LoopThread, services: Services) -> Iterator[Served]:
    served = loop.run(serve(Starlette(routes=postmortem_routes(services))))
    services.settings.public_url = served.url  # links point at this server
    yield served
    loop.run(served.stop())


@pytest.fixture(scope="session")
def http(server: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=20) as client:
        yield client


@pytest.fixture(scope="session")
def incident(loop: LoopThread, services: Services) -> Scripted:
    async def go() -> Scripted:
        async with services.transaction() as session:
            return await script_incident(session, key="web-main")

    return loop.run(go())


@pytest.fixture(scope="session")
def xss_incident(loop: LoopThread, services: Services) -> Scripted:
    async def go() -> Scripted:
        async with services.transaction() as session:
            return await script_incident(session, title=XSS_TITLE, key="web-xss")

    return loop.run(go())


def token_for(services: Services, scope: str, *, hours: float = 1, user: str | None = None) -> str:
    expires = datetime.now(UTC) + timedelta(hours=hours)
    return link_signer(services).token(scope, expires, user=user)


def assert_secure(resp: httpx.Response) -> None:
    assert resp.headers["content-security-policy"] == CSP
    assert resp.headers["referrer-policy"] == "no-referrer"
    assert resp.headers["x-content-type-options"] == "nosniff"


# --- access -----------------------------------------------------------------------------------


def test_pages_open_only_with_a_valid_link(
    http: httpx.Client, services: Services, incident: Scripted
) -> None:
    n = incident.number
    missing = http.get(f"/postmortems/{n}")
    assert missing.status_code == 401 and missing.headers["content-type"].startswith("text/html")
    assert "needs a link from Slack" in missing.text
    assert_secure(missing)

    good = token_for(services, str(n))
    tampered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    assert http.get(f"/postmortems/{n}", params={"t": tampered}).status_code == 403
    other = SignerFromElsewhere.token(str(n))
    assert http.get(f"/postmortems/{n}", params={"t": other}).status_code == 403
    expired = token_for(services, str(n), hours=-1)
    resp = http.get(f"/postmortems/{n}", params={"t": expired})
    assert resp.status_code == 403 and "expired" in resp.text
    wrong = token_for(services, str(n + 1000))
    assert http.get(f"/postmortems/{n}", params={"t": wrong}).status_code == 403

    ok = http.get(f"/postmortems/{n}", params={"t": good})
    assert ok.status_code == 200
    assert_secure(ok)
    html = ok.text
    assert f"Incident #{n}: Checkout returns 500s" in html
    for fragment in ("TTA <b>4m</b>", "TTM <b>22m</b>", "TTR <b>1h 30m</b>", "aria-labelledby"):
        assert fragment in html
    assert "All post-mortems" not in html  # an incident link does not open the list
    assert "<script" not in html.lower()


class SignerFromElsewhere:
    """A link signed with another secret (another deployment, a forger)."""

    @staticmethod
    def token(scope: str) -> str:
        signer = LinkSigner(b"some other secret", "http://elsewhere")
        return signer.token(scope, datetime.now(UTC) + timedelta(hours=1))


def test_api_json_with_token_and_json_errors(
    http: httpx.Client, services: Services, incident: Scripted
) -> None:
    n = incident.number
    missing = http.get(f"/api/incidents/{n}")
    assert missing.status_code == 401
    assert missing.json()["error"] == "token_missing"
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = http.get(f"/api/incidents/{n}", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403 and wrong.json()["error"] == "token_invalid"
    basic = http.get(f"/api/incidents/{n}", headers={"Authorization": "Basic abc"})
    assert basic.status_code == 403 and basic.headers["content-type"] == "application/json"
    expired = http.get(f"/api/incidents/{n}", params={"t": token_for(services, str(n), hours=-1)})
    assert expired.status_code == 403 and expired.json()["error"] == "token_expired"

    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    resp = http.get(f"/api/incidents/{n}", headers=auth)
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/json"
    doc = resp.json()
    assert doc["number"] == n and doc["durations"]["ttm"]["seconds"] == 22 * 60
    assert doc["review"]["due_at"] == "2026-11-27T10:30:00+00:00"
    assert doc["names"]["USRE"] == "sam"  # looked up in Slack (the stand-in)
    via_link = http.get(f"/api/incidents/{n}", params={"t": token_for(services, str(n))})
    assert via_link.status_code == 200
    gone = http.get("/api/incidents/999999", headers=auth)
    assert gone.status_code == 404 and gone.json() == {
        "error": "not_found",
        "message": "There is no incident #999999.",
    }
    huge = http.get("/api/incidents/99999999999999999999", headers=auth)  # past Postgres' int
    assert huge.status_code == 404 and "no such incident" in huge.json()["message"]


def test_markdown_download(http: httpx.Client, services: Services, incident: Scripted) -> None:
    n = incident.number
    assert http.get(f"/postmortems/{n}.md").status_code == 401
    resp = http.get(f"/postmortems/{n}.md", params={"t": token_for(services, str(n))})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/markdown")
    assert resp.text.startswith(f"# Post-mortem: incident #{n} — Checkout returns 500s")
    assert "| Resolved | 2026-11-20 10:30 UTC (TTR 1h 30m) |" in resp.text


def test_list_with_filters_and_trend_charts(
    http: httpx.Client, services: Services, incident: Scripted, xss_incident: Scripted
) -> None:
    assert http.get("/postmortems").status_code == 401
    scoped = token_for(services, str(incident.number))
    assert http.get("/postmortems", params={"t": scoped}).status_code == 403
    everything = token_for(services, ALL)
    resp = http.get("/postmortems", params={"t": everything})
    assert resp.status_code == 200
    assert_secure(resp)
    html = resp.text
    assert f"/postmortems/{incident.number}?t=" in html and f"#{xss_incident.number}" in html
    assert "Mean time to acknowledge" in html and "Mean time to resolve" in html
    assert html.count("<polyline") >= 2  # one line per severity per chart
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    sev1 = http.get("/postmortems", params={"t": everything, "severity": "SEV1"})
    assert "No incidents match" in sev1.text and "no data in this range" in sev1.text
    dated = http.get(
        "/postmortems", params={"t": everything, "since": "2026-11-20", "until": "2026-11-20"}
    )
    assert f"#{incident.number}</a>" in dated.text
    later = http.get("/postmortems", params={"t": everything, "since": "2026-11-21"})
    assert f"#{incident.number}</a>" not in later.text
    bad = http.get("/postmortems", params={"t": everything, "since": "yesterday"})
    assert bad.status_code == 400
    # The list link opens every post-mortem and links back to the list.
    page = http.get(f"/postmortems/{incident.number}", params={"t": everything})
    assert page.status_code == 200 and "All post-mortems" in page.text


# --- escaping, editing, archive -----------------------------------------------------------------


def post_section(
    http: httpx.Client, number: int, token: str, key: str, body: str, version: str = ""
) -> httpx.Response:
    return http.post(
        f"/postmortems/{number}/sections",
        data={"t": token, "key": key, "version": version, "body": body},
    )


def test_user_text_is_escaped_everywhere(
    http: httpx.Client, services: Services, xss_incident: Scripted
) -> None:
    n = xss_incident.number
    token = token_for(services, str(n), user=DBA)
    resp = post_section(http, n, token, "contributing_factors", '<img src=x onerror="alert(2)">')
    assert resp.status_code == 303
    html = http.get(f"/postmortems/{n}", params={"t": token}).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Checkout down" in html
    assert "<script>" not in html and "<img" not in html
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in html
    md = http.get(f"/postmortems/{n}.md", params={"t": token}).text
    assert "<script>" not in md and "<img" not in md


def test_section_edit_by_form_survives_regeneration_and_is_archived(
    loop: LoopThread, http: httpx.Client, services: Services, s3_endpoint: str
) -> None:
    async def make() -> Scripted:
        async with services.transaction() as session:
            return await script_incident(session, key="web-edit")

    s = loop.run(make())
    n = s.number
    token = token_for(services, str(n), user=IC)
    page = http.get(f"/postmortems/{n}", params={"t": token}).text
    assert 'name="key" value="root_cause"' in page

    assert post_section(http, n, "", "root_cause", "x").status_code == 401
    other = token_for(services, str(n + 1000))
    assert post_section(http, n, other, "root_cause", "x").status_code == 403
    assert post_section(http, n, token, "no_such_section", "x").status_code == 400

    resp = post_section(http, n, token, "root_cause", "Pool of 10 connections; 1.42 doubled use")
    assert resp.status_code == 303
    assert resp.headers["location"].startswith(f"/postmortems/{n}?t=")
    shown = http.get(resp.headers["location"]).text
    assert "Pool of 10 connections; 1.42 doubled use" in shown and "Saved." in shown
    assert "Written by" in shown

    async def more_events() -> None:
        async with services.transaction() as session:
            await timeline.record(
                session,
                n,
                K.NOTE,
                at=at(120),
                actor=DBA,
                text="Another candidate",
                data={"cause_candidate": True},
            )

    loop.run(more_events())
    doc = http.get(f"/api/incidents/{n}", headers={"Authorization": f"Bearer {API_TOKEN}"}).json()
    root = next(x for x in doc["sections"] if x["key"] == "root_cause")
    assert root["body"] == "Pool of 10 connections; 1.42 doubled use"
    assert (root["generated"], root["edited_by"]) == (False, IC)

    # Saving from a page loaded before that edit is refused, not silently lost.
    stale = post_section(http, n, token, "root_cause", "Older view", version="")
    assert stale.status_code == 409

    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    key = f"postmortems/incident-{n}/postmortem.md"
    deadline = time.monotonic() + 10
    archived = ""
    while time.monotonic() < deadline:
        try:
            archived = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
        except s3.exceptions.NoSuchKey:
            archived = ""
        if "Pool of 10 connections" in archived:
            break
        time.sleep(0.1)
    assert "Pool of 10 connections; 1.42 doubled use" in archived
    archived_json = s3.get_object(Bucket=BUCKET, Key=key.replace(".md", ".json"))["Body"].read()
    assert json.loads(archived_json)["number"] == n


# --- a real browser -------------------------------------------------------------------------------


def _playwright() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    return sync_playwright


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_page_renders_in_chromium_and_no_script_runs(
    http: httpx.Client, services: Services, server: Served, xss_incident: Scripted
) -> None:
    n = xss_incident.number
    token = token_for(services, str(n), user=DBA)
    # A section that tries to run script, on top of the title.
    post_section(http, n, token, "went_badly", "<script>alert(3)</script><b onmouseover=alert(4)>x")
    url = f"{server.url}/postmortems/{n}?t={token}"
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"postmortem-{n}.png"
    sync_playwright = _playwright()
    if sync_playwright is None:
        _check_with_chromium_cli(url, shot)
        return
    problems: list[str] = []
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))

            def on_dialog(d: Any) -> None:
                dialogs.append(d.message)
                d.dismiss()

            page.on("dialog", on_dialog)
            resp = page.goto(url, wait_until="load")
            assert resp is not None and resp.status == 200
            assert page.title().startswith(f"Post-mortem #{n}: <script>")  # shown as text
            heading = page.locator("h1").inner_text()
            assert heading == f"Incident #{n}: {XSS_TITLE}"
            svg = page.locator('svg[aria-labelledby="tl-title"]')
            box = svg.bounding_box()
            assert box is not None and box["width"] > 600 and box["height"] > 150
            assert page.locator("ol.tl li").count() >= 14
            assert page.locator("script").count() == 0
            assert page.locator("#went_badly .body").inner_text().startswith("<script>alert(3)")
            page.locator("#went_badly .body").hover()
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert dialogs == []
    assert problems == []
    assert shot.stat().st_size > 10_000


def _check_with_chromium_cli(url: str, shot: Path) -> None:
    """Without Playwright: Chromium's own --dump-dom and --screenshot, console on stderr."""
    assert CHROMIUM is not None
    base = [CHROMIUM, *CHROMIUM_ARGS, "--enable-logging=stderr", "--v=0"]
    dom = subprocess.run(
        [*base, "--dump-dom", url], capture_output=True, text=True, timeout=60, check=True
    )
    assert "<script" not in dom.stdout.lower().replace("&lt;script", "")
    assert 'aria-labelledby="tl-title"' in dom.stdout
    assert not re.search(r"CONSOLE.*(Uncaught|Refused)", dom.stderr)
    subprocess.run(
        [*base, f"--screenshot={shot}", "--window-size=1200,3000", url],
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert shot.stat().st_size > 10_000
