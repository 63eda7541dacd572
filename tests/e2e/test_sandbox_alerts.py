"""The sandbox's `alert` command: Alertmanager's webhook to the sandbox's warroom, as a person
trying the alert intake would use it."""

from __future__ import annotations

import re

from tests.e2e.test_sandbox import run_sandbox, tour, tour_group


def test_a_critical_alert_declares_and_resolving_asks_the_commander(tmp_path) -> None:
    out = run_sandbox(
        [
            "alert checkout HighErrorRate critical",
            "alert checkout HighErrorRate critical",
            "alert resolve checkout HighErrorRate",
            "alert resolve checkout Nothing",
            "alert checkout",
            "quit",
        ],
        tmp_path,
    )
    assert (
        "🔔 Alertmanager → warroom: HighErrorRate firing for checkout: declared incident #1" in out
    )
    assert "＃ channel #inc-1-higherrorrate-on-checkout created" in out
    # checkout's escalation pages whoever of bob and carol is on call today
    assert "You are paged" in out and re.search(r"Paging @(bob|carol) ", out), out
    assert "🚨 INCIDENT #1: HighErrorRate on checkout" in out
    assert "🔔 1 alert firing: HighErrorRate" in out
    # the same alert again (repeat_interval): nothing new
    assert "HighErrorRate firing for checkout: duplicate incident #1" in out
    assert out.count("＃ channel #inc-") == 1
    assert "HighErrorRate resolved for checkout: resolved incident #1" in out
    assert "warroom never resolves it by itself" in out
    assert "No alert Nothing is firing for checkout here." in out
    assert "Say `alert <service> <alertname> <severity>`" in out


def test_a_warning_is_offered_in_the_alerts_channel(tmp_path) -> None:
    out = run_sandbox(
        ["alert api DiskFilling warning", "go #alerts", "press Declare", "quit"], tmp_path
    )
    assert "DiskFilling firing for api: posted" in out
    assert "#alerts · warroom:" in out
    assert "[ Declare incident ]" in out
    assert "🚨 INCIDENT #1:" in out


@tour_group
def test_help_lists_the_alert_command() -> None:
    out = tour()  # its first line is `help`
    assert "alert <service> <alertname> <severity>" in out
    assert "alert resolve <service> <alertname>" in out


def test_nobody_acknowledges_and_the_next_person_is_paged(tmp_path) -> None:
    out = run_sandbox(["alert checkout HighErrorRate critical", "wait 6m", "quit"], tmp_path)
    assert "(6m later)" in out
    paged = re.findall(r"Paging @(bob|carol) ", out)
    assert len(paged) == 2 and set(paged) == {"bob", "carol"}, out  # step 1, then step 2
    assert out.index("(6m later)") < out.rindex("Paging @")
