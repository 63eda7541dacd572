"""`warroom serve | db upgrade | version`, and `sandbox` where the test doubles are installed.

Errors an operator can fix are one line on stderr and exit code 2; never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from bot.config import Settings, SettingsError
from bot.version import VERSION
from incident.severity import PolicyError

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from bot.http.shutdown import SocketModeDrain


def _fail(message: str) -> int:
    print(f"warroom: {message}", file=sys.stderr)
    return 2


def cmd_serve(_: argparse.Namespace) -> int:
    from bot import logging_setup
    from bot.bootstrap import build_services, load_config, prepare_stores
    from bot.http.server import build_asgi, run_uvicorn
    from bot.sentry import init_sentry

    config = load_config(require_slack=True)  # every bad variable and file in one line
    settings = config.settings
    logging_setup.configure(settings.log_level)
    init_sentry(settings.sentry_dsn, VERSION)
    stores = prepare_stores(settings)
    services = build_services(settings, stores, catalog=config.catalog, policy=config.policy)
    asgi = build_asgi(services, on_shutdown=services.close, shutdown=settings.shutdown)
    if settings.slack_app_token:
        return _serve_socket_mode(asgi, settings)
    logging_setup.get_logger().info("serving", host=settings.host, port=settings.port)
    run_uvicorn(asgi, settings.host, settings.port, log_level=settings.log_level)
    return 0


def _serve_socket_mode(asgi: Starlette, settings: Settings) -> int:
    """Socket Mode for Slack; HTTP still serves /healthz and /metrics."""
    asyncio.run(socket_mode_main(asgi, settings.slack_app_token or "", settings))
    return 0


async def socket_mode_main(asgi: Starlette, app_token: str, settings: Settings) -> None:
    """The same drain as HTTP mode: the server's lifespan installs it (`drain.install()`),
    `SocketModeDrain` puts every envelope's work under it, and SIGTERM closes the socket
    when it stops accepting, then waits for the post-ack work."""
    import uvicorn

    from bot.http.shutdown import WarroomServer

    handler = socket_mode_handler(asgi, app_token)
    await handler.connect_async()
    config = uvicorn.Config(
        asgi,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        timeout_graceful_shutdown=int(handler.drain.settings.grace_s),
    )
    try:
        await WarroomServer(config, handler.drain, on_stop_accepting=handler.stop_receiving).serve()
    finally:
        await handler.close()


def socket_mode_handler(asgi: Starlette, app_token: str) -> SocketModeDrain:
    """The Socket Mode handler of an app built by `build_asgi`, under that app's drain."""
    from bot.http.shutdown import SocketModeDrain

    return SocketModeDrain(asgi.state.bolt, app_token, asgi.state.drain)


def cmd_db_upgrade(_: argparse.Namespace) -> int:
    """Says which migrations it applied (or that none were due): an operator running it
    before a rollout should see that the schema moved, not a reassurance either way."""
    from bot.bootstrap import load_config, upgrade_database

    print(upgrade_database(load_config().settings).describe())
    return 0


def cmd_version(_: argparse.Namespace) -> int:
    print(f"warroom {VERSION}")
    return 0


PLUGIN_GROUP = "warroom.commands"


def _add_plugin_commands(sub: argparse._SubParsersAction) -> None:
    """Commands shipped outside the product (the sandbox lives with the test doubles): each
    entry point of `warroom.commands` adds its own subparser. Without them `warroom sandbox`
    still answers, with how to get it."""
    names = set()
    for entry in entry_points(group=PLUGIN_GROUP):
        try:
            entry.load()(sub)
        except Exception as exc:  # a broken plugin must not take `serve` down with it
            print(f"warroom: command {entry.name!r} unavailable: {exc}", file=sys.stderr)
            continue
        names.add(entry.name)
    if "sandbox" not in names:
        sub.add_parser("sandbox", help="(not installed)").set_defaults(func=_no_sandbox)


def _no_sandbox(_: argparse.Namespace) -> int:
    return _fail("the sandbox is not installed here: `make run` in a clone of warroom has it")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="warroom", description="Slack incident response.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("serve", help="serve Slack on POST /slack/events (or Socket Mode)").set_defaults(
        func=cmd_serve
    )
    _add_plugin_commands(sub)
    dbp = sub.add_parser("db", help="database commands")
    dbsub = dbp.add_subparsers(dest="db_command", metavar="DB_COMMAND")
    dbsub.add_parser("upgrade", help="apply Alembic migrations").set_defaults(func=cmd_db_upgrade)
    sub.add_parser("version", help="print the version").set_defaults(func=cmd_version)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except (SettingsError, PolicyError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last line of defence: one line, no traceback
        return _fail(f"{type(exc).__name__}: {exc}")


if __name__ == "__main__":
    sys.exit(main())
