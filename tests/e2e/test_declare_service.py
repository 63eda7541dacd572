"""`/incident declare … --service <name>`: the incident is about a catalog service (alerts
attach to it, its changes are shown); a name the catalog does not know is refused, whole."""

from __future__ import annotations

from warroom_sandbox.testbed import Testbed

from bot.adapters.catalog.model import Catalog, Service
from bot.adapters.catalog.store import CatalogStore
from tests.e2e.test_declare import incidents, responses_text, setup_finished


def _general(bed: Testbed) -> str:
    return bed.emulator.channel_by_name("general").id


def _catalog(bed: Testbed) -> None:
    bed.services.catalog = CatalogStore.of(
        Catalog(services=[Service(name="checkout", health_url="http://127.0.0.1:9/health")])
    )


def test_declare_names_its_service_on_the_row_the_timeline_and_the_card(bed: Testbed) -> None:
    _catalog(bed)
    alice = bed.people["alice"]
    bed.driver.command(
        "declare SEV2 Checkout errors --service checkout", user_id=alice, channel_id=_general(bed)
    )
    inc = bed.wait_for(lambda: setup_finished(bed))
    assert inc["title"] == "Checkout errors"
    assert inc["service"] == "checkout"
    declared = bed.rows("SELECT data FROM timeline_events WHERE kind = 'declared'")
    assert declared[0]["data"]["service"] == "checkout"
    card = bed.emulator.messages(inc["channel_id"])[-1]
    assert "*Service:* `checkout`" in card.text


def test_unknown_service_is_refused_and_nothing_is_declared(bed: Testbed) -> None:
    _catalog(bed)
    resp = bed.driver.command(
        "declare SEV2 Checkout errors --service chekout",
        user_id=bed.people["alice"],
        channel_id=_general(bed),
    )
    assert "`--service chekout` is not a catalog service (known: `checkout`)" in (
        resp.json().get("text", "") + responses_text(bed)
    )
    assert incidents(bed) == []


def test_service_option_without_a_value_is_refused(bed: Testbed) -> None:
    resp = bed.driver.command(
        "declare SEV2 Checkout errors --service",
        user_id=bed.people["bob"],
        channel_id=_general(bed),
    )
    assert "`--service` needs a value" in resp.json().get("text", "")
    assert incidents(bed) == []
