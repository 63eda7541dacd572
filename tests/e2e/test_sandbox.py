"""`warroom sandbox` as a person uses it: typed lines in, readable Slack out."""

from __future__ import annotations

import functools
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# Starting a sandbox (a Python process, an embedded Postgres initialised from nothing, Redis)
# is most of a run's half minute: the tests that only read what a first session prints share
# one run, on one xdist worker.
TOUR_LINES = [
    "help",
    "frobnicate",
    "/deploy now",
    "press Nothing",
    "/incident declare SEV2 Checkout is failing",
    "show",
    "press Acknowledge",
    "quit",
]
tour_group = pytest.mark.xdist_group("sandbox-tour")


@functools.cache
def tour() -> str:
    """The output of one sandbox session: help, unknown input, then a declaration."""
    with tempfile.TemporaryDirectory(prefix="warroom-sandbox-tour-") as folder:
        return run_sandbox(TOUR_LINES, Path(folder))


def run_sandbox(lines: list[str], tmp_path) -> str:
    script = tmp_path / "console.txt"
    script.write_text("\n".join(lines) + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "sandbox", "--script", str(script)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stdout + result.stderr
    return result.stdout


@tour_group
def test_sandbox_declares_and_shows_channel_card_and_announcement() -> None:
    out = tour()
    assert "SLACK_BOT_TOKEN" in out.splitlines()[2]  # one line on switching to a real workspace
    assert "＃ channel #inc-1-checkout-is-failing created" in out
    assert "🚨 INCIDENT #1: Checkout is failing" in out
    assert "📌 pinned in #inc-1-checkout-is-failing" in out
    assert "#incidents · warroom:" in out
    assert "Join #inc-1-checkout-is-failing" in out
    assert "alice in #inc-1-checkout-is-failing>" in out
    assert "[ Acknowledge ]" in out and "[ Rollback… ]" in out
    assert "@alice acknowledged incident #1" in out
    assert "warroom edited its message" in out  # the card, in place


@tour_group
def test_sandbox_explains_unknown_input() -> None:
    out = tour()
    assert "Not a console command" in out
    assert "Only /incident is installed here" in out
    assert "No button labelled “Nothing”" in out


def test_sandbox_shows_a_rollout_as_it_happens_after_a_prefix_press_and_form(tmp_path) -> None:
    """The card's Rollback… by a prefix, the form's option by a prefix, then the rollout's
    progress (edited in place, seconds later) and its verdict, which arrive after the press."""
    out = run_sandbox(
        ["/incident declare SEV1 API errors", "press Roll", "ap", "", "press Conf", "quit"],
        tmp_path,
    )
    assert "▣ a form opened: Roll back" in out
    assert "Deployment (api (default/api) / checkout (default/checkout)): ap" in out
    assert "`app=registry.local/api:v2` → `app=registry.local/api:v1`" in out
    assert "⏳ Working on rollback of default/api…" in out
    progress = re.findall(r"⏳ default/api: Waiting for deployment \"api\" rollout to finish", out)
    assert progress, out  # at least one progress edit before the end
    assert 'default/api: deployment "api" successfully rolled out' in out
    assert "✅ rollback of default/api succeeded" in out
    assert out.count("warroom edited its message:") >= 2  # progress, then the rolled-out line
    assert out.index("Waiting for deployment") < out.index("✅ rollback of default/api succeeded")


def test_sandbox_presses_the_newest_button_and_links_to_its_real_port(tmp_path) -> None:
    """Two ephemerals both have a Confirm: the newer one (3 → 6) is pressed. An ambiguous
    prefix lists the labels. Post-mortem links use the port the sandbox listens on."""
    out = run_sandbox(
        [
            "/incident declare SEV2 Checkout is failing",
            "press R",
            "/incident scale api 5",
            "/incident scale api 6",
            "press Confirm",
            "press Reso",
            "y",
            "The deploy broke checkout",
            "/incident postmortem 1",
            "quit",
        ],
        tmp_path,
    )
    assert "“R” could be: Run checks · Rollback… · Resolve — say which." in out
    assert "🔧 @alice started: *Scale* `default/api`\n  ┃ replicas 3 → 6" in out
    assert "replicas 3 → 5\n" in out  # the older preview was shown, and not applied
    assert "started: *Scale* `default/api`\n  ┃ replicas 3 → 5" not in out
    assert "✅ scale of default/api succeeded" in out
    assert "@alice resolved incident #1" in out
    port = re.search(r"warroom listens on http://127\.0\.0\.1:(\d+)", out)
    assert port, out[:2000]
    links = re.findall(r"\((http://[^/]+)/postmortems/1\?t=", out)
    assert links and set(links) == {f"http://127.0.0.1:{port.group(1)}"}, links


def test_sandbox_rolls_back_the_fake_cluster(tmp_path) -> None:
    out = run_sandbox(
        ["/incident declare SEV1 API errors", "/incident rollback api", "press Confirm", "quit"],
        tmp_path,
    )
    assert "`app=registry.local/api:v2` → `app=registry.local/api:v1`" in out
    assert "✅ rollback of default/api succeeded" in out
    assert out.count("warroom edited its message:") >= 2  # progress, then the rolled-out line
