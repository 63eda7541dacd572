"""The Bolt app factory: one AsyncApp with every listener module registered."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

from slack_bolt.async_app import AsyncApp

import handlers
from bot.services import Services


def listener_modules() -> list[ModuleType]:
    """One listener module per concern, each with register(app): every module in handlers/
    that defines one, so adding a concern never means editing this file."""
    found = []
    for info in pkgutil.iter_modules(handlers.__path__):
        module = importlib.import_module(f"handlers.{info.name}")
        if callable(getattr(module, "register", None)):
            found.append(module)
    return found


def create_app(services: Services, *, signing_secret: str | None = None) -> AsyncApp:
    settings = services.settings
    app = AsyncApp(
        client=services.slack,
        signing_secret=signing_secret or settings.slack_signing_secret or "",
        request_verification_enabled=True,
        process_before_response=False,
        ignoring_self_events_enabled=True,
    )

    @app.middleware
    async def inject_services(context: dict[str, Any], next: Callable[[], Awaitable[Any]]) -> Any:
        context["services"] = services
        return await next()

    for module in listener_modules():
        module.register(app)
    return app
