"""`warroom sandbox`: warroom with an emulated Slack (and cluster) in a terminal console.

The same testbed the test suite uses: embedded Postgres and Redis, the Slack emulator, the
real app on a real port, signed requests. A person types slash commands, sees what warroom
posted as readable text, and presses buttons by their label.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from warroom_sandbox.console_render import actions_in, render_blocks, render_mrkdwn
from warroom_sandbox.testbed import Testbed

BANNER = """\
warroom sandbox — Slack and the cluster are emulated on this machine; nothing leaves it.
To use a real workspace: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET, then `make run` (README).
Try:  /incident declare SEV2 Checkout is failing      then  press Acknowledge
Console: help · as <person> · go #channel · channels · show · say <text> · quit"""

CONSOLE_HELP = """\
/incident …         run a warroom command as the current person in the current channel
press <label> [opt] press a button (or choose an option) on the latest message that has it
as <person>         act as alice, bob, carol, dave or erin
go #channel         switch channel          channels   list channels
show                the last messages of the current channel
say <text>          post a message here (📌 it with `pin <n>` from `show`)
quit                leave (the sandbox's data is thrown away)"""


class Console:
    def __init__(self, bed: Testbed, out: TextIO, ask: Callable[[str], str]) -> None:
        self.bed = bed
        self.emu = bed.emulator
        self.out = out
        self.ask = ask
        self.user = bed.people["alice"]
        self.channel = self.emu.channel_by_name("general").id
        self._calls = 0
        self._responses = 0

    # rendering -----------------------------------------------------------------------
    def user_name(self, uid: str) -> str:
        u = self.emu.user(uid)
        return u.name if u else uid

    def channel_name(self, cid: str) -> str:
        c = self.emu.channel(cid)
        return c.name if c else cid

    def fmt(self, text: str) -> str:
        return render_mrkdwn(text, self.user_name, self.channel_name)

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def show_message(self, prefix: str, text: str, blocks: list[dict] | None) -> None:
        self.say(prefix)
        lines = render_blocks(blocks, self.fmt) if blocks else []
        if not lines:
            lines = ["┃ " + line for line in self.fmt(text).splitlines()]
        for line in lines:
            self.say("  " + line)

    @property
    def prompt(self) -> str:
        return f"{self.user_name(self.user)} in #{self.channel_name(self.channel)}> "

    # activity ------------------------------------------------------------------------
    def settle(self, quiet: float = 0.4, limit: float = 8.0) -> None:
        """Wait until warroom has stopped talking to Slack, then show what it did."""
        start = last_change = time.monotonic()
        seen = (len(self.emu.calls()), len(self.emu.responses()))
        while time.monotonic() - start < limit:
            time.sleep(0.05)
            now = (len(self.emu.calls()), len(self.emu.responses()))
            if now != seen:
                seen, last_change = now, time.monotonic()
            elif time.monotonic() - last_change >= quiet:
                break
        self.report()

    def report(self) -> None:
        calls = self.emu.calls()
        for call in calls[self._calls :]:
            self.describe(call)
        self._calls = len(calls)
        responses = self.emu.responses()
        for r in responses[self._responses :]:
            if r.user_id in (None, self.user):
                self.show_message("(only visible to you)", r.text, r.body.get("blocks"))
        self._responses = len(responses)

    def describe(self, call: Any) -> None:
        a, resp = call.args, call.response
        if not call.ok:
            if call.method not in ("auth.test",) and call.error != "not_in_channel":
                self.say(f"  ⚠ Slack refused {call.method}: {call.error}")
            return
        m = call.method
        if m == "conversations.create":
            ch = resp["channel"]
            self.say(f"＃ channel #{ch['name']} created")
        elif m == "conversations.invite":
            names = ", ".join("@" + self.user_name(u) for u in str(a.get("users", "")).split(","))
            self.say(f"＋ {names} added to #{self.channel_name(a['channel'])}")
            if self.user in str(a.get("users", "")):
                self.channel = a["channel"]
                self.say(f"  (you are now in #{self.channel_name(self.channel)})")
        elif m == "conversations.setTopic":
            self.say(
                f"✎ topic of #{self.channel_name(a['channel'])}: {self.fmt(a.get('topic', ''))}"
            )
        elif m == "chat.postMessage":
            where = self.channel_name(resp.get("channel", a.get("channel", "")))
            self.show_message(f"#{where} · warroom:", a.get("text", ""), _blocks(a))
        elif m == "chat.update":
            where = self.channel_name(a.get("channel", ""))
            self.show_message(
                f"#{where} · warroom edited its message:", a.get("text", ""), _blocks(a)
            )
        elif m == "chat.postEphemeral" and a.get("user") == self.user:
            self.show_message("(only visible to you)", a.get("text", ""), _blocks(a))
        elif m == "pins.add":
            self.say(f"📌 pinned in #{self.channel_name(a['channel'])}")
        elif m in ("views.open", "views.push", "views.update"):
            view = resp.get("view", {})
            self.say(f"▣ a form opened: {view.get('title', {}).get('text', '')}")
            self.pending_view = view

    # commands ------------------------------------------------------------------------
    def handle(self, line: str) -> bool:
        line = line.strip()
        if not line:
            return True
        if line in ("quit", "exit"):
            return False
        self.pending_view: dict | None = None
        word, _, rest = line.partition(" ")
        if word == "/incident":
            resp = self.bed.driver.command(rest, user_id=self.user, channel_id=self.channel)
            self.show_ack(resp)
        elif word == "press":
            self.press(rest)
        elif word == "as":
            self.switch_user(rest.strip().lstrip("@"))
            return True
        elif word == "go":
            self.go(rest.strip().lstrip("#"))
            return True
        elif word == "channels":
            for ch in self.emu.channels():
                mark = "*" if ch.id == self.channel else " "
                self.say(f" {mark} #{ch.name}")
            return True
        elif word == "show":
            self.show_channel()
            return True
        elif word == "say":
            self.emu.add_message(self.channel, self.user, rest)
            self.say("(posted)")
            return True
        elif word == "pin":
            self.pin(rest.strip())
        elif word == "help":
            self.say(CONSOLE_HELP)
            return True
        elif word.startswith("/"):
            self.say("Only /incident is installed here; try `/incident help`.")
            return True
        else:
            self.say("Not a console command; type `help`.")
            return True
        self.settle()
        while self.pending_view:
            view, self.pending_view = self.pending_view, None
            self.fill_view(view)
            self.settle()
        return True

    def show_ack(self, resp: Any) -> None:
        if resp.status_code != 200:
            self.say(f"  ⚠ warroom answered HTTP {resp.status_code}")
            return
        if not resp.content:
            return
        try:
            body = resp.json()
        except ValueError:
            body = {"text": resp.text}
        if body.get("text") or body.get("blocks"):
            self.show_message("(only visible to you)", body.get("text", ""), body.get("blocks"))

    def switch_user(self, name: str) -> None:
        if name not in self.bed.people:
            self.say(f"Nobody called {name}; people: {', '.join(self.bed.people)}")
            return
        self.user = self.bed.people[name]
        self.say(f"(you are now {name})")

    def go(self, name: str) -> None:
        ch = self.emu.channel_by_name(name)
        if ch is None:
            self.say(f"No channel #{name}; `channels` lists them.")
            return
        self.channel = ch.id
        self.show_channel()

    def show_channel(self) -> None:
        msgs = self.emu.messages(self.channel)[-8:]
        if not msgs:
            self.say("(no messages)")
        for i, msg in enumerate(msgs, 1):
            self.show_message(f"[{i}] @{self.user_name(msg.user)}:", msg.text, msg.blocks)

    def pin(self, index: str) -> None:
        msgs = self.emu.messages(self.channel)[-8:]
        if not index.isdigit() or not 1 <= int(index) <= len(msgs):
            self.say("Say which message: `show` numbers them, then `pin 2`.")
            return
        msg = msgs[int(index) - 1]
        event = {
            "type": "reaction_added",
            "user": self.user,
            "reaction": "pushpin",
            "item": {"type": "message", "channel": self.channel, "ts": msg.ts},
            "item_user": msg.user,
            "event_ts": f"{time.time():.6f}",
        }
        resp = self.bed.driver.event(event)
        self.say(f"(📌 added; warroom answered HTTP {resp.status_code})")

    def press(self, rest: str) -> None:
        label, option = rest.strip(), None
        for msg in self._candidates():
            for block_id, el in actions_in(msg["blocks"]):
                text = (el.get("text") or el.get("placeholder") or {}).get("text", "")
                if not label.lower().startswith(text.lower()) or not text:
                    continue
                option = label[len(text) :].strip() or None
                self.click(msg, block_id, el, option)
                return
        self.say(f"No button labelled “{label}” on the recent messages here.")

    def _candidates(self) -> Iterator[dict[str, Any]]:
        for r in reversed(self.emu.responses()):
            if r.body.get("blocks"):
                yield {"blocks": r.body["blocks"], "ts": None, "response_url": r}
        for msg in reversed(self.emu.messages(self.channel)):
            yield {"blocks": msg.blocks, "ts": msg.ts}

    def click(self, msg: dict, block_id: str, el: dict, option: str | None) -> None:
        if el.get("confirm"):
            c = el["confirm"]
            question = f"{_plain(c.get('title'))}: {_plain(c.get('text'))} [y/N] "
            if self.ask(question).strip().lower() not in ("y", "yes"):
                self.say("(cancelled)")
                return
        kwargs: dict[str, Any] = {}
        if el.get("type") == "static_select":
            opts = el.get("options", [])
            chosen = next(
                (o for o in opts if option and _plain(o.get("text")).lower() == option.lower()),
                None,
            )
            if chosen is None:
                names = ", ".join(_plain(o.get("text")) for o in opts)
                self.say(f"Choose one: press {_plain(el.get('placeholder'))} <{names}>")
                return
            kwargs["selected_option"] = chosen
        elif el.get("type") == "users_select":
            if not option or option.lstrip("@") not in self.bed.people:
                self.say(f"Say who: press {_plain(el.get('placeholder'))} @bob")
                return
            kwargs["selected_user"] = self.bed.people[option.lstrip("@")]
        self.bed.driver.block_action(
            el["action_id"],
            value=el.get("value"),
            user_id=self.user,
            channel_id=self.channel,
            message_ts=msg.get("ts"),
            block_id=block_id,
            **kwargs,
        )

    def fill_view(self, view: dict[str, Any]) -> None:
        """Ask for each input of a form in turn, then submit it."""
        self.say(f"▣ {view.get('title', {}).get('text', 'Form')} (empty answer: leave blank)")
        values: dict[str, dict[str, Any]] = {}
        for block in view.get("blocks", []):
            if block.get("type") != "input":
                continue
            el = block["element"]
            label = _plain(block.get("label"))
            if el["type"] == "static_select":
                names = [_plain(o.get("text")) for o in el.get("options", [])]
                answer = self.ask(f"  {label} ({' / '.join(names)}): ").strip()
                opt = next(
                    (o for o in el["options"] if _plain(o["text"]).lower() == answer.lower()), None
                )
                opt = opt or el.get("initial_option")
                values[block["block_id"]] = {
                    el["action_id"]: {"type": el["type"], "selected_option": opt}
                }
            elif el["type"] == "users_select":
                default = self.user_name(el.get("initial_user", self.user))
                answer = self.ask(f"  {label} (@person, empty: {default}): ")
                uid = self.bed.people.get(
                    answer.strip().lstrip("@"), el.get("initial_user", self.user)
                )
                values[block["block_id"]] = {
                    el["action_id"]: {"type": el["type"], "selected_user": uid}
                }
            else:
                answer = self.ask(f"  {label}: ")
                values[block["block_id"]] = {
                    el["action_id"]: {"type": el["type"], "value": answer or None}
                }
        resp = self.bed.driver.view_submission(
            view.get("callback_id", ""),
            values,
            user_id=self.user,
            private_metadata=view.get("private_metadata", ""),
            view_id=view.get("id"),
        )
        if resp.content:
            body = resp.json()
            for field, err in (body.get("errors") or {}).items():
                self.say(f"  ⚠ {field}: {err}")


