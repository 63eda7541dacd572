"""The public status page model and the stakeholder summary text (pure), and the catalog's
``stakeholders:`` section: what is let out, and what is never."""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.catalog.load import load_catalog
from bot.adapters.catalog.model import CatalogError
from bot.web.status_page import render_atom, render_html, render_json
from incident.models import Incident
from incident.stakeholders import PublicUpdate, summary_text
from incident.status_page import OTHER, Update, build, clean

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ATOM = "{http://www.w3.org/2005/Atom}"


def incident(number: int, **over: object) -> Incident:
    fields: dict[str, object] = {
        "number": number,
        "title": f"Secret title {number}",
        "severity": "SEV1",
        "status": "investigating",
        "impact": "internal impact words",
        "commander_id": "U0COMMANDER",
        "reporter_id": "U0REPORTER",
        "declared_at": T0,
        "resolved_at": None,
        "service": "checkout",
        "private": False,
        "setup": {},
    }
    fields.update(over)
    return Incident(**fields)


def test_build_groups_current_by_service_drops_private_and_keeps_resolved() -> None:
    rows = [
        (incident(1), [Update(T0 + timedelta(minutes=5), "Payments are failing")]),
        (incident(2, service=None, severity="SEV3"), []),
        (incident(3, private=True), [Update(T0, "never shown")]),
        (
            incident(4, status="resolved", resolved_at=T0 + timedelta(hours=1)),
            [Update(T0 + timedelta(minutes=50), "Fixed")],
        ),
    ]
    state = build(rows, ["checkout", "search"])
    assert [i.number for i in state.current] == [2, 1]
    assert [i.number for i in state.resolved] == [4]
    assert set(state.by_service) == {"checkout", OTHER}
    data = state.to_dict()
    assert [s["name"] for s in data["services"]] == ["checkout", "search", OTHER]
    assert {s["name"]: s["status"] for s in data["services"]} == {
        "checkout": "degraded",
        "search": "operational",
        OTHER: "degraded",
    }
    raw = json.dumps(data)
    assert "Secret title" not in raw and "internal impact" not in raw
    assert "U0COMMANDER" not in raw and "never shown" not in raw
    assert data["current"][1]["updates"] == [
        {"at": "2026-12-01T09:05:00Z", "text": "Payments are failing"}
    ]
    assert state.updated_at == T0 + timedelta(hours=1)


def test_etag_changes_with_content_only() -> None:
    a = build([(incident(1), [])], ["checkout"])
    b = build([(incident(1), [])], ["checkout"])
    c = build([(incident(1), [Update(T0, "news")])], ["checkout"])
    assert a.etag() == b.etag() != c.etag()


def test_renderings_escape_hostile_text_and_atom_parses() -> None:
    hostile = '<script>alert(1)</script> & "quotes" \x00\x07'
    state = build([(incident(1), [Update(T0, clean(hostile))])], ["checkout"])
    html = render_html(state, "https://status.example")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in html
    assert "Secret title" not in html
    feed = ET.fromstring(render_atom(state, "https://status.example"))
    assert feed.tag == f"{ATOM}feed"
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 1
    content = entries[0].find(f"{ATOM}content")
    assert content is not None and "<script>alert(1)</script>" in (content.text or "")
    assert feed.find(f"{ATOM}updated") is not None and feed.find(f"{ATOM}id") is not None
    assert json.loads(render_json(state, ""))["current"][0]["updates"][0]["text"].startswith(
        "<script>"
    )


def test_empty_page_is_operational_and_still_a_valid_feed() -> None:
    state = build([], ["checkout"])
    assert "All systems operational" in render_html(state, "")
    feed = ET.fromstring(render_atom(state, "http://x"))
    assert feed.findall(f"{ATOM}entry") == []


def test_stakeholder_summary_shows_only_public_text() -> None:
    inc = incident(7, title="DB <b>down</b>")
    text = summary_text(
        inc,
        [
            PublicUpdate(T0, "first &lt;public&gt;"),
            PublicUpdate(T0 + timedelta(minutes=1), "later"),
        ],
        mentions=["<!subteam^S0EXEC>"],
    )
    assert "DB &lt;b&gt;down&lt;/b&gt;" in text
    assert "later" in text and "first" not in text  # the latest public update only
    assert "internal impact" not in text
    assert "<!subteam^S0EXEC>" in text
    private = summary_text(incident(8, private=True), [PublicUpdate(T0, "some words")])
    assert "Secret title" not in private and "some words" not in private
    assert "<@U0COMMANDER>" not in private


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalog.yml"
    path.write_text(textwrap.dedent(text))
    return path


SERVICES = """\
services:
  - name: checkout
    health_url: http://checkout.internal/health
"""


def test_catalog_stakeholders_read_levels_and_merge_targets(tmp_path: Path) -> None:
    catalog = load_catalog(
        write(
            tmp_path,
            SERVICES
            + """\
stakeholders:
  by_severity: {P1: {channels: ["#exec-updates"], usergroups: [S0EXEC]}}
  by_service: {checkout: {channels: [payments-stakeholders, exec-updates]}}
""",
        )
    )
    target = catalog.stakeholders.for_incident("SEV1", "checkout")
    assert target.channels == ["exec-updates", "payments-stakeholders"]
    assert target.usergroups == ["S0EXEC"]
    assert catalog.stakeholders.for_incident("SEV2", None).channels == []


@pytest.mark.parametrize(
    ("section", "line", "reason"),
    [
        ("  by_severity:\n    SEV9: {channels: [x]}\n", 6, "Unknown severity"),
        ("  by_service:\n    chekout: {channels: [x]}\n", 6, "unknown service 'chekout'"),
        ("  by_service:\n    checkout: {channels: [Not A Channel]}\n", 6, "not a channel name"),
    ],
)
def test_catalog_stakeholder_errors_name_file_and_line(
    tmp_path: Path, section: str, line: int, reason: str
) -> None:
    path = write(tmp_path, SERVICES + "stakeholders:\n" + section)
    with pytest.raises(CatalogError) as err:
        load_catalog(path)
    assert err.value.line == line, str(err.value)
    assert reason in str(err.value)
