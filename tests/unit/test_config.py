"""Configuration is checked once and fails closed: every bad setting and a bad catalog in one
line, secrets never echoed, and a catalog broken at runtime never replaces the last good one."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.adapters.catalog.model import CatalogError
from bot.adapters.catalog.store import CatalogStore
from bot.bootstrap import load_config
from bot.cli import main
from bot.config import Settings, SettingsError, load_settings
from bot.flows import catalog_watch
from bot.http import server

GOOD = """\
services:
  - name: api
    health_url: http://api.internal/health
operations:
  allow:
    rollback:
      users: [UBOB]
"""
# line 3: a health URL that is no URL
BAD_URL = GOOD.replace("http://api.internal/health", "not a url")
# line 7: the allow-list's bracket left open; YAML notices at the end of the file (line 8)
BAD_YAML = GOOD.replace("users: [UBOB]", "users: [UBOB, UALICE")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only what a test sets: no variable of the developer's shell, no `.env` file."""
    for name, info in Settings.model_fields.items():
        monkeypatch.delenv(name.upper(), raising=False)
        for alias in getattr(info.validation_alias, "choices", ()):
            monkeypatch.delenv(str(alias), raising=False)
    monkeypatch.chdir(tmp_path)


def write(tmp_path: Path, text: str, name: str = "catalog.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(**kwargs: object) -> str:
    with pytest.raises(SettingsError) as caught:
        load_config(**kwargs)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "\n" not in message
    return message


# -- settings and catalog in one line -------------------------------------------------------


def test_two_bad_settings_are_both_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "not-a-port")
    monkeypatch.setenv("SLACK_TIMEOUT_S", "0")
    message = problems_of()
    assert "PORT: " in message and "(got 'not-a-port')" in message
    assert "SLACK_TIMEOUT_S: " in message and "(got '0')" in message


def test_missing_slack_credentials_are_named_with_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "chatty")
    message = problems_of(require_slack=True)
    for name in ("LOG_LEVEL:", "SLACK_BOT_TOKEN:", "SLACK_SIGNING_SECRET:"):
        assert name in message
    assert "SLACK" not in problems_of()  # `warroom db upgrade` needs no Slack


def test_db_upgrade_needs_no_slack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CATALOG_FILE", str(write(tmp_path, GOOD)))
    config = load_config()
    assert config.settings.slack_bot_token is None
    assert config.catalog.current is not None and config.catalog.current.names == ["api"]


def test_a_bad_catalog_is_named_with_file_and_line_in_the_same_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = write(tmp_path, BAD_URL)
    monkeypatch.setenv("PORT", "99999")
    monkeypatch.setenv("WARROOM_SHUTDOWN_GRACE_S", "-1")
    monkeypatch.setenv("CATALOG_FILE", str(path))
    message = problems_of()
    assert message.startswith("PORT: ")  # variables first, in the order of the README
    assert "; WARROOM_SHUTDOWN_GRACE_S: " in message
    assert f"; CATALOG_FILE: {path}:3: services[0].health_url: " in message


def test_a_bad_catalog_alone_and_a_bad_policy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    catalog = write(tmp_path, BAD_YAML)
    policy = write(tmp_path, "[severity.SEV9]\nack_minutes = 1\n", "policy.toml")
    monkeypatch.setenv("CATALOG_FILE", str(catalog))
    monkeypatch.setenv("POLICY_FILE", str(policy))
    message = problems_of()
    assert message.startswith(f"POLICY_FILE: {policy}: severity.SEV9")
    assert f"CATALOG_FILE: {catalog}:8: invalid YAML" in message and "on line 7" in message


def test_cli_serve_prints_one_line_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-not-echoed")
    monkeypatch.setenv("PORT", "-5")
    monkeypatch.setenv("CATALOG_FILE", str(write(tmp_path, BAD_URL)))
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("warroom: PORT: ")
    assert "SLACK_SIGNING_SECRET:" in err and "CATALOG_FILE:" in err and ":3:" in err
    assert "xoxb-not-echoed" not in err


def test_secrets_are_never_echoed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "hunter2-signing")
    monkeypatch.setenv("SLACK_API_URL", "ftp://hunter2-in-a-url@slack")
    monkeypatch.setenv("S3_ENDPOINT_URL", "http://key:hunter2@minio")
    monkeypatch.setenv("PORT", "hunter2-port-is-shown")  # not a secret: shown, to help
    catalog = GOOD.replace("operations:", "    postgres_url: mysql://app:hunter2@db/x\noperations:")
    monkeypatch.setenv("CATALOG_FILE", str(write(tmp_path, catalog)))
    message = problems_of(require_slack=True)
    assert "SLACK_API_URL: " in message and "SLACK_BOT_TOKEN: " in message
    assert "CATALOG_FILE: " in message and "services[0].postgres_url" in message
    assert "hunter2-port-is-shown" in message
    assert "hunter2" not in message.replace("hunter2-port-is-shown", "")


