"""The Slack emulator, driven over real HTTP by the real slack_sdk clients."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookClient
from warroom_sandbox.slack_emulator import (
    EmulatorClient,
    RunningServer,
    SlackEmulator,
    start_emulator,
)

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


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return WebClient(token=TOKEN, base_url=emu.api_url, timeout=5)


def slack_error(exc: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(exc.value.response["error"])


# -- server ------------------------------------------------------------------


def test_start_stop_is_fast_and_reports_the_real_port() -> None:
    started = time.monotonic()
    emu = SlackEmulator()
    server = start_emulator(emu)
    assert server.port > 0
    assert server.api_url == f"http://127.0.0.1:{server.port}/api/"
    assert emu.api_url == server.api_url
    assert httpx.get(f"{server.url}/_emulator/health").text == "ok"
    server.stop()
    assert not server.running
    assert time.monotonic() - started < 1.5


# -- auth and dispatch ---------------------------------------------------------


def test_auth_test_shape(client: WebClient) -> None:
    resp = client.auth_test()
    assert resp["user_id"] == "UBOT"
    assert resp["team_id"] == "T0001"
    assert resp["bot_id"].startswith("B")


def test_invalid_auth_and_not_authed(emu: SlackEmulator) -> None:
    with pytest.raises(SlackApiError) as exc:
        WebClient(token="xoxb-wrong", base_url=emu.api_url).auth_test()
    assert slack_error(exc) == "invalid_auth"
    resp = httpx.post(f"{emu.api_url}auth.test")
    assert resp.status_code == 200
    assert resp.json() == {"ok": False, "error": "not_authed"}
    # the token may also come as a form argument
    resp = httpx.post(f"{emu.api_url}auth.test", data={"token": TOKEN})
    assert resp.json()["ok"] is True


def test_unknown_method(emu: SlackEmulator) -> None:
    resp = httpx.post(f"{emu.api_url}chat.teleport", headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.json()["error"] == "unknown_method"


def test_every_call_is_recorded_without_the_token(emu: SlackEmulator, client: WebClient) -> None:
    client.conversations_create(name="recorded")
    (call,) = emu.calls("conversations.create")
    assert call.args == {"name": "recorded"}
    assert call.ok and call.status == 200
    assert call.response["channel"]["name"] == "recorded"


# -- conversations.create ------------------------------------------------------


def test_create_channel_happy_path(emu: SlackEmulator, client: WebClient) -> None:
    resp = client.conversations_create(name="inc-42-db-down", is_private=False)
    ch = resp["channel"]
    assert ch["id"].startswith("C")
    assert ch["name"] == "inc-42-db-down"
    assert ch["is_member"] is True
    assert ch["is_private"] is False
    assert emu.members(ch["id"]) == ["UBOT"]
    assert emu.channel_by_name("inc-42-db-down").id == ch["id"]
    private = client.conversations_create(name="inc-43", is_private=True)["channel"]
    assert private["is_private"] is True


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "invalid_name_required"),
        ("x" * 81, "invalid_name_maxlength"),
        ("Incident", "invalid_name_specials"),
        ("inc 42", "invalid_name_specials"),
        ("inc.42", "invalid_name_specials"),
        ("inc#42", "invalid_name_specials"),
        ("---", "invalid_name_punctuation"),
        ("here", "invalid_name"),
        ("general", "name_taken"),
        ("incidents", "name_taken"),
    ],
)
def test_create_channel_name_rules(client: WebClient, name: str, error: str) -> None:
    with pytest.raises(SlackApiError) as exc:
        client.conversations_create(name=name)
    assert slack_error(exc) == error


def test_create_channel_accepts_the_limits(client: WebClient) -> None:
    assert client.conversations_create(name="a" * 80)["ok"]
    assert client.conversations_create(name="inc_42-x9")["ok"]
    with pytest.raises(SlackApiError) as exc:
        client.conversations_create(name="inc_42-x9")
    assert slack_error(exc) == "name_taken"


def test_archived_channel_keeps_its_name(client: WebClient) -> None:
    cid = client.conversations_create(name="old-inc")["channel"]["id"]
    client.conversations_archive(channel=cid)
    with pytest.raises(SlackApiError) as exc:
        client.conversations_create(name="old-inc")
    assert slack_error(exc) == "name_taken"
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel=cid, text="late")
    assert slack_error(exc) == "is_archived"


# -- membership ----------------------------------------------------------------


def test_not_in_channel_until_joined(emu: SlackEmulator, client: WebClient) -> None:
    incidents = emu.channel_by_name("incidents")
    assert "UBOT" not in incidents.members
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel=incidents.id, text="hello")
    assert slack_error(exc) == "not_in_channel"
    assert client.conversations_join(channel=incidents.id)["channel"]["is_member"] is True
    again = client.conversations_join(channel=incidents.id)
    assert again["warning"] == "already_in_channel"
    resp = client.chat_postMessage(channel="#incidents", text="hello")
    assert resp["channel"] == incidents.id
    assert [m.text for m in emu.messages(incidents.id)] == ["hello"]
    # the join notice exists, but only when asked for
    assert emu.messages(incidents.id, include_system=True)[0].subtype == "channel_join"


def test_post_message_errors(emu: SlackEmulator, client: WebClient) -> None:
    cid = client.conversations_create(name="errs")["channel"]["id"]
    # slack_sdk warns about the missing text before sending; Slack answers no_text
    with pytest.raises(SlackApiError) as exc, pytest.warns(UserWarning, match="`text`"):
        client.chat_postMessage(channel=cid, text="")
    assert slack_error(exc) == "no_text"
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C_NOPE", text="x")
    assert slack_error(exc) == "channel_not_found"
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(
            channel=cid,
            text="fallback",
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
        )
    assert slack_error(exc) == "invalid_blocks"
    assert "json-pointer:/blocks/0/text/text" in exc.value.response["errors"][0]


def test_post_to_a_user_id_opens_a_dm(emu: SlackEmulator, client: WebClient) -> None:
    alice = emu.add_user("alice")
    resp = client.chat_postMessage(channel=alice, text="you are the incident commander")
    assert resp["channel"].startswith("D")
    assert emu.messages(resp["channel"])[0].text == "you are the incident commander"
    assert client.conversations_open(users=alice)["channel"]["id"] == resp["channel"]


def test_invite(emu: SlackEmulator, client: WebClient) -> None:
    alice = emu.add_user("alice", "Alice Martin")
    bob = emu.add_user("bob")
    cid = client.conversations_create(name="inc-invite")["channel"]["id"]
    client.conversations_invite(channel=cid, users=[alice])
    assert emu.members(cid) == ["UBOT", alice]
    # one member already in: the whole call fails and bob is NOT invited
    with pytest.raises(SlackApiError) as exc:
        client.conversations_invite(channel=cid, users=f"{alice},{bob}")
    assert slack_error(exc) == "already_in_channel"
    assert exc.value.response["errors"] == [
        {"user": alice, "ok": False, "error": "already_in_channel"}
    ]
    assert bob not in emu.members(cid)
    for users, error in [("UNOBODY", "user_not_found"), ("UBOT", "cant_invite_self")]:
        with pytest.raises(SlackApiError) as exc:
            client.conversations_invite(channel=cid, users=users)
        assert slack_error(exc) == error
    # the bot must be in the channel to invite
    with pytest.raises(SlackApiError) as exc:
        client.conversations_invite(channel=emu.channel_by_name("incidents").id, users=bob)
    assert slack_error(exc) == "not_in_channel"


def test_ephemeral_needs_the_user_in_channel(emu: SlackEmulator, client: WebClient) -> None:
    alice = emu.add_user("alice")
    carol = emu.add_user("carol")
    cid = client.conversations_create(name="inc-eph")["channel"]["id"]
    client.conversations_invite(channel=cid, users=alice)
    assert client.chat_postEphemeral(channel=cid, user=alice, text="psst")["message_ts"]
    with pytest.raises(SlackApiError) as exc:
        client.chat_postEphemeral(channel=cid, user=carol, text="psst")
    assert slack_error(exc) == "user_not_in_channel"
    (eph,) = emu.ephemerals(channel_id=cid)
    assert (eph.user, eph.text) == (alice, "psst")


# -- messages, pins, topic -----------------------------------------------------


def test_update_history_and_permalink(emu: SlackEmulator, client: WebClient) -> None:
    cid = client.conversations_create(name="inc-upd")["channel"]["id"]
    ts1 = client.chat_postMessage(channel=cid, text="v1")["ts"]
    ts2 = client.chat_postMessage(channel=cid, text="reply", thread_ts=ts1)["ts"]
    assert float(ts2) > float(ts1)
    client.chat_update(channel=cid, ts=ts1, text="v2")
    msg = emu.message(cid, ts1)
    assert (msg.text, msg.edit_count, msg.reply_count) == ("v2", 1, 1)
    with pytest.raises(SlackApiError) as exc:
        client.chat_update(channel=cid, ts="1.000000", text="x")
    assert slack_error(exc) == "message_not_found"
    human_ts = emu.add_message(cid, emu.add_user("dave"), "human words")
    with pytest.raises(SlackApiError) as exc:
        client.chat_update(channel=cid, ts=human_ts, text="x")
    assert slack_error(exc) == "cant_update_message"
    link = client.chat_getPermalink(channel=cid, message_ts=ts1)["permalink"]
    assert link.endswith(f"/archives/{cid}/p{ts1.replace('.', '')}")
    history = client.conversations_history(channel=cid)["messages"]
    assert [m["text"] for m in history][:2] == ["human words", "v2"]


def test_pins(emu: SlackEmulator, client: WebClient) -> None:
    cid = client.conversations_create(name="inc-pins")["channel"]["id"]
    ts = client.chat_postMessage(channel=cid, text="status")["ts"]
    client.pins_add(channel=cid, timestamp=ts)
    with pytest.raises(SlackApiError) as exc:
        client.pins_add(channel=cid, timestamp=ts)
    assert slack_error(exc) == "already_pinned"
    with pytest.raises(SlackApiError) as exc:
        client.pins_add(channel=cid, timestamp="1.000000")
    assert slack_error(exc) == "message_not_found"
    assert [p.ts for p in emu.pins(cid)] == [ts]
    assert client.pins_list(channel=cid)["items"][0]["message"]["ts"] == ts
    client.pins_remove(channel=cid, timestamp=ts)
    with pytest.raises(SlackApiError) as exc:
        client.pins_remove(channel=cid, timestamp=ts)
    assert slack_error(exc) == "no_pin"
    general = emu.channel_by_name("general")
    human_ts = emu.add_message(general.id, emu.add_user("erin"), "hi")
    with pytest.raises(SlackApiError) as exc:
        client.pins_add(channel=general.id, timestamp=human_ts)
    assert slack_error(exc) == "not_in_channel"


def test_topic(emu: SlackEmulator, client: WebClient) -> None:
    incidents = emu.channel_by_name("incidents").id
    with pytest.raises(SlackApiError) as exc:
        client.conversations_setTopic(channel=incidents, topic="x")
    assert slack_error(exc) == "not_in_channel"
    cid = client.conversations_create(name="inc-topic")["channel"]["id"]
    resp = client.conversations_setTopic(channel=cid, topic="SEV1 | db down")
    assert resp["channel"]["topic"]["value"] == "SEV1 | db down"
    assert emu.topic(cid) == "SEV1 | db down"
    client.conversations_setTopic(channel=cid, topic="y" * 250)
    with pytest.raises(SlackApiError) as exc:
        client.conversations_setTopic(channel=cid, topic="y" * 251)
    assert slack_error(exc) == "too_long"


def test_list_pagination_and_users(emu: SlackEmulator, client: WebClient) -> None:
    for i in range(5):
        client.conversations_create(name=f"page-{i}")
    first = client.conversations_list(limit=3, exclude_archived=True)
    assert len(first["channels"]) == 3
    cursor = first["response_metadata"]["next_cursor"]
    assert cursor
    names = [c["name"] for page in client.conversations_list(limit=3) for c in page["channels"]]
    assert names == ["general", "incidents"] + [f"page-{i}" for i in range(5)]
    uid = emu.add_user("frank", "Frank Zappa", is_admin=True, tz="America/New_York")
    user = client.users_info(user=uid)["user"]
    assert (user["real_name"], user["is_admin"], user["tz"]) == (
        "Frank Zappa",
        True,
        "America/New_York",
    )
    assert uid in [u["id"] for u in client.users_list()["members"]]
    sid = emu.add_usergroup("oncall-db", [uid])
    assert client.usergroups_users_list(usergroup=sid)["users"] == [uid]
    assert client.usergroups_list(include_users=True)["usergroups"][0]["handle"] == "oncall-db"


# -- views ---------------------------------------------------------------------

MODAL = {
    "type": "modal",
    "callback_id": "declare",
    "title": {"type": "plain_text", "text": "Declare incident"},
    "submit": {"type": "plain_text", "text": "Declare"},
    "blocks": [
        {
            "type": "input",
            "block_id": "title",
            "label": {"type": "plain_text", "text": "Title"},
            "element": {"type": "plain_text_input", "action_id": "value"},
        }
    ],
}


def test_views(emu: SlackEmulator, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as exc:
        client.views_open(trigger_id="", view=MODAL)
    assert slack_error(exc) == "invalid_arguments"
    trigger = emu.issue_trigger_id("U123")
    view = client.views_open(trigger_id=trigger, view=MODAL)["view"]
    assert view["id"].startswith("V")
    assert view["callback_id"] == "declare"
    with pytest.raises(SlackApiError) as exc:
        client.views_open(trigger_id=trigger, view=MODAL)
    assert slack_error(exc) == "exchanged_trigger_id"
    updated = client.views_update(view_id=view["id"], view={**MODAL, "private_metadata": "42"})
    assert updated["view"]["hash"] != view["hash"]
    with pytest.raises(SlackApiError) as exc:
        client.views_update(view_id="VNOPE", view=MODAL)
    assert slack_error(exc) == "not_found"
    with pytest.raises(SlackApiError) as exc:
        long_title = {**MODAL, "title": {"type": "plain_text", "text": "x" * 25}}
        client.views_open(trigger_id=emu.issue_trigger_id(), view=long_title)
    assert slack_error(exc) == "invalid_arguments"
    (stored,) = emu.views()
    assert (stored.user_id, stored.private_metadata, len(stored.history)) == ("U123", "42", 1)


def test_expired_trigger(client: WebClient) -> None:
    emu = SlackEmulator(trigger_ttl=0.05)
    with start_emulator(emu) as server:
        c = WebClient(token=TOKEN, base_url=server.api_url)
        trigger = emu.issue_trigger_id()
        time.sleep(0.1)
        with pytest.raises(SlackApiError) as exc:
            c.views_open(trigger_id=trigger, view=MODAL)
        assert slack_error(exc) == "expired_trigger_id"


# -- faults --------------------------------------------------------------------


def test_ratelimited_looks_like_slack(emu: SlackEmulator) -> None:
    emu.fail("chat.postMessage", retry_after=7)
    resp = httpx.post(
        f"{emu.api_url}chat.postMessage",
        headers={"Authorization": f"Bearer {TOKEN}"},
        data={"channel": "C1", "text": "x"},
    )
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "7"
    assert resp.json() == {"ok": False, "error": "ratelimited"}
    assert emu.calls("chat.postMessage")[0].fault == "ratelimited"


def test_sync_sdk_retries_after_one_429(emu: SlackEmulator) -> None:
    client = WebClient(
        token=TOKEN,
        base_url=emu.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    cid = client.conversations_create(name="inc-rl")["channel"]["id"]
    emu.fail("chat.postMessage", retry_after=0)
    assert client.chat_postMessage(channel=cid, text="after 429")["ok"]
    assert [c.status for c in emu.calls("chat.postMessage")] == [429, 200]
    assert [m.text for m in emu.messages(cid)] == ["after 429"]


def test_async_sdk_retries_after_one_429(emu: SlackEmulator) -> None:
    async def scenario() -> None:
        client = AsyncWebClient(
            token=TOKEN,
            base_url=emu.api_url,
            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
        )
        cid = (await client.conversations_create(name="inc-arl"))["channel"]["id"]
        emu.fail("chat.postMessage", retry_after=1)
        started = time.monotonic()
        resp = await client.chat_postMessage(channel=cid, text="after 429")
        assert resp["ok"]
        assert time.monotonic() - started >= 1.0  # honoured Retry-After
        assert [m.text for m in emu.messages(cid)] == ["after 429"]

    asyncio.run(scenario())
    assert [c.status for c in emu.calls("chat.postMessage")] == [429, 200]


def test_http_500_and_slack_error_faults(emu: SlackEmulator, client: WebClient) -> None:
    emu.fail("conversations.create", status=500)
    with pytest.raises(SlackApiError) as exc:
        client.conversations_create(name="inc-500")
    assert exc.value.response.status_code == 500
    assert emu.channel_by_name("inc-500") is None
    assert client.conversations_create(name="inc-500")["ok"]  # only one call failed
    emu.fail("*", error="fatal_error", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as exc:
            client.auth_test()
        assert slack_error(exc) == "fatal_error"
    assert client.auth_test()["ok"]


def test_apply_fault_means_the_side_effect_happened(emu: SlackEmulator, client: WebClient) -> None:
    cid = client.conversations_create(name="inc-apply")["channel"]["id"]
    emu.fail("chat.postMessage", status=503, apply=True)
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel=cid, text="maybe posted")
    assert [m.text for m in emu.messages(cid)] == ["maybe posted"]


def test_delay_fault_times_the_client_out(emu: SlackEmulator) -> None:
    emu.fail("auth.test", delay=0.5)
    slow = WebClient(token=TOKEN, base_url=emu.api_url, timeout=0.1)
    with pytest.raises(TimeoutError):
        slow.auth_test()
    assert WebClient(token=TOKEN, base_url=emu.api_url).auth_test()["ok"]
    # the late call still lands (Slack did the work; the client gave up)
    deadline = time.monotonic() + 2
    while len(emu.calls("auth.test")) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [c.fault for c in emu.calls("auth.test")] == [None, "delay"]


def test_faults_over_http(emu: SlackEmulator, client: WebClient) -> None:
    remote = EmulatorClient(emu.url or "")
    remote.fail("auth.test", error="account_inactive", times=None)
    for _ in range(3):
        with pytest.raises(SlackApiError):
            client.auth_test()
    remote.clear_faults()
    assert client.auth_test()["ok"]
    remote.close()


# -- response_url ----------------------------------------------------------------


def test_response_url_recording(emu: SlackEmulator, client: WebClient) -> None:
    alice = emu.add_user("alice")
    cid = client.conversations_create(name="inc-resp")["channel"]["id"]
    url = emu.new_response_url(channel_id=cid, user_id=alice)
    assert url.startswith(f"{emu.url}/_emulator/response/")
    hook = WebhookClient(url)
    assert hook.send(text="only you can see this").status_code == 200
    assert hook.send(text="everyone sees this", response_type="in_channel").body == "ok"
    first, second = emu.responses(url)
    assert (first.response_type, first.text) == ("ephemeral", "only you can see this")
    assert second.response_type == "in_channel"
    assert [m.text for m in emu.messages(cid)] == ["everyone sees this"]
    assert emu.ephemerals(user=alice)[0].source == "response_url"


def test_response_url_replace_original_and_use_limit(emu: SlackEmulator, client: WebClient) -> None:
    cid = client.conversations_create(name="inc-replace")["channel"]["id"]
    ts = client.chat_postMessage(channel=cid, text="[Acknowledge]")["ts"]
    url = emu.new_response_url(channel_id=cid, user_id="U1", message_ts=ts)
    hook = WebhookClient(url)
    assert hook.send(text="Acknowledged by alice", replace_original=True).status_code == 200
    assert emu.message(cid, ts).text == "Acknowledged by alice"
    for _ in range(4):
        hook.send(text="more")
    assert hook.send(text="sixth").status_code == 404  # 5 uses max, as Slack
    assert len(emu.responses(url)) == 6


# -- control API -----------------------------------------------------------------


def test_state_endpoint_and_remote_seeding(emu: SlackEmulator, client: WebClient) -> None:
    remote = EmulatorClient(emu.url or "")
    uid = remote.add_user("grace", "Grace Hopper")
    cid = remote.add_channel("war-room", members=["UBOT", uid])
    client.chat_postMessage(channel=cid, text="from the bot")
    state = httpx.get(f"{emu.url}/_emulator/state").json()
    ch = next(c for c in state["channels"] if c["id"] == cid)
    assert ch["members"] == ["UBOT", uid]
    assert ch["messages"][0]["text"] == "from the bot"
    assert any(u["name"] == "grace" for u in state["users"])
    assert [c["method"] for c in state["calls"]] == ["chat.postMessage"]
    url = remote.new_response_url(channel_id=cid, user_id=uid)
    assert WebhookClient(url).send(text="hi").status_code == 200
    remote.reset()
    assert emu.channel_by_name("war-room") is None
    remote.close()


# -- Slack's limits: one case per limit ----------------------------------------------


def _txt(n: int, kind: str = "plain_text") -> dict:
    return {"type": kind, "text": "🔥" * n}  # an emoji is one character, as Slack counts


def _select(options: list[dict]) -> dict:
    return {
        "type": "section",
        "text": _txt(1, "mrkdwn"),
        "accessory": {"type": "static_select", "action_id": "pick", "options": options},
    }


def _opt(text: int = 1, value: int = 1) -> dict:
    return {"text": _txt(text), "value": "v" * value}


def _button(text: int = 1, value: int = 1, action_id: int = 1) -> dict:
    return {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "text": _txt(text),
                "value": "v" * value,
                "action_id": "a" * action_id,
            }
        ],
    }


def _context(n: int, length: int = 1) -> dict:
    return {"type": "context", "elements": [_txt(length, "mrkdwn") for _ in range(n)]}


# (what, blocks at the limit, blocks one over it)
MESSAGE_LIMITS = [
    (
        "section text 3000",
        [{"type": "section", "text": _txt(3000, "mrkdwn")}],
        [{"type": "section", "text": _txt(3001, "mrkdwn")}],
    ),
    (
        "10 fields",
        [{"type": "section", "fields": [_txt(1)] * 10}],
        [{"type": "section", "fields": [_txt(1)] * 11}],
    ),
    (
        "field 2000",
        [{"type": "section", "fields": [_txt(2000, "mrkdwn")]}],
        [{"type": "section", "fields": [_txt(2001, "mrkdwn")]}],
    ),
    (
        "header 150",
        [{"type": "header", "text": _txt(150)}],
        [{"type": "header", "text": _txt(151)}],
    ),
    ("button text 75", [_button(text=75)], [_button(text=76)]),
    ("button value 2000", [_button(value=2000)], [_button(value=2001)]),
    ("action_id 255", [_button(action_id=255)], [_button(action_id=256)]),
    ("option text 75", [_select([_opt(text=75)])], [_select([_opt(text=76)])]),
    ("option value 150", [_select([_opt(value=150)])], [_select([_opt(value=151)])]),
    ("100 options", [_select([_opt()] * 100)], [_select([_opt()] * 101)]),
    ("10 context elements", [_context(10)], [_context(11)]),
    ("context text 3000", [_context(1, 3000)], [_context(1, 3001)]),
    ("50 blocks", [_context(1)] * 50, [_context(1)] * 51),
]


@pytest.mark.parametrize(("what", "ok", "over"), MESSAGE_LIMITS, ids=[m[0] for m in MESSAGE_LIMITS])
def test_message_block_limits(client: WebClient, what: str, ok: list, over: list) -> None:
    cid = client.conversations_create(name="limits")["channel"]["id"]
    client.chat_postMessage(channel=cid, text="fallback", blocks=ok)
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel=cid, text="fallback", blocks=over)
    assert slack_error(exc) == "invalid_blocks", what


def test_message_text_limit_on_every_method(emu: SlackEmulator, client: WebClient) -> None:
    alice = emu.add_user("alice")
    cid = client.conversations_create(name="long-text")["channel"]["id"]
    client.conversations_invite(channel=cid, users=alice)
    at_limit, over = "🔥" * 40_000, "🔥" * 40_001
    ts = client.chat_postMessage(channel=cid, text=at_limit)["ts"]
    calls = [
        lambda t: client.chat_postMessage(channel=cid, text=t),
        lambda t: client.chat_update(channel=cid, ts=ts, text=t),
        lambda t: client.chat_postEphemeral(channel=cid, user=alice, text=t),
    ]
    for call in calls:
        call(at_limit)
        with pytest.raises(SlackApiError) as exc:
            call(over)
        assert slack_error(exc) == "msg_too_long"
    hook = WebhookClient(emu.new_response_url(channel_id=cid, user_id=alice))
    assert hook.send(text=at_limit).status_code == 200
    answer = hook.send(text=over)
    assert (answer.status_code, answer.body) == (400, "msg_too_long")


def _input(label: int = 1, element: dict | None = None, hint: int = 0) -> dict:
    block = {
        "type": "input",
        "label": _txt(label),
        "element": element or {"type": "plain_text_input", "action_id": "value"},
    }
    if hint:
        block["hint"] = _txt(hint)
    return block


def _text_el(**extra: object) -> dict:
    return {"type": "plain_text_input", "action_id": "value", **extra}


def _modal(**extra: object) -> dict:
    return {**MODAL, **extra}


VIEW_LIMITS = [
    ("title 24", _modal(title=_txt(24)), _modal(title=_txt(25))),
    ("submit 24", _modal(submit=_txt(24)), _modal(submit=_txt(25))),
    ("close 24", _modal(close=_txt(24)), _modal(close=_txt(25))),
    ("100 blocks", _modal(blocks=[_context(1)] * 100), _modal(blocks=[_context(1)] * 101)),
    ("input label 2000", _modal(blocks=[_input(2000)]), _modal(blocks=[_input(2001)])),
    ("hint 2000", _modal(blocks=[_input(hint=2000)]), _modal(blocks=[_input(hint=2001)])),
    (
        "placeholder 150",
        _modal(blocks=[_input(element=_text_el(placeholder=_txt(150)))]),
        _modal(blocks=[_input(element=_text_el(placeholder=_txt(151)))]),
    ),
    (
        "initial_value 3000",
        _modal(blocks=[_input(element=_text_el(initial_value="x" * 3000))]),
        _modal(blocks=[_input(element=_text_el(initial_value="x" * 3001))]),
    ),
    (
        "private_metadata 3000",
        _modal(private_metadata="🔥" * 3000),
        _modal(private_metadata="🔥" * 3001),
    ),
]


@pytest.mark.parametrize(("what", "ok", "over"), VIEW_LIMITS, ids=[v[0] for v in VIEW_LIMITS])
def test_view_limits(
    emu: SlackEmulator, client: WebClient, what: str, ok: dict, over: dict
) -> None:
    view_id = client.views_open(trigger_id=emu.issue_trigger_id("U1"), view=ok)["view"]["id"]
    for call in (
        lambda: client.views_open(trigger_id=emu.issue_trigger_id("U1"), view=over),
        lambda: client.views_push(trigger_id=emu.issue_trigger_id("U1"), view=over),
        lambda: client.views_update(view_id=view_id, view=over),
    ):
        with pytest.raises(SlackApiError) as exc:
            call()
        assert slack_error(exc) == "invalid_arguments", what
