"""Private security incidents: a private channel with only the people involved, an
announcement without the title, a post-mortem only for its participants' own links, and a
timeline nothing is taken off."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from warroom_sandbox.testbed import Testbed

from bot.adapters.catalog.load import load_catalog
from bot.adapters.catalog.model import CatalogError
from bot.adapters.catalog.store import CatalogStore
from bot.flows.postmortem.links import link_expiry, link_signer
from incident.declaration import parse_declare
from tests.e2e.test_aftercare import resolve
from tests.e2e.test_declare import setup_finished
from tests.e2e.test_lifecycle import declared, events, incident, incidents_channel_texts
from tests.e2e.test_timeline_capture import deliver, pin_event, pins, unpin_event

TITLE = "Leaked deploy keys"


def security_catalog(bed: Testbed, tmp_path: Path) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_text(
        "services:\n"
        "  - {name: web, health_url: 'http://127.0.0.1:9/health'}\n"
        "oncall:\n"
        "  schedules:\n"
        "    security:\n"
        "      timezone: UTC\n"
        "      rotation: {start: 2020-01-06, every: 1w, handoff: monday 09:00, "
        f"people: [{bed.people['dave']}]}}\n"
        "security:\n"
        "  usergroup: security\n"
        "  schedule: security\n"
    )
    return path


@pytest.fixture
def secure(bed: Testbed, tmp_path: Path) -> Iterator[Testbed]:
    bed.emulator.add_usergroup("security", [bed.people["carol"]])
    bed.services.catalog = CatalogStore.of(load_catalog(security_catalog(bed, tmp_path)))
    yield bed


def declare_private(bed: Testbed) -> dict:
    general = bed.emulator.channel_by_name("general").id
    bed.driver.command(
        f"declare SEV1 {TITLE} --private", user_id=bed.people["alice"], channel_id=general
    )
    inc = bed.wait_for(lambda: setup_finished(bed))
    assert inc["setup"]["failed"] == {}
    return inc


def test_private_channel_invites_only_the_people_involved(secure: Testbed) -> None:
    bed = secure
    inc = declare_private(bed)
    assert inc["private"] is True and inc["title"] == TITLE
    channel = bed.emulator.channel(inc["channel_id"])
    assert channel is not None and channel.is_private
    people = bed.people
    expected = {people["alice"], people["carol"], people["dave"]}  # declarer, group, on call
    assert set(bed.emulator.members(inc["channel_id"])) - {"UBOT"} == expected
    [said] = [t for t in incidents_channel_texts(bed) if "#1" in t]
    assert "private" in said and "SEV1" in said
    assert TITLE not in said and "Leaked" not in said and inc["channel_id"] not in said
    [declared_event] = events(bed, "declared")
    assert declared_event["data"]["private"] is True


def test_later_announcements_keep_the_private_incident_nameless(secure: Testbed) -> None:
    bed = secure
    inc = declare_private(bed)
    ch = inc["channel_id"]
    bed.driver.command("sev SEV2", user_id=bed.people["alice"], channel_id=ch)
    bed.wait_for(lambda: incident(bed)["severity"] == "SEV2")
    bed.driver.command("sev SEV1", user_id=bed.people["alice"], channel_id=ch)
    bed.wait_for(lambda: any("raised to *SEV1*" in t for t in incidents_channel_texts(bed)))
    resolve(bed, inc)
    bed.wait_for(lambda: any("resolved" in t for t in incidents_channel_texts(bed)))
    later = [t for t in incidents_channel_texts(bed) if "raised" in t or "resolved" in t]
    assert later == ["🔒 Private incident #1 raised to *SEV1* (was SEV2).", later[1]]
    assert later[1].startswith("🔒 Private incident #1 resolved")
    for text in later:
        assert TITLE not in text and ch not in text and "<@" not in text


def test_the_declare_form_has_a_private_checkbox(secure: Testbed) -> None:
    bed = secure
    general = bed.emulator.channel_by_name("general").id
    alice = bed.people["alice"]
    bed.driver.command("declare", user_id=alice, channel_id=general)
    view = bed.wait_for(lambda: bed.emulator.views())[-1]
    assert any(b.get("block_id") == "private" for b in view.payload["blocks"])
    bed.driver.view_submission(
        view.callback_id,
        {
            "title": {"value": TITLE},
            "severity": {"value": {"type": "static_select", "selected_option": {"value": "SEV2"}}},
            "commander": {"value": {"type": "users_select", "selected_user": alice}},
            "private": {
                "value": {"type": "checkboxes", "selected_options": [{"value": "private"}]}
            },
        },
        user_id=alice,
        private_metadata=general,
        view_id=view.id,
    )
    inc = bed.wait_for(lambda: setup_finished(bed))
    assert inc["private"] is True
    assert bed.emulator.channel(inc["channel_id"]).is_private


def test_a_public_declare_stays_public(secure: Testbed) -> None:
    inc = declared(secure, title="Checkout is failing")
    assert inc["private"] is False
    assert not secure.emulator.channel(inc["channel_id"]).is_private
    assert parse_declare("SEV2 --private Keys leaked", "SEV3").private
    assert not parse_declare("SEV2 Keys leaked", "SEV3").private


def test_the_postmortem_opens_only_with_a_participants_link(secure: Testbed) -> None:
    bed = secure
    inc = declare_private(bed)
    resolve(bed, inc)
    public = declared(bed, title="Checkout is failing")
    resolve(bed, public)
    signer, expires = link_signer(bed.services), link_expiry(bed.services)

    def get(path: str, token: str) -> httpx.Response:
        return httpx.get(f"{bed.url}{path}", params={"t": token})

    mine = signer.token("1", expires, user=bed.people["alice"])
    assert get("/postmortems/1", mine).status_code == 200
    assert get("/api/incidents/1", mine).status_code == 200
    security = signer.token("1", expires, user=bed.people["carol"])  # invited: a participant
    assert get("/postmortems/1", security).status_code == 200

    outsider = signer.token("1", expires, user=bed.people["erin"])
    refused = get("/postmortems/1", outsider)
    assert refused.status_code == 403 and "private" in refused.text and TITLE not in refused.text
    assert get("/api/incidents/1", outsider).status_code == 403
    assert get("/postmortems/1.md", outsider).status_code == 403
    assert get("/postmortems/1", signer.token("1", expires)).status_code == 403  # nobody's

    everything = signer.token("*", expires, user=bed.people["alice"])
    assert get("/postmortems/1", everything).status_code == 403
    assert get("/api/incidents/1", everything).status_code == 403
    listing = get("/postmortems", everything)
    assert listing.status_code == 200
    assert TITLE not in listing.text and "Checkout is failing" in listing.text

    # in Slack: only a participant gets a link
    ch = inc["channel_id"]
    no = bed.driver.command("postmortem 1", user_id=bed.people["erin"], channel_id=ch)
    assert "is private" in no.json()["text"] and "/postmortems/1" not in no.json()["text"]
    yes = bed.driver.command("postmortem 1", user_id=bed.people["alice"], channel_id=ch)
    assert "/postmortems/1" in yes.json()["text"]


def test_the_timeline_is_never_trimmed(secure: Testbed) -> None:
    bed = secure
    inc = declare_private(bed)
    ch, bob = inc["channel_id"], bed.people["bob"]
    ts = bed.emulator.add_message(ch, bed.people["alice"], "found the leaked key in repo X")
    deliver(bed, pin_event(bed, ch, ts, "alice", bob))
    assert len(pins(bed)) == 1
    assert deliver(bed, unpin_event(bed, ch, ts, "alice", bob)).status_code == 200
    assert len(pins(bed)) == 1 and not pins(bed, withdrawn=True)[0]["withdrawn_at"]
    told = bed.wait_for(lambda: bed.emulator.ephemerals(ch, user=bed.people["alice"]))
    assert "preserved as evidence" in told[-1].text
    assert incident(bed)["private"] is True


def test_the_security_schedule_must_exist(bed: Testbed, tmp_path: Path) -> None:
    path = security_catalog(bed, tmp_path)
    path.write_text(path.read_text().replace("schedule: security", "schedule: secops"))
    with pytest.raises(CatalogError) as err:
        load_catalog(path)
    assert "unknown schedule 'secops'" in str(err.value) and ":" in str(err.value)
