"""The work a POST route starts and leaves running after its answer (an alert's Slack
follow-up) is drained on shutdown like the work after a Slack ack; GET routes are left alone."""

from __future__ import annotations

import asyncio

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.config import ShutdownConfig
from bot.http.server import _drained
from bot.http.shutdown import Drain


def test_a_post_routes_follow_up_is_drained_and_a_gets_is_not() -> None:
    async def scenario() -> tuple[int, int, tuple[int, int], list[str]]:
        drain = Drain(ShutdownConfig(grace_s=5.0))
        drain.install()
        finished: list[str] = []
        started: set[asyncio.Task[None]] = set()

        async def follow_up(name: str) -> None:
            await asyncio.sleep(0.05)
            finished.append(name)

        async def endpoint(request: Request) -> JSONResponse:
            started.add(asyncio.create_task(follow_up(request.method)))  # outlives the answer
            return JSONResponse({"status": "ok"})

        routes = [
            _drained(Route("/alerts/x", endpoint, methods=["POST"]), drain),
            _drained(Route("/status.json", endpoint, methods=["GET"]), drain),
        ]
        transport = httpx.ASGITransport(app=Starlette(routes=routes))
        async with httpx.AsyncClient(transport=transport, base_url="http://warroom") as client:
            assert (await client.post("/alerts/x")).status_code == 200
            after_post = len(drain.pending_work)
            assert (await client.get("/status.json")).status_code == 200
            after_get = len(drain.pending_work)
        result = await drain.finish_work()
        drain.uninstall()
        return after_post, after_get, result, finished

    after_post, after_get, (done, abandoned), finished = asyncio.run(scenario())
    assert (after_post, after_get) == (1, 1)  # the POST's follow-up is tracked, the GET's not
    assert (done, abandoned) == (1, 0) and "POST" in finished
