"""Secrets: after the whole reliability suite (this module's name sorts it last), the
replicas' logs and the session's captured output contain no bot token, signing secret or
database/Redis password.

The check cannot pass by looking at nothing: the scenario first makes the replicas log
(refused signatures, whose bodies Bolt likes to quote; Slack failing; malformed requests;
an unhandled error), then requires request-scoped JSON log lines before searching.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx
import pytest
from warroom_sandbox.slack_driver import FORM, SendOptions
from warroom_sandbox.testbed import BOT_TOKEN, SIGNING_SECRET

from tests.reliability.tally import Tally
from tests.reliability.world import World

# Anything shaped like a Slack token, whoever's it is.
TOKEN_SHAPES = re.compile(r"xox[abposr]-[A-Za-z0-9-]{4,}|xapp-[A-Za-z0-9-]{4,}")


def secrets_of(world: World) -> dict[str, str]:
    """What must never be logged: what the replicas were started with."""
    found = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    for name, url in (
        ("DATABASE_URL", world.bed.pg.url),
        ("REDIS_URL", world.bed.redis_server.url),
    ):
        for key, value in (*_url_password(url), *_query_password(url)):
            found[f"{name} {key}"] = value
    for key in ("SLACK_APP_TOKEN", "SENTRY_DSN"):
        if world.env.get(key):
            found[key] = world.env[key]
    return found


def _url_password(url: str) -> list[tuple[str, str]]:
    password = urlsplit(url).password
    return [("password", unquote(password))] if password else []


def _query_password(url: str) -> list[tuple[str, str]]:
    query = urlsplit(url).query
    return [
        ("password", unquote(v))
        for k, _, v in (part.partition("=") for part in query.split("&"))
        if k.lower() == "password" and v
    ]


def find_secrets(text: str, secrets: dict[str, str]) -> list[str]:
    """Which secrets (by name) appear in `text`, plain or URL-encoded."""
    hits = [
        name
        for name, value in secrets.items()
        if value and (value in text or httpx.QueryParams({"x": value}).get("x") in text)
    ]
    hits += [f"token-shaped {m!r}" for m in sorted(set(TOKEN_SHAPES.findall(text)))]
    return hits


def _request_lines(text: str) -> list[dict]:
    """structlog JSON lines written while handling a request (they carry a trace_id)."""
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("trace_id"):
                out.append(record)
    return out


def _provoke(world: World, trials: int, tally: Tally) -> None:
    """Requests that make the replicas log: each kind, round-robin over both replicas."""
    alice = world.people["alice"]
    general = world.emulator.channel_by_name("general").id
    for i in range(trials):
        driver = world.drivers[i % len(world.drivers)]
        kind = i % 5
        started = time.perf_counter()
        if kind == 0:  # a forged request: Bolt's refusal used to quote the body
            body = f"command=/incident&text=declare+SEV1+{BOT_TOKEN}&user_id={alice}"
            resp = driver.send(body, FORM, opts=SendOptions(bad_signature=True))
            expected = 401
        elif kind == 1:  # stale: replayed after five minutes
            body = f"command=/incident&text=help&user_id={alice}&token={BOT_TOKEN}"
            resp = driver.send(body, FORM, opts=SendOptions(timestamp=int(time.time()) - 400))
            expected = 401
        elif kind == 2:  # malformed and signed: refused with a warning line
            resp = driver.send(b'payload={"type":"block_actions","actions":{}}', FORM)
            expected = 400
        elif kind == 3:  # Slack fails while declaring: warnings and errors with context
            world.emulator.fail("conversations.create", status=500, times=1)
            resp = driver.command(f"declare SEV3 secrets {i}", user_id=alice, channel_id=general)
            expected = 200
        else:  # an incident number beyond Postgres' integer: a database error is logged
            resp = driver.command(
                "timeline 99999999999999999999", user_id=alice, channel_id=general
            )
            expected = 200
        tally.ack_ms.append((time.perf_counter() - started) * 1000)
        tally.trials += 1
        if resp.status_code != expected:
            tally.fail(f"provoking request {kind}: HTTP {resp.status_code}, wanted {expected}")
    time.sleep(1.0)  # let the post-ack work write its lines


def scenario_secrets_in_logs(world: World, trials: int = 20) -> Tally:
    """Provoke `trials` log-worthy requests, then search both replicas' whole logs."""
    tally = Tally("secrets in the replicas' logs")
    secrets = secrets_of(world)
    # the detector itself works (so an empty result means something)
    for name, value in secrets.items():
        if name not in find_secrets(f"prefix {value} suffix", secrets):
            tally.fail(f"the detector misses {name}")
    _provoke(world, trials, tally)
    total = 0
    request_lines = 0
    for path in world.log_files:
        text = Path(path).read_text(errors="replace")
        total += len(text)
        request_lines += len(_request_lines(text))
        for lineno, line in enumerate(text.splitlines(), 1):
            if hits := find_secrets(line, secrets):
                tally.fail(f"{Path(path).name}:{lineno} holds {hits}: {line[:200]!r}")
    if total == 0:
        tally.fail("the replicas' logs are empty")
    if request_lines < trials // 5:
        tally.fail(f"only {request_lines} request log lines: the search looked at too little")
    return tally


def test_no_secret_in_the_replicas_logs(w: World) -> None:
    tally = scenario_secrets_in_logs(w, 20)
    assert tally.clean, tally.summary()
    assert tally.trials == 20


def test_no_secret_in_the_sessions_captured_output(
    request: pytest.FixtureRequest, w: World, capfd: pytest.CaptureFixture[str]
) -> None:
    """What pytest captured from every test run so far in this session (in-process apps,
    clients, the fixtures' own output), as far as the terminal reporter kept it, and what
    this test's own requests to the in-process app print."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        pytest.skip("no terminal reporter (pytest -p no:terminal)")
    secrets = secrets_of(w)
    alice = w.people["alice"]
    general = w.emulator.channel_by_name("general").id
    forged = f"command=/incident&text=declare+SEV1+{BOT_TOKEN}&user_id={alice}"
    assert w.bed.driver.send(forged, FORM, opts=SendOptions(bad_signature=True)).status_code == 401
    w.emulator.fail("conversations.create", status=500, times=1)
    w.bed.driver.command("declare SEV3 captured output", user_id=alice, channel_id=general)
    time.sleep(1.0)
    own = capfd.readouterr()
    assert not find_secrets(own.out + own.err, secrets), own
    seen = len(own.out) + len(own.err)
    for reports in reporter.stats.values():
        for report in reports:
            texts = [content for _, content in getattr(report, "sections", [])]
            texts.append(str(getattr(report, "longreprtext", "") or ""))
            for text in texts:
                seen += len(text)
                hits = find_secrets(text, secrets)
                assert not hits, f"{getattr(report, 'nodeid', report)}: {hits}"
    assert seen > 0, "nothing was captured: the search looked at nothing"
