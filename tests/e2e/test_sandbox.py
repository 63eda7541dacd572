"""`warroom sandbox` as a person uses it: typed lines in, readable Slack out."""

from __future__ import annotations

import subprocess
import sys


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


def test_sandbox_declares_and_shows_channel_card_and_announcement(tmp_path) -> None:
    out = run_sandbox(
        ["/incident declare SEV2 Checkout is failing", "show", "press Acknowledge", "quit"],
        tmp_path,
    )
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


def test_sandbox_explains_unknown_input(tmp_path) -> None:
    out = run_sandbox(["frobnicate", "/deploy now", "press Nothing", "quit"], tmp_path)
    assert "Not a console command" in out
    assert "Only /incident is installed here" in out
    assert "No button labelled “Nothing”" in out


def test_sandbox_rolls_back_the_fake_cluster(tmp_path) -> None:
    out = run_sandbox(
        ["/incident declare SEV1 API errors", "/incident rollback api", "press Confirm", "quit"],
        tmp_path,
    )
    assert "`app=registry.local/api:v2` → `app=registry.local/api:v1`" in out
    assert "✅ rollback of default/api succeeded" in out
