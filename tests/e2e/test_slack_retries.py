"""warroom's Slack client against the emulator: a 5xx is retried only where doing the call
twice is harmless. A `chat.postMessage` answered 500 may still have posted, so it reaches the
caller after exactly one call; a read answered 500 is retried and succeeds."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from slack_sdk.errors import SlackApiError
from warroom_sandbox.slack_emulator import RunningServer, SlackEmulator, start_emulator

from bot.slack.client import IDEMPOTENT, make_client

TOKEN = "xoxb-test"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[SlackEmulator, RunningServer]]:
    emu = SlackEmulator()
    server = start_emulator(emu)
    yield emu, server
    server.stop()


@pytest.fixture
def emu(served: tuple[SlackEmulator, RunningServer]) -> SlackEmulator:
    emulator, _ = served
    emulator.reset()
    return emulator


def _channel(emu: SlackEmulator) -> str:
    """A channel the bot is in, so that a post Slack "did anyway" really lands."""
    return emu.add_channel("inc-retries", members=[emu.config.bot_user_id])


@pytest.mark.parametrize("status", [500, 503])
def test_post_message_answered_5xx_is_not_retried(emu: SlackEmulator, status: int) -> None:
    assert "chat.postMessage" not in IDEMPOTENT
    channel = _channel(emu)
    emu.fail("chat.postMessage", status=status, times=1, apply=True)  # Slack posted anyway
    client = make_client(TOKEN, emu.api_url, timeout=5)

    with pytest.raises(SlackApiError) as exc:
        asyncio.run(client.chat_postMessage(channel=channel, text="the card"))

    assert exc.value.response.status_code == status
    calls = emu.calls("chat.postMessage")
    assert len(calls) == 1 and calls[0].fault == "http_error"
    assert sum(1 for m in emu.messages(channel) if m.text == "the card") == 1


@pytest.mark.parametrize("method", ["conversations.info", "users.info"])
def test_read_answered_500_is_retried(emu: SlackEmulator, method: str) -> None:
    assert method in IDEMPOTENT
    channel = _channel(emu)
    user = emu.config.bot_user_id
    emu.fail(method, status=500, times=1)
    client = make_client(TOKEN, emu.api_url, timeout=5)

    if method == "conversations.info":
        resp = asyncio.run(client.conversations_info(channel=channel))
    else:
        resp = asyncio.run(client.users_info(user=user))

    assert resp["ok"]
    calls = emu.calls(method)
    assert [c.fault for c in calls] == ["http_error", None]
