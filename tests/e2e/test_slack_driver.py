"""The signed driver against a tiny real Bolt AsyncApp served over HTTP,
whose real AsyncWebClient talks to the emulator."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from warroom_sandbox.slack_driver import SendOptions, SlackDriver
from warroom_sandbox.slack_emulator import (
    EmulatorClient,
    RunningServer,
    SlackEmulator,
    serve_in_thread,
    start_emulator,
)
from warroom_sandbox.slack_emulator.payloads import static_select, users_select

SECRET = "secret"
MODAL = {
    "type": "modal",
    "callback_id": "declare",
    "title": {"type": "plain_text", "text": "Declare incident"},
    "submit": {"type": "plain_text", "text": "Declare"},
    "private_metadata": "from-modal",
    "blocks": [
        {
            "type": "input",
            "block_id": "title",
            "label": {"type": "plain_text", "text": "Title"},
            "element": {"type": "plain_text_input", "action_id": "value"},
        }
    ],
}


@dataclass
class Seen:
    """What the Bolt handlers received, for assertions."""

    commands: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    submissions: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def build_bolt(api_url: str, seen: Seen) -> Starlette:
    client = AsyncWebClient(token="xoxb-test", base_url=api_url)
    app = AsyncApp(token="xoxb-test", signing_secret=SECRET, client=client)

    @app.command("/incident")
    async def on_command(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        seen.commands.append(body)
        if body["text"] == "declare":
            await client.views_open(trigger_id=body["trigger_id"], view=MODAL)
        else:
            await respond(text=f"got {body['text']}")

    @app.action("ack")
    async def on_ack(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        seen.actions.append(body)
        await respond(text="Acknowledged", replace_original=True)

    @app.action("pick")
    async def on_pick(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        seen.actions.append(body)

    @app.view("declare")
    async def on_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        await ack()
        seen.submissions.append(body)

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any]) -> None:
        seen.events.append(event)

    handler = AsyncSlackRequestHandler(app)

    async def endpoint(req: Request) -> Response:
        return await handler.handle(req)

    return Starlette(routes=[Route("/slack/events", endpoint, methods=["POST"])])


@dataclass
class Stack:
    emu: SlackEmulator
    driver: SlackDriver
    seen: Seen
    app_server: RunningServer
    alice: str
    channel: str


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    emu = SlackEmulator()
    emu_server = start_emulator(emu)
    seen = Seen()
    app_server = serve_in_thread(build_bolt(emu_server.api_url, seen))
    driver = SlackDriver(f"{app_server.url}/slack/events", SECRET, emulator=emu)
    alice = emu.add_user("alice", "Alice Martin")
    channel = emu.add_channel("incidents-drv", members=["UBOT", alice])
    yield Stack(emu, driver, seen, app_server, alice, channel)
    driver.close()
    app_server.stop()
    emu_server.stop()


def wait_for(predicate: Any, timeout: float = 3.0) -> None:
    """Bolt runs listeners after acking; give them a moment."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def test_signature_is_what_slack_sdk_verifies() -> None:
    driver = SlackDriver("http://127.0.0.1:9/slack/events", SECRET)
    prepared = driver.prepare_command("hi", "U1", "C1")
    headers = driver.headers_for(prepared.body, prepared.content_type, SendOptions())
    assert SignatureVerifier(SECRET).is_valid_request(prepared.body, headers)
    stale = driver.headers_for(
        prepared.body, prepared.content_type, SendOptions(timestamp=int(time.time()) - 360)
    )
    assert not SignatureVerifier(SECRET).is_valid_request(prepared.body, stale)
    retried = driver.headers_for(prepared.body, prepared.content_type, SendOptions(retry_num=2))
    assert (retried["X-Slack-Retry-Num"], retried["X-Slack-Retry-Reason"]) == ("2", "http_timeout")
    driver.close()


def test_command_is_accepted_and_responds(stack: Stack) -> None:
    resp = stack.driver.command("status", stack.alice, stack.channel)
    assert resp.status_code == 200
    wait_for(lambda: any(e.text == "got status" for e in stack.emu.ephemerals(user=stack.alice)))
    body = stack.seen.commands[-1]
    assert (body["user_name"], body["channel_name"]) == ("alice", "incidents-drv")
    assert body["command"] == "/incident"
    # every command carries its own trigger_id and a working response_url
    other = stack.driver.prepare_command("x", stack.alice, stack.channel)
    first, second = (parse_qs(b.decode()) for b in (resp.request.content, other.body))
    assert first["trigger_id"] != second["trigger_id"]
    assert first["response_url"][0].startswith(f"{stack.emu.url}/_emulator/response/")


def test_command_opens_a_modal_with_an_emulator_trigger(stack: Stack) -> None:
    before = len(stack.emu.views())
    assert stack.driver.command("declare", stack.alice, stack.channel).status_code == 200
    wait_for(lambda: len(stack.emu.views()) > before)
    view = stack.emu.views()[-1]
    assert (view.callback_id, view.user_id) == ("declare", stack.alice)


