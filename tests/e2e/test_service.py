"""The server around the Slack endpoint: health, metrics, migrations, settings, the CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from warroom_sandbox.testbed import Testbed

from bot.adapters import db
from bot.adapters.catalog.store import CatalogStore
from bot.adapters.embedded.postgres import EmbeddedPostgres
from bot.adapters.embedded.redis import EmbeddedRedis
from bot.version import VERSION


def test_healthz_healthy(bed: Testbed) -> None:
    resp = httpx.get(bed.url + "/healthz")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "healthy"
    assert body["checks"]["database"]["status"] == "healthy"
    assert body["checks"]["redis"]["status"] == "healthy"
    assert body["version"] and body["timestamp"].endswith("Z")


def test_healthz_unhealthy_when_redis_stops(bed: Testbed) -> None:
    bed.redis_server.stop()
    try:
        resp = httpx.get(bed.url + "/healthz", timeout=10)
        assert resp.status_code == 503
        body = resp.json()
        assert body["status"] == "unhealthy"
        assert body["checks"]["redis"]["status"] == "unhealthy"
        assert body["checks"]["database"]["status"] == "healthy"
    finally:
        bed.redis_server.start()
    bed.wait_for(lambda: httpx.get(bed.url + "/healthz").status_code == 200, timeout=10)


def test_livez_stays_200_while_postgres_is_down(bed: Testbed) -> None:
    """The liveness probe's endpoint: a database outage makes the replica unready (/healthz
    503), never "dead" (/livez 200), so Kubernetes does not restart every replica."""
    assert httpx.get(bed.url + "/livez").json() == {"status": "alive", "version": VERSION}
    bed.pg.stop()
    try:
        assert httpx.get(bed.url + "/healthz", timeout=10).status_code == 503
        resp = httpx.get(bed.url + "/livez", timeout=10)
        assert resp.status_code == 200 and resp.json()["status"] == "alive"
    finally:
        bed.pg.start()
    bed.wait_for(lambda: httpx.get(bed.url + "/healthz").status_code == 200, timeout=20)


def test_metrics_exposes_counters(bed: Testbed) -> None:
    bed.driver.command("help", user_id=bed.people["alice"], channel_id="C1")
    text = httpx.get(bed.url + "/metrics").text
    assert "warroom_slack_requests_total" in text


def test_migrations_upgrade_from_empty(testbed: Testbed) -> None:
    """On a database created empty for the test, in the session's Postgres server (the same
    as a new server's `postgres` database, without initialising one: seconds saved)."""
    name = f"empty_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(testbed.pg.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    url = testbed.pg.url.replace("@/postgres?", f"@/{name}?")
    assert url != testbed.pg.url
    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            assert sa.inspect(conn).get_table_names() == []
        db.upgrade(url)
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        engine.dispose()
        assert {"incidents", "timeline_events", "participants"} <= tables
        assert version
        db.upgrade(url)  # idempotent
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE", "REDIS"))
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/tmp",
    )


def test_missing_setting_stops_start_up_with_one_line() -> None:
    result = _cli("serve", env={})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "SLACK_BOT_TOKEN" in lines[0]