def test_views_are_frozen_copies_of_the_one_settings_object() -> None:
    settings = load_settings(
        _env_file=None,
        warroom_shutdown_grace_s=7,
        postmortem_s3_prefix="/pm/",
        warroom_ops_allowed_users=" U1, ,U2",
    )
    assert (settings.shutdown.grace_s, settings.shutdown.delay_s) == (7.0, 0.0)
    assert settings.postmortem.key_for(3, "postmortem.md") == "pm/incident-3/postmortem.md"
    assert settings.ops.allowed == frozenset({"U1", "U2"})
    with pytest.raises(AttributeError):
        settings.shutdown.grace_s = 1  # type: ignore[misc]


# -- the catalog in force ---------------------------------------------------------------------


def test_a_broken_reload_keeps_the_last_good_catalog(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    store = CatalogStore.load(path)
    good = store.current
    assert good is not None and not store.status.stale

    write(tmp_path, BAD_YAML)
    assert store.reload() is False
    assert store.current is good  # the very same object: no path sees a partial catalog
    assert good.operations.allow["rollback"].users == ["UBOB"]
    status = store.status
    assert status.stale and status.path == str(path)
    assert status.error is not None and status.error.startswith(f"{path}:8: invalid YAML")

    write(tmp_path, BAD_URL)  # another mistake: the error follows the file
    assert store.reload_if_changed() is False
    assert store.current is good
    assert store.status.error is not None and store.status.error.startswith(f"{path}:3: ")

    write(tmp_path, GOOD.replace("[UBOB]", "[UBOB, UALICE]"))
    assert store.reload_if_changed() is True
    assert not store.status.stale and store.status.error is None
    assert store.current is not None
    assert store.current.operations.allow["rollback"].users == ["UBOB", "UALICE"]


def test_a_deleted_file_is_stale_and_its_return_is_picked_up(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    store = CatalogStore.load(path)
    path.unlink()
    assert store.reload_if_changed() is False
    assert store.status.stale and "cannot read" in (store.status.error or "")
    assert store.current is not None and store.current.names == ["api"]
    assert store.reload_if_changed() is False  # no change since: not read again
    write(tmp_path, GOOD)
    store.reload_if_changed()
    assert not store.status.stale


def test_an_unchanged_file_is_not_read_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from bot.adapters.catalog import store as store_module

    store = CatalogStore.load(write(tmp_path, GOOD))

    def no_read(path: object) -> None:
        raise AssertionError("read again")

    monkeypatch.setattr(store_module, "load_catalog", no_read)
    for _ in range(3):
        assert store.reload_if_changed() is False
    assert not store.status.stale


def test_start_up_refuses_a_broken_catalog(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"catalog.yml:3: "):
        CatalogStore.load(write(tmp_path, BAD_URL))


def test_no_catalog_file() -> None:
    store = CatalogStore.load(None)
    assert store.current is None and store.reload() is False and store.reload_if_changed() is False
    assert store.status.path is None and not store.status.stale


# -- what triggers a reload -------------------------------------------------------------------


async def until(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not predicate():  # noqa: ASYNC110 - the store has no event to wait on
            await asyncio.sleep(0.01)


def test_the_watch_loop_picks_up_an_edit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(catalog_watch, "POLL_S", 0.01)
    path = write(tmp_path, GOOD)
    services = SimpleNamespace(catalog=CatalogStore.load(path))

    async def go() -> None:
        loop = asyncio.create_task(catalog_watch.catalog_watch_loop(services))  # type: ignore[arg-type]
        try:
            write(tmp_path, BAD_YAML)
            await until(lambda: services.catalog.status.stale)
            write(tmp_path, GOOD.replace("[UBOB]", "[UCAROL]"))
            await until(lambda: not services.catalog.status.stale)
        finally:
            loop.cancel()

    asyncio.run(go())
    assert services.catalog.current.operations.allow["rollback"].users == ["UCAROL"]


def test_sighup_reloads_the_catalog(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    services = SimpleNamespace(catalog=CatalogStore.load(path))

    async def go() -> None:
        installed = server._reload_on_sighup(services)  # type: ignore[arg-type]
        assert installed  # pytest runs tests in the main thread
        try:
            write(tmp_path, BAD_URL)
            os.kill(os.getpid(), signal.SIGHUP)
            await until(lambda: services.catalog.status.stale)
        finally:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)

    asyncio.run(go())
    assert services.catalog.current.names == ["api"]


def test_no_sighup_handler_off_the_main_thread() -> None:
    result: list[bool] = []
    services = SimpleNamespace(catalog=CatalogStore.load(None))

    async def go() -> None:
        result.append(server._reload_on_sighup(services))  # type: ignore[arg-type]

    thread = threading.Thread(target=lambda: asyncio.run(go()))
    thread.start()
    thread.join()
    assert result == [False]
