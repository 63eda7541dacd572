"""Recent changes, pure (issue 15 A): rollouts from ReplicaSet revisions as `kubectl rollout
history` numbers them, the last 24 h newest first, the suspect, the words; plus the status
page verdicts and the catalog's `depends_on` check (issue 15 B)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.catalog.load import load_catalog
from bot.adapters.catalog.model import CatalogError
from bot.adapters.catalog.status_pages import StatusPage
from bot.adapters.checks.statuspage import Malformed, judge
from bot.slack.ui.changes import ROLLBACK_SUSPECT, changes_blocks, read_rollback_value
from incident import changes as C
from incident.checks import CheckResult, CheckStatus, summarise
from incident.postmortem_entries import describe

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def fact(n: int, image: str, ago: timedelta, **kw: object) -> C.RevisionFact:
    return C.RevisionFact(
        number=n,
        images={"app": image},
        change_cause=kw.pop("cause", None),  # type: ignore[arg-type]
        created=NOW - ago,
        is_current=bool(kw.pop("current", False)),
        **kw,  # type: ignore[arg-type]
    )


def test_rollouts_carry_images_before_and_after() -> None:
    facts = [
        fact(1, "img:v1", timedelta(hours=30)),
        fact(2, "img:v2", timedelta(hours=5), cause="deploy v2"),
        fact(3, "img:v3", timedelta(minutes=20), current=True),
    ]
    r1, r2, r3 = C.rollouts_of(None, "prod", "api", facts)
    assert r1.images_before is None and r1.previous_revision is None
    assert (r2.images_before, r2.images_after) == ({"app": "img:v1"}, {"app": "img:v2"})
    assert r3.previous_revision == 2 and r3.is_current


def test_a_reused_replicaset_counts_its_old_number_and_its_reuse_time() -> None:
    # v1 (rev 1) → v2 (rev 2) → `rollout undo`: v1's ReplicaSet becomes rev 3
    facts = [
        fact(2, "img:v2", timedelta(hours=3)),
        fact(
            3,
            "img:v1",
            timedelta(hours=40),
            current=True,
            earlier_numbers=(1,),
            reused_at=NOW - timedelta(minutes=30),
        ),
    ]
    r2, r3 = C.rollouts_of("eu", "prod", "api", facts)
    assert r2.images_before == {"app": "img:v1"}  # what ran before rev 2 was old rev 1
    assert r3.at == NOW - timedelta(minutes=30) and r3.reused
    assert r3.images_before == {"app": "img:v2"} and r3.previous_revision == 2
    # without evidence, "when" is the creation time (the documented limitation)
    no_evidence = C.rollouts_of(
        None, "prod", "api", [facts[0], fact(3, "img:v1", timedelta(hours=40))]
    )
    assert no_evidence[-1].at == NOW - timedelta(hours=40)


def test_recent_is_the_last_day_newest_first_and_the_suspect_is_before_the_start() -> None:
    facts = [
        fact(i, f"img:v{i}", timedelta(hours=h)) for i, h in [(1, 30), (2, 5), (3, 1.5), (4, 0.5)]
    ]
    rollouts = C.rollouts_of(None, "prod", "api", facts)
    latest = C.recent(rollouts, NOW)
    assert [r.revision for r in latest] == [4, 3, 2]
    started = NOW - timedelta(hours=1)  # rev 4 came after the incident began
    assert C.pick_suspect(latest, started).revision == 3
    assert C.pick_suspect(latest, started, timedelta(minutes=10)) is None
    assert C.incident_start(NOW, NOW - timedelta(hours=1)) == NOW - timedelta(hours=1)
    assert C.incident_start(NOW, None) == NOW


def test_gather_shows_five_and_keeps_the_suspect() -> None:
    facts = [fact(i, f"img:v{i}", timedelta(minutes=200 - 10 * i)) for i in range(1, 11)]
    rollouts = C.rollouts_of(None, "prod", "api", facts)
    started = NOW - timedelta(minutes=95)  # rev 10 (at -100 min) is the newest before it
    found = C.gather("checkout", rollouts, [], now=NOW, started=started)
    assert len(found.rollouts) == 5 and found.total == 10
    assert found.suspect is not None and found.suspect.revision == 10
    assert found.suspect in found.rollouts
    text = C.section_text(found)
    assert "_…and 5 more in the last 24 h_" in text
    assert "🔎 *Suspect:* rev 10 · `img:v9 → img:v10`" in text
    assert C.Changes.from_dict(found.to_dict()) == found


def test_words_are_escaped_clipped_and_dated_for_slack() -> None:
    facts = [
        fact(1, "img:v1", timedelta(hours=3)),
        fact(
            2, "img:<v2>&" + "x" * 400, timedelta(minutes=5), cause="a & b <@U1>" * 50, current=True
        ),
    ]
    rollouts = C.rollouts_of(None, "prod", "api", facts)
    found = C.gather(
        "checkout", rollouts, [C.Unavailable("eu:prod/api", "boom")], now=NOW, started=NOW
    )
    text = C.section_text(found)
    assert len(text) <= 3000
    assert "<v2>" not in text and "&lt;v2&gt;" in text and "<@U1>" not in text
    assert f"<!date^{int((NOW - timedelta(minutes=5)).timestamp())}^" in text
    assert "• changes unavailable: boom (eu:prod/api)" in text
    blocks = changes_blocks(found, 7, button_shown=True)
    [button] = blocks[1]["elements"]
    assert button["action_id"] == ROLLBACK_SUSPECT
    assert read_rollback_value(button["value"]) == {
        "n": 7,
        "c": None,
        "ns": "prod",
        "d": "api",
        "to": 1,
        "rev": 2,
    }
    assert read_rollback_value("nope") is None
    assert len(changes_blocks(found, 7, button_shown=False)) == 1


def test_no_button_when_the_suspect_is_no_longer_running() -> None:
    facts = [fact(1, "img:v1", timedelta(hours=3)), fact(2, "img:v2", timedelta(minutes=5))]
    found = C.gather(
        "checkout", C.rollouts_of(None, "prod", "api", facts), [], now=NOW, started=NOW
    )
    assert found.suspect is not None and not C.can_roll_back(found.suspect)
    assert len(changes_blocks(found, 1, button_shown=True)) == 1


def test_the_post_mortem_reads_a_suspect_change() -> None:
    assert describe("suspect_change", "Suspect change: prod/api revision 2", {}) == (
        "Suspect change: prod/api revision 2"
    )


# -- status pages ---------------------------------------------------------------------


def _page(**kw: object) -> StatusPage:
    return StatusPage(name="stripe", label="Stripe", url="https://status.stripe.com/", **kw)  # type: ignore[arg-type]


def _body(indicator: str, comps: list[tuple[str, str]], since: str | None = None) -> dict:
    incidents = [{"name": "x", "status": "investigating", "created_at": since}] if since else []
    return {
        "status": {"indicator": indicator},
        "components": [{"name": n, "status": s} for n, s in comps],
        "incidents": incidents,
    }


@pytest.mark.parametrize(
    ("indicator", "status"),
    [
        ("none", CheckStatus.OK),
        ("minor", CheckStatus.WARN),
        ("major", CheckStatus.FAIL),
        ("critical", CheckStatus.FAIL),
    ],
)
def test_indicator_verdicts(indicator: str, status: CheckStatus) -> None:
    assert judge(_page(), _body(indicator, []))[0] is status


def test_component_filter_and_reason() -> None:
    body = _body(
        "major",
        [("Payments API", "degraded_performance"), ("Dashboard", "major_outage")],
        "2026-12-02T09:12:00Z",
    )
    status, reason, _ = judge(_page(components=["Payments API"]), body)
    assert status is CheckStatus.WARN
    assert reason == "Stripe: minor — Payments API degraded (since 09:12 UTC)"
    assert _page().summary_url == "https://status.stripe.com/api/v2/summary.json"


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"status": {}},
        {"status": {"indicator": "purple"}},
        {"status": {"indicator": "none"}, "components": {}},
    ],
)
def test_malformed_pages(body: object) -> None:
    with pytest.raises(Malformed):
        judge(_page(), body)


def test_unknown_is_never_ok() -> None:
    results = [
        CheckResult("a", "statuspage", CheckStatus.OK, "", 1),
        CheckResult("a", "statuspage", CheckStatus.UNKNOWN, "", 1),
    ]
    summary = summarise(results)
    assert summary.status is CheckStatus.UNKNOWN and summary.unknown == 1
    assert summary.headline == "❔ 1 of 2 checks unknown"
    assert CheckStatus.UNKNOWN.emoji == "❔"


def test_depends_on_must_name_a_status_page(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yml"
    path.write_text(
        "status_pages:\n"
        "  - {name: stripe, label: Stripe, url: https://status.stripe.com}\n"
        "services:\n"
        "  - name: checkout\n"
        "    health_url: https://checkout.example.com/health\n"
        "    depends_on: [stripe, githb]\n"
    )
    with pytest.raises(CatalogError) as err:
        load_catalog(path)
    assert str(err.value).startswith(f"{path}:6:")
    assert "unknown status page 'githb' (declared: stripe)" in str(err.value)
    path.write_text(path.read_text().replace(", githb", ""))
    assert load_catalog(path).services[0].depends_on == ["stripe"]