def test_invalid_setting_names_the_variable() -> None:
    result = _cli("serve", env={"PORT": "not-a-port", "SLACK_BOT_TOKEN": "xoxb-1"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warroom: PORT:")


def test_bad_catalog_stops_start_up_with_file_and_line(tmp_path) -> None:
    catalog = tmp_path / "catalog.yml"
    catalog.write_text("services:\n  - name: api\n    health_url: not a url\n")
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "CATALOG_FILE": str(catalog)}
    result = _cli("serve", env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("warroom: CATALOG_FILE:") and f"{catalog}:3" in lines[0]


def test_every_problem_is_named_in_one_line(tmp_path) -> None:
    """Bad variables, a missing secret and a bad catalog: one restart shows them all."""
    catalog = tmp_path / "catalog.yml"
    catalog.write_text("services:\n  - name: api\n    health_url: not a url\n")
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "PORT": "not-a-port",
        "WARROOM_SHUTDOWN_GRACE_S": "-1",
        "CATALOG_FILE": str(catalog),
    }
    result = _cli("serve", env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    for name in ("PORT:", "WARROOM_SHUTDOWN_GRACE_S:", "SLACK_SIGNING_SECRET:"):
        assert name in lines[0]
    assert f"CATALOG_FILE: {catalog}:3: services[0].health_url:" in lines[0]
    assert "xoxb-1" not in lines[0]


def test_healthz_shows_a_stale_catalog_but_stays_up(bed: Testbed, tmp_path) -> None:
    path = tmp_path / "catalog.yml"
    path.write_text(f"services:\n  - name: api\n    health_url: {bed.url}/healthz\n")
    bed.services.catalog = CatalogStore.load(path)
    body = httpx.get(bed.url + "/healthz").json()
    assert body["checks"]["catalog"] == {"status": "healthy", "path": str(path), "services": 1}

    path.write_text("services:\n  - name: api\n    health_url: nope\n")
    assert bed.services.catalog.reload() is False
    resp = httpx.get(bed.url + "/healthz")
    assert resp.status_code == 200 and resp.json()["status"] == "healthy"
    catalog = resp.json()["checks"]["catalog"]
    assert catalog["status"] == "stale" and catalog["error"].startswith(f"{path}:3: ")
    assert bed.services.catalog.current is not None
    assert bed.services.catalog.current.get("api").health_url == f"{bed.url}/healthz"


def _processes_in(directory: Path) -> list[str]:
    """Processes whose working directory is under ``directory``: the embedded Postgres runs
    in its data directory and the embedded Redis in its `dir`."""
    found = []
    for proc in psutil.process_iter(["pid", "name"]):
        try:
            cwd = Path(proc.cwd())
        except (psutil.Error, OSError):
            continue
        if cwd == directory or directory in cwd.parents:
            found.append(f"{proc.info['name']}[{proc.info['pid']}]")
    return found


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """An embedded store's data directory, not under pytest's tmp_path: any pytest session
    starting meanwhile resets /tmp/pytest-of-<user> to mode 0700, and the unprivileged user
    the embedded Postgres runs as (when tests run as root) can then no longer reach it."""
    path = Path(tempfile.mkdtemp(prefix="warroom-dbup-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_db_upgrade_command(data_dir: Path) -> None:
    """It names what it applied, says when nothing was due, and leaves no embedded server
    running (a one-shot command)."""
    head = ScriptDirectory.from_config(db.alembic_config("postgresql://x")).get_current_head()
    env = {"WARROOM_DATA_DIR": str(data_dir)}
    try:
        first = _cli("db", "upgrade", env=env)
        assert first.returncode == 0, first.stderr
        assert first.stdout.strip() == (
            f"applied migrations 0001–{head}; database schema now at {head}"
        )
        assert _processes_in(data_dir) == []

        second = _cli("db", "upgrade", env=env)
        assert second.returncode == 0, second.stderr
        assert second.stdout.strip() == f"database schema already at {head}; nothing applied"
        assert _processes_in(data_dir) == []
    finally:
        if _processes_in(data_dir):  # clean up after a failure, not part of the test
            EmbeddedPostgres(data_dir).stop()
            EmbeddedRedis(data_dir).stop()


def test_db_upgrade_leaves_a_shared_embedded_server_running(data_dir: Path) -> None:
    """A `warroom serve` on the same data directory started the servers: `db upgrade`
    migrates through them and stops neither."""
    pg, redis_server = EmbeddedPostgres(data_dir), EmbeddedRedis(data_dir)
    redis_server.start()
    try:
        result = _cli("db", "upgrade", env={"WARROOM_DATA_DIR": str(data_dir)})
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("applied migrations 0001")
        assert pg.is_running()
        assert redis_server._ping()
    finally:
        redis_server.stop()
        pg.stop()


def test_version_and_help() -> None:
    assert _cli("version", env={}).stdout.startswith("warroom ")
    out = _cli("--help", env={}).stdout
    for word in ("serve", "sandbox", "db", "version"):
        assert word in out
