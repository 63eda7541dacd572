"""`POST /slack/events` is answered by its endpoint ahead of Starlette's stack: a failure of
ours is a plain JSON 500 (never a traceback), and every other method and path still goes
through Starlette (405, 404)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from slack_bolt.response import BoltResponse
from starlette.routing import Route

from bot.config import ShutdownConfig
from bot.http.server import WarroomASGI
from bot.http.shutdown import Drain
from bot.http.slack_endpoint import SlackEndpoint


class _Bolt:
    def __init__(self, fail: bool) -> None:
        self.fail = fail

    async def async_dispatch(self, request: Any) -> BoltResponse:
        if self.fail:
            raise RuntimeError("secret-ish detail that must not reach the client")
        return BoltResponse(status=200, body={"ok": True, "type": request.body.get("type")})


def _exchange(fail: bool) -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        endpoint = SlackEndpoint(_Bolt(fail), Drain(ShutdownConfig(grace_s=1.0)))  # type: ignore[arg-type]
        app = WarroomASGI(endpoint, routes=[Route("/slack/events", endpoint, methods=["POST"])])
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://warroom") as client:
            return [
                await client.post("/slack/events", content=b'{"type": "event_callback"}'),
                await client.get("/slack/events"),
                await client.post("/nowhere", content=b"{}"),
            ]

    return asyncio.run(run())


def test_a_delivery_gets_bolts_answer() -> None:
    answered, _, _ = _exchange(fail=False)
    assert answered.status_code == 200
    assert answered.json() == {"ok": True, "type": "event_callback"}
    assert answered.headers["content-length"] == str(len(answered.content))


def test_a_failure_of_ours_is_a_plain_500_and_other_routes_are_starlettes() -> None:
    failed, get, elsewhere = _exchange(fail=True)
    assert failed.status_code == 500 and failed.json() == {"error": "internal"}
    assert "secret-ish" not in failed.text and "Traceback" not in failed.text
    assert get.status_code == 405
    assert elsewhere.status_code == 404
