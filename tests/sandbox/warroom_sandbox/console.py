"""`warroom sandbox`: warroom with an emulated Slack (and cluster) in a terminal console.

The same testbed the test suite uses: embedded Postgres and Redis, the Slack emulator, the
real app on a real port, signed requests. A person types slash commands, sees what warroom
posted as readable text, as it happens, and presses buttons by their label.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from incident.oncall import parse_duration
from warroom_sandbox.console_alerts import send_alert
from warroom_sandbox.console_follow import Follower, Output
from warroom_sandbox.console_press import fill_view, press
from warroom_sandbox.console_render import render_blocks, render_mrkdwn
from warroom_sandbox.slack_emulator.model import Call, ResponseRecord
from warroom_sandbox.testbed import Testbed

BANNER = """\
warroom sandbox — Slack and the cluster are emulated on this machine; nothing leaves it.
To use a real workspace: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET, then `make run` (README).
Try:  /incident declare SEV2 Checkout is failing      then  press Acknowledge
Console: help · as <person> · go #channel · channels · show · say <text> · quit"""

CONSOLE_HELP = """\
/incident …         run a warroom command as the current person in the current channel
press <label> [opt] press the newest button here with that label (a unique prefix will do:
                    `press Roll`), choosing an option of a menu the same way
as <person>         act as alice, bob, carol, dave or erin
go #channel         switch channel          channels   list channels
show                the last messages of the current channel
say <text>          post a message here (📌 it with `pin <n>` from `show`)
alert <service> <alertname> <severity>
                    Alertmanager's webhook, firing (`alert checkout HighErrorRate critical`
                    declares SEV1 and pages checkout's on-call; `warning` is offered in #alerts)
alert resolve <service> <alertname>   the same alert resolved
wait <duration>     let time pass (`wait 6m`): reminders and escalations come due as they would
quit                leave (the sandbox's data is thrown away)
What warroom does later (checks, a rollout's progress, its verdict) is shown when it happens."""


