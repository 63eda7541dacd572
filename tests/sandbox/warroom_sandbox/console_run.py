"""Starting and stopping the sandbox around the console, from a terminal or a script."""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from warroom_sandbox.console import BANNER, Console
from warroom_sandbox.console_alerts import ALERTS_TOKEN
from warroom_sandbox.console_follow import Output
from warroom_sandbox.testbed import Testbed

# A script (the tests) waits longer for quiet after each line than a person does, so what it
# prints does not depend on how loaded the machine is; at its end it waits for warroom to
# finish what it started (a rollout and its verdict) before stopping everything.
SCRIPT_QUIET_S, SCRIPT_LIMIT_S = 1.0, 15.0
PERSON_QUIET_S, PERSON_LIMIT_S = 0.4, 4.0
FINAL_QUIET_S, FINAL_LIMIT_S = 2.5, 60.0


def run_sandbox(script: str | None = None) -> int:
    from bot import logging_setup

    logging_setup.configure("ERROR")
    logging.getLogger().setLevel(logging.CRITICAL)
    data_dir = Path(tempfile.mkdtemp(prefix="warroom-sandbox-"))
    print("starting the sandbox (embedded Postgres, Redis and Slack)…", flush=True)
    # The sandbox always has a (fake) cluster: show the card's Rollback…/Scale… buttons.
    # Alertmanager's token too, for the console's `alert` command (console_alerts).
    overrides = {
        "warroom_ops_card_buttons": True,
        "warroom_alerts_token": ALERTS_TOKEN,
        # reminders and escalations come due within a second of `wait`
        "reminder_interval_s": 1.0,
    }
    bed = Testbed(data_dir, settings_overrides=overrides).start()
    from warroom_sandbox.console_cluster import attach_fake_cluster

    cluster = attach_fake_cluster(bed)
    lines: Iterator[str] | None = None
    if script:
        lines = iter(Path(script).read_text().splitlines())
    elif not sys.stdin.isatty():
        lines = iter(sys.stdin.read().splitlines())
    output = Output(sys.stdout, interactive=lines is None)

    def read(question: str) -> str:
        """The next console line; EOFError when the script or stdin has no more."""
        if lines is None:
            return output.ask(question)
        answer = next(lines, None)
        if answer is None:
            raise EOFError
        output.lines([question + answer])
        return answer

    def ask(question: str) -> str:
        try:
            return read(question)
        except EOFError:
            return ""

    if lines is None:
        console = Console(bed, output, ask, quiet=PERSON_QUIET_S, limit=PERSON_LIMIT_S)
    else:
        console = Console(bed, output, ask, quiet=SCRIPT_QUIET_S, limit=SCRIPT_LIMIT_S)
    console.follower.skip()
    output.lines([*BANNER.splitlines(), f"warroom listens on {bed.url} (post-mortem pages too)"])
    console.follower.start()
    try:
        while True:
            console.fill_pending_forms()
            try:
                line = read(console.prompt)
            except EOFError:
                break
            if not console.handle(line):
                break
        if lines is not None:
            console.settle(FINAL_QUIET_S, FINAL_LIMIT_S)
    except KeyboardInterrupt:
        print()
    finally:
        console.follower.stop()
        cluster.stop()
        bed.stop()
        bed.redis_server.stop()
        bed.pg.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0
