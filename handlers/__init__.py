"""The Bolt listeners, one module per concern. `register_all` is the one place they are
attached to the app: a new listener module gets its line there, where a reader (and
tests/e2e/test_manifest.py) finds them all. Importing the modules also fills the `/incident`
subcommand table (handlers.subcommands), so help always lists every subcommand."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.services import Services
from handlers import (
    aftercare,
    alerts,
    card_actions,
    changes,
    commands,
    declare,
    lifecycle,
    oncall,
    operations,
    operations_card,
    postmortem,
    timeline_capture,
)


def register_all(app: AsyncApp, services: Services) -> None:
    # First: Bolt asks every listener in turn whether a delivery is its own, and 📌s and
    # joins are the most frequent deliveries (no other listener takes those events).
    timeline_capture.register(app, services)
    aftercare.register(app, services)
    alerts.register(app, services)
    card_actions.register(app, services)
    commands.register(app, services)
    declare.register(app, services)
    lifecycle.register(app, services)
    oncall.register(app, services)
    operations.register(app, services)
    operations_card.register(app, services)
    changes.register(app, services)
    postmortem.register(app, services)