class Console:
    def __init__(
        self,
        bed: Testbed,
        output: Output,
        ask: Callable[[str], str],
        *,
        quiet: float = 0.4,
        limit: float = 8.0,
    ) -> None:
        """`quiet`: how long warroom must have been silent after a command before the next
        line is read; longer for scripts, so their output does not depend on the machine."""
        self.bed = bed
        self.emu = bed.emulator
        self.output = output
        self.ask = ask
        self.quiet, self.limit = quiet, limit
        self.user = bed.people["alice"]
        self.channel = self.emu.channel_by_name("general").id
        self.pending_view: dict[str, Any] | None = None
        self.follower = Follower(self.emu, self.describe)

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
        self.output.lines([text])

    def show_message(self, prefix: str, text: str, blocks: list[dict] | None) -> None:
        lines = render_blocks(blocks, self.fmt) if blocks else []
        if not lines:
            lines = ["┃ " + line for line in self.fmt(text).splitlines()]
        self.output.lines([prefix] + ["  " + line for line in lines])

    @property
    def prompt(self) -> str:
        return f"{self.user_name(self.user)} in #{self.channel_name(self.channel)}> "

    # what warroom did ------------------------------------------------------------------
    def describe(self, record: Call | ResponseRecord) -> None:
        """One record of the emulator, as a person in Slack would notice it (or nothing)."""
        if isinstance(record, ResponseRecord):
            self.describe_response(record)
        else:
            self.describe_call(record)

    def describe_response(self, r: ResponseRecord) -> None:
        if r.status >= 300:
            return
        body = r.body
        if body.get("delete_original") in (True, "true"):
            self.say("✕ warroom removed a message")
        elif body.get("response_type") == "in_channel":
            where = self.channel_name(r.channel_id or "")
            self.show_message(f"#{where} · warroom:", r.text, body.get("blocks"))
        elif r.user_id in (None, self.user):
            self.show_message("(only visible to you)", r.text, body.get("blocks"))

    def describe_call(self, call: Call) -> None:
        a, resp = call.args, call.response
        if not call.ok:
            if call.method not in ("auth.test",) and call.error != "not_in_channel":
                self.say(f"  ⚠ Slack refused {call.method}: {call.error}")
            return
        m = call.method
        if m == "conversations.create":
            self.say(f"＃ channel #{resp['channel']['name']} created")
        elif m == "conversations.invite":
            users = str(a.get("users", ""))
            names = ", ".join("@" + self.user_name(u) for u in users.split(","))
            self.say(f"＋ {names} added to #{self.channel_name(a['channel'])}")
            if self.user in users:
                self.channel = a["channel"]
                self.say(f"  (you are now in #{self.channel_name(self.channel)})")
        elif m == "conversations.setTopic":
            topic = self.fmt(a.get("topic", ""))
            self.say(f"✎ topic of #{self.channel_name(a['channel'])}: {topic}")
        elif m == "chat.postMessage":
            where = self.channel_name(resp.get("channel", a.get("channel", "")))
            self.show_message(f"#{where} · warroom:", a.get("text", ""), _blocks(a))
        elif m == "chat.update":
            where = self.channel_name(a.get("channel", ""))
            prefix = f"#{where} · warroom edited its message:"
            self.show_message(prefix, a.get("text", ""), _blocks(a))
        elif m == "chat.postEphemeral" and a.get("user") == self.user:
            self.show_message("(only visible to you)", a.get("text", ""), _blocks(a))
        elif m == "pins.add":
            self.say(f"📌 pinned in #{self.channel_name(a['channel'])}")
        elif m in ("views.open", "views.push", "views.update"):
            view = resp.get("view", {})
            hint = " (press Enter to fill it in)" if self.output.at_prompt else ""
            self.say(f"▣ a form opened: {view.get('title', {}).get('text', '')}{hint}")
            self.pending_view = view

    def settle(self, quiet: float | None = None, limit: float | None = None) -> None:
        """Wait until warroom has stopped talking to Slack (the follower prints meanwhile)."""
        self.follower.wait_quiet(quiet or self.quiet, limit or self.limit)

    def fill_pending_forms(self) -> None:
        while self.pending_view:
            view, self.pending_view = self.pending_view, None
            fill_view(self, view)
            self.settle()

    # commands ------------------------------------------------------------------------
    def handle(self, line: str) -> bool:
        """Run one console line; False to quit. Commands that reach warroom are followed by
        a wait for it to go quiet, so a form it opens is asked for before the next line."""
        line = line.strip()
        if line in ("quit", "exit"):
            return False
        word, _, rest = line.partition(" ")
        if not line:
            pass  # Enter alone fills a form that opened while the prompt was waiting
        elif word == "/incident":
            self.show_ack(self.bed.driver.command(rest, user_id=self.user, channel_id=self.channel))
        elif word == "press":
            press(self, rest)
        elif word == "pin":
            self.pin(rest.strip())
        elif word == "alert":
            send_alert(self, rest)
        elif word == "wait":
            self.wait(rest.strip())
        else:
            self.local(word, rest)
            return True
        self.settle()
        self.fill_pending_forms()
        return True

    def wait(self, text: str) -> None:
        """Move the sandbox's clock (warroom reads it) and give the loops a few rounds."""
        try:
            step = parse_duration(text)
        except ValueError as exc:
            self.say(f"{exc} (e.g. `wait 6m`)")
            return
        self.bed.clock.advance(step)
        self.say(f"({text} later)")
        time.sleep(3 * self.bed.settings.reminder_interval_s + 0.5)

    def local(self, word: str, rest: str) -> None:
        """Console commands that do not involve warroom."""
        if word == "as":
            self.switch_user(rest.strip().lstrip("@"))
        elif word == "go":
            self.go(rest.strip().lstrip("#"))
        elif word == "channels":
            for ch in self.emu.channels():
                mark = "*" if ch.id == self.channel else " "
                self.say(f" {mark} #{ch.name}")
        elif word == "show":
            self.show_channel()
        elif word == "say":
            self.emu.add_message(self.channel, self.user, rest)
            self.say("(posted)")
        elif word == "help":
            self.say(CONSOLE_HELP)
        elif word.startswith("/"):
            self.say("Only /incident is installed here; try `/incident help`.")
        else:
            self.say("Not a console command; type `help`.")

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


def _blocks(args: dict[str, Any]) -> list[dict] | None:
    blocks = args.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return blocks
