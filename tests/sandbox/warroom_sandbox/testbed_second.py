"""Another warroom replica inside the test process: its own Services (engine, Redis client,
Slack client, caches) and HTTP port, sharing the testbed's Postgres, Redis, Slack emulator
and clock. Quicker than `Testbed.spawn_replica`, and the shared clock lets a test move time
for both replicas at once."""

from __future__ import annotations

from dataclasses import dataclass

from bot.adapters.stores import StoreURLs
from bot.bootstrap import build_services
from bot.clock import Clock
from bot.http.server import build_asgi
from bot.services import Services
from warroom_sandbox.slack_driver import SlackDriver
from warroom_sandbox.slack_emulator import RunningServer, serve_in_thread
from warroom_sandbox.testbed import SIGNING_SECRET, Testbed


@dataclass
class SecondApp:
    services: Services
    server: RunningServer
    driver: SlackDriver

    @property
    def url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        """Like a replica shutting down: background loops cancelled, connections closed."""
        self.server.stop()
        self.driver.close()


def start_second_app(bed: Testbed, *, clock: Clock | None = None) -> SecondApp:
    services = build_services(
        bed.settings,
        StoreURLs(bed.pg.url, bed.redis_server.url),
        clock=clock or bed.clock,
    )
    asgi = build_asgi(services, on_shutdown=services.close)
    server = serve_in_thread(asgi, lifespan="on")
    driver = SlackDriver(server.url + "/slack/events", SIGNING_SECRET, emulator=bed.emulator)
    return SecondApp(services, server, driver)
