"""The baseline: a bare Bolt AsyncApp on the same server stack (Starlette + uvicorn) that only
acks. Run as `python bench/bare_bolt_app.py PORT SIGNING_SECRET`."""

from __future__ import annotations

import sys

import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.routing import Route


def main() -> None:
    port, secret, api_url = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    bolt = AsyncApp(
        client=AsyncWebClient(token="xoxb-bench", base_url=api_url), signing_secret=secret
    )

    @bolt.command("/incident")
    async def only_ack(ack):
        await ack()

    handler = AsyncSlackRequestHandler(bolt)

    async def events(request):
        return await handler.handle(request)

    app = Starlette(routes=[Route("/slack/events", events, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