def test_block_action_on_a_real_message(stack: Stack) -> None:
    emu = stack.emu
    ts = emu.add_message(
        stack.channel,
        "UBOT",
        "SEV1 declared",
        blocks=[
            {
                "type": "actions",
                "block_id": "card",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "ack",
                        "text": {"type": "plain_text", "text": "Ack"},
                    }
                ],
            }
        ],
    )
    resp = stack.driver.block_action(
        "ack", "inc-1", user_id=stack.alice, channel_id=stack.channel, message_ts=ts
    )
    assert resp.status_code == 200
    wait_for(lambda: emu.message(stack.channel, ts).text == "Acknowledged")
    body = stack.seen.actions[-1]
    assert body["actions"][0]["block_id"] == "card"  # found in the real message
    assert body["message"]["ts"] == ts
    assert body["container"] == {
        "type": "message",
        "message_ts": ts,
        "channel_id": stack.channel,
        "is_ephemeral": False,
    }


def test_block_action_select_in_a_view(stack: Stack) -> None:
    trigger = stack.emu.issue_trigger_id(stack.alice)
    # open the modal the way the app would, then act inside it
    view = httpx.post(
        f"{stack.emu.api_url}views.open",
        headers={"Authorization": "Bearer xoxb-test"},
        json={"trigger_id": trigger, "view": MODAL},
    ).json()["view"]
    resp = stack.driver.block_action(
        "pick", user_id=stack.alice, view_id=view["id"], selected_option="sev1"
    )
    assert resp.status_code == 200
    wait_for(
        lambda: stack.seen.actions and stack.seen.actions[-1]["actions"][0]["action_id"] == "pick"
    )
    body = stack.seen.actions[-1]
    assert body["container"] == {"type": "view", "view_id": view["id"]}
    assert body["actions"][0]["selected_option"]["value"] == "sev1"
    assert "response_url" not in body


def test_view_submission(stack: Stack) -> None:
    values = {
        "title": {"value": "DB down"},
        "severity": {"value": static_select("sev1", "SEV1")},
        "commander": {"value": users_select(stack.alice)},
    }
    resp = stack.driver.view_submission("declare", values, stack.alice, private_metadata="meta")
    assert resp.status_code == 200
    assert resp.text == ""  # plain ack closes the modal
    wait_for(lambda: stack.seen.submissions)
    state = stack.seen.submissions[-1]["view"]["state"]["values"]
    assert state["title"]["value"] == {"type": "plain_text_input", "value": "DB down"}
    assert state["severity"]["value"]["selected_option"]["value"] == "sev1"
    assert state["commander"]["value"]["selected_user"] == stack.alice
    assert stack.seen.submissions[-1]["view"]["private_metadata"] == "meta"


def test_event_and_retry(stack: Stack) -> None:
    event = {
        "type": "app_mention",
        "user": stack.alice,
        "text": "<@UBOT> status",
        "ts": "1700000000.000100",
        "channel": stack.channel,
        "event_ts": "1700000000.000100",
    }
    before = len(stack.seen.events)
    resp = stack.driver.event(event, event_id="Ev0001")
    assert resp.status_code == 200
    wait_for(lambda: len(stack.seen.events) > before)
    retry = stack.driver.retry(resp, retry_num=1)
    assert retry.status_code == 200
    assert retry.request.headers["X-Slack-Retry-Num"] == "1"
    assert json.loads(retry.request.content)["event_id"] == "Ev0001"
    assert stack.driver.url_verification("chal").json() == {"challenge": "chal"}


@pytest.mark.parametrize(
    "opts",
    [
        {"bad_signature": True},
        {"sign_with": "another-secret"},
        {"timestamp": int(time.time()) - 6 * 60},
    ],
)
def test_bad_signature_or_stale_timestamp_is_rejected(stack: Stack, opts: dict[str, Any]) -> None:
    before = len(stack.seen.commands)
    assert stack.driver.command("status", stack.alice, stack.channel, **opts).status_code == 401
    assert (
        stack.driver.block_action(
            "ack", user_id=stack.alice, channel_id=stack.channel, **opts
        ).status_code
        == 401
    )
    assert stack.driver.view_submission("declare", {}, stack.alice, **opts).status_code == 401
    assert stack.driver.event({"type": "app_mention", "text": "x"}, **opts).status_code == 401
    assert len(stack.seen.commands) == before


def test_async_twins_run_concurrently(stack: Stack) -> None:
    async def burst() -> list[int]:
        tasks = [stack.driver.acommand(f"c{i}", stack.alice, stack.channel) for i in range(10)]
        tasks.append(
            stack.driver.aevent({"type": "app_mention", "user": stack.alice, "text": "hi"})
        )
        statuses = [r.status_code for r in await asyncio.gather(*tasks)]
        await stack.driver.aclose()
        return statuses

    assert asyncio.run(burst()) == [200] * 11


def test_driver_with_a_remote_emulator(stack: Stack) -> None:
    remote = EmulatorClient(stack.emu.url or "")
    driver = SlackDriver(f"{stack.app_server.url}/slack/events", SECRET, emulator=remote)
    assert driver.ident.team_id == "T0001"
    resp = driver.command("remote", stack.alice, stack.channel)
    assert resp.status_code == 200
    wait_for(lambda: any(e.text == "got remote" for e in stack.emu.ephemerals(user=stack.alice)))
    assert stack.seen.commands[-1]["user_name"] == "alice"
    driver.close()
    remote.close()