def _plain(obj: Any) -> str:
    return obj.get("text", "") if isinstance(obj, dict) else str(obj or "")


def _blocks(args: dict[str, Any]) -> list[dict] | None:
    blocks = args.get("blocks")
    if isinstance(blocks, str):
        import json

        blocks = json.loads(blocks)
    return blocks


def run_sandbox(script: str | None = None) -> int:
    import logging

    from bot import logging_setup

    logging_setup.configure("ERROR")
    logging.getLogger().setLevel(logging.CRITICAL)
    data_dir = Path(tempfile.mkdtemp(prefix="warroom-sandbox-"))
    print("starting the sandbox (embedded Postgres, Redis and Slack)…", flush=True)
    # The sandbox always has a (fake) cluster: show the card's Rollback…/Scale… buttons.
    bed = Testbed(data_dir, settings_overrides={"warroom_ops_card_buttons": True}).start()
    from warroom_sandbox.console_cluster import attach_fake_cluster

    cluster = attach_fake_cluster(bed)
    lines: Iterator[str] | None = None
    if script:
        lines = iter(Path(script).read_text().splitlines())
    elif not sys.stdin.isatty():
        lines = iter(sys.stdin.read().splitlines())

    def read(question: str) -> str:
        """The next console line; EOFError when the script or stdin has no more."""
        if lines is None:
            return input(question)
        answer = next(lines, None)
        if answer is None:
            raise EOFError
        print(question + answer, flush=True)
        return answer

    def ask(question: str) -> str:
        try:
            return read(question)
        except EOFError:
            return ""

    console = Console(bed, sys.stdout, ask)
    print(BANNER, flush=True)
    try:
        while True:
            try:
                line = read(console.prompt)
            except EOFError:
                break
            if not console.handle(line):
                break
    except KeyboardInterrupt:
        print()
    finally:
        cluster.stop()
        bed.stop()
        bed.redis_server.stop()
        bed.pg.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0
