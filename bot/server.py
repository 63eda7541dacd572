"""The HTTP server: Starlette on uvicorn. `POST /slack/events` is the single Request URL for
commands, interactivity and events; `/healthz` and `/metrics` serve operators."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import structlog
import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import background
from bot.app import create_app
from bot.health import health_report
from bot.services import Services

ExtraRoutes = Callable[[Services], list[Route]]


def extra_routes() -> list[ExtraRoutes]:
    from bot.web.routes import postmortem_routes

    return [postmortem_routes]


def build_asgi(services: Services, *, on_shutdown: Callable[[], Any] | None = None) -> Starlette:
    bolt = create_app(services)
    handler = AsyncSlackRequestHandler(bolt)

    async def slack_events(request: Request) -> Response:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(trace_id=uuid.uuid4().hex[:16])
        return await handler.handle(request)

    async def healthz(_: Request) -> Response:
        status, body = await health_report(services)
        return JSONResponse(body, status_code=status)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        tasks = background.start_all(services)
        try:
            yield
        finally:
            await background.stop_all(tasks)
            if on_shutdown:
                await on_shutdown()

    routes = [
        Route("/slack/events", slack_events, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    for extra in extra_routes():
        routes.extend(extra(services))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.bolt = bolt
    app.state.services = services
    return app


def run_uvicorn(asgi: Starlette, host: str, port: int, *, log_level: str = "warning") -> None:
    config = uvicorn.Config(
        asgi,
        host=host,
        port=port,
        log_level=log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=20,  # drain in-flight requests on SIGTERM
        lifespan="on",
    )
    asyncio.run(uvicorn.Server(config).serve())
