"""What warroom does after a command returns, shown as it happens.

warroom acknowledges a command at once and keeps talking to Slack for seconds afterwards:
checks report, a rollout is edited in place, the verdict comes last. The emulator records
every Web API call and every response_url POST; the follower reads those records from a
background thread and hands each new one, oldest first, to the console for printing.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from warroom_sandbox.slack_emulator import SlackEmulator

try:  # the line being typed, to write it again under asynchronous output
    import readline
except ImportError:  # pragma: no cover - Windows
    readline = None  # type: ignore[assignment]


class Output:
    """The console's only writer: the reading thread and the follower share the terminal.

    While a person is typing at the prompt, output from the follower would land in the
    middle of their line; it clears the line first and writes the prompt (and what was
    typed so far) again after it.
    """

    def __init__(self, out: TextIO, interactive: bool) -> None:
        self.out = out
        self.interactive = interactive
        self.lock = threading.RLock()
        self._prompt: str | None = None

    @property
    def at_prompt(self) -> bool:
        """A person is typing: what arrives now interrupts them."""
        return self.interactive and self._prompt is not None

    def lines(self, lines: list[str]) -> None:
        with self.lock:
            waiting = self.at_prompt
            if waiting:
                self.out.write("\r\x1b[K")
            for line in lines:
                self.out.write(line + "\n")
            if waiting:
                typed = readline.get_line_buffer() if readline else ""
                self.out.write(f"{self._prompt}{typed}")
            self.out.flush()

    def ask(self, prompt: str) -> str:
        """input() with the prompt remembered, so asynchronous output can restore it."""
        with self.lock:
            self._prompt = prompt
        try:
            return input(prompt)
        finally:
            with self.lock:
                self._prompt = None


class Follower:
    """Polls the emulator's records and shows each new call or response once, in order.

    Every poll copies the emulator's whole log (it hands out deep copies), so the interval is
    a fifth of a second: quick enough to read as live, cheap enough for a long session.
    """

    def __init__(
        self,
        emulator: SlackEmulator,
        show: Callable[[Any], None],
        interval: float = 0.2,
    ) -> None:
        self.emu = emulator
        self.show = show
        self.interval = interval
        self.last_activity = time.monotonic()
        self._calls = 0
        self._responses = 0
        self._lock = threading.Lock()  # one poll at a time: each record is shown once
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="console-follower", daemon=True)

    def start(self) -> Follower:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception as err:  # keep following; say why once rather than die silently
                print(f"(console: could not read the emulator: {err})", file=sys.stderr)

    def skip(self) -> None:
        """Mark what is recorded so far as seen (the sandbox's own start-up is not news)."""
        with self._lock:
            self._calls, self._responses = len(self.emu.calls()), len(self.emu.responses())

    def poll(self) -> int:
        """Show what arrived since the last poll; the number of new records."""
        with self._lock:
            calls = self.emu.calls()
            responses = self.emu.responses()
            if len(calls) < self._calls:  # the emulator was reset
                self._calls = 0
            if len(responses) < self._responses:
                self._responses = 0
            new = calls[self._calls :] + responses[self._responses :]
            self._calls, self._responses = len(calls), len(responses)
            new.sort(key=lambda record: record.time)
            for record in new:
                try:
                    self.show(record)
                except Exception as err:  # one unreadable record must not hide the rest
                    print(f"(console: could not show a record: {err!r})", file=sys.stderr)
            if new:
                self.last_activity = time.monotonic()
            return len(new)

    def wait_quiet(self, quiet: float, limit: float) -> None:
        """Until warroom has not called Slack for `quiet` seconds (at most `limit`)."""
        start = time.monotonic()
        self.last_activity = max(self.last_activity, start)
        while time.monotonic() - start < limit:
            self.poll()
            if time.monotonic() - self.last_activity >= quiet:
                return
            time.sleep(self.interval)
