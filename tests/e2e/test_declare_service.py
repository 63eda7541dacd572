"""`/incident declare … --service <name>` and the declare form's Service field: the incident
is about a catalog service (alerts attach to it, its changes are shown); a name the catalog
does not know is refused, whole."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from warroom_sandbox.testbed import Testbed

from bot.adapters.catalog.model import Catalog, Service
from bot.adapters.catalog.store import CatalogStore
from tests.e2e.test_declare import incidents, responses_text, setup_finished
from tests.e2e.test_recent_changes import harness  # noqa: F401  (a fixture, used by name)


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


# -- the declare form -------------------------------------------------------------------------


def _services(bed: Testbed, names: list[str]) -> None:
    services = [Service(name=n, health_url="http://127.0.0.1:9/health") for n in names]
    bed.services.catalog = CatalogStore.of(Catalog(services=services))


def _open_form(bed: Testbed) -> Any:
    resp = bed.driver.command("declare", user_id=bed.people["alice"], channel_id=_general(bed))
    assert resp.status_code == 200
    return bed.wait_for(lambda: bed.emulator.views())[-1]


def _service_block(view: Any) -> dict | None:
    return next((b for b in view.payload["blocks"] if b.get("block_id") == "service"), None)


def _submit(bed: Testbed, service: dict | None, *, view_id: str = "VSERVICE1") -> Any:
    values: dict[str, Any] = {
        "title": {"value": {"type": "plain_text_input", "value": "Checkout errors"}},
        "severity": {"value": {"type": "static_select", "selected_option": {"value": "SEV2"}}},
        "commander": {"value": {"type": "users_select", "selected_user": bed.people["alice"]}},
    }
    if service is not None:
        values["service"] = {"value": service}
    return bed.driver.view_submission(
        "declare_incident",
        values,
        user_id=bed.people["alice"],
        private_metadata=_general(bed),
        view_id=view_id,
    )


def _picked(name: str) -> dict:
    return {"type": "static_select", "selected_option": {"value": name}}


def test_form_offers_the_catalog_services_sorted(bed: Testbed) -> None:
    _services(bed, ["search", "checkout", "api"])
    block = _service_block(_open_form(bed))
    assert block is not None and block["optional"] is True
    assert block["element"]["type"] == "static_select"
    assert [o["value"] for o in block["element"]["options"]] == ["api", "checkout", "search"]


def test_form_without_a_catalog_has_no_service_field(bed: Testbed) -> None:
    bed.services.catalog = CatalogStore.of(None)
    assert _service_block(_open_form(bed)) is None


@pytest.mark.usefixtures("harness")
def test_form_service_is_stored_and_the_card_shows_its_changes(bed: Testbed) -> None:
    """The same incident `--service checkout` makes: the row, the timeline, the card's
    Service and Recent changes (the harness runs checkout's Deployment on a fake cluster)."""
    view = _open_form(bed)
    assert _service_block(view) is not None
    resp = _submit(bed, _picked("checkout"), view_id=view.id)
    assert resp.status_code == 200 and not resp.content.strip()
    inc = bed.wait_for(lambda: setup_finished(bed), timeout=20)
    assert (inc["title"], inc["service"], inc["private"]) == ("Checkout errors", "checkout", False)
    declared = bed.rows("SELECT data FROM timeline_events WHERE kind = 'declared'")
    assert declared[0]["data"]["service"] == "checkout"
    card = bed.emulator.message(inc["channel_id"], inc["card_ts"])
    assert "*Service:* `checkout`" in card.text
    shown = json.dumps(card.blocks, ensure_ascii=False)
    assert "*Recent changes* (`checkout`)" in shown and "Suspect:" in shown


def test_form_service_and_private_together(bed: Testbed) -> None:
    _services(bed, ["checkout"])
    values_private = {"type": "checkboxes", "selected_options": [{"value": "private"}]}
    resp = bed.driver.view_submission(
        "declare_incident",
        {
            "title": {"value": {"type": "plain_text_input", "value": "Keys leaked"}},
            "severity": {"value": {"type": "static_select", "selected_option": {"value": "SEV1"}}},
            "commander": {"value": {"type": "users_select", "selected_user": bed.people["alice"]}},
            "service": {"value": _picked("checkout")},
            "private": {"value": values_private},
        },
        user_id=bed.people["alice"],
        private_metadata=_general(bed),
    )
    assert resp.status_code == 200
    inc = bed.wait_for(lambda: setup_finished(bed))
    assert (inc["service"], inc["private"]) == ("checkout", True)
    assert bed.emulator.channel(inc["channel_id"]).is_private


def test_form_left_without_a_service_declares_without_one(bed: Testbed) -> None:
    _services(bed, ["checkout"])
    resp = _submit(bed, {"type": "static_select", "selected_option": None})
    assert resp.status_code == 200
    inc = bed.wait_for(lambda: setup_finished(bed))
    assert inc["service"] is None


def test_form_typed_unknown_service_is_answered_inline_and_nothing_is_declared(
    bed: Testbed,
) -> None:
    """More services than a menu holds: a box to type the name, checked on submit. A wrong
    name is an error under the field naming the known services (cut to fit), never a row."""
    names = [f"svc-{i:03d}-" + "x" * 56 for i in range(150)]  # the catalog's longest names
    _services(bed, names)
    block = _service_block(_open_form(bed))
    assert block is not None and block["element"]["type"] == "plain_text_input"
    resp = _submit(bed, {"type": "plain_text_input", "value": "chekout"})
    assert resp.status_code == 200
    body = resp.json()
    assert body["response_action"] == "errors" and set(body["errors"]) == {"service"}
    error = body["errors"]["service"]
    assert "Not a catalog service" in error and names[0][:40] in error and len(error) <= 300
    time.sleep(0.3)
    assert incidents(bed) == []

    # typed right, it is the service
    resp = _submit(bed, {"type": "plain_text_input", "value": f" {names[7]} "}, view_id="V2")
    assert resp.status_code == 200
    inc = bed.wait_for(lambda: setup_finished(bed))
    assert inc["service"] == names[7]


def test_service_gone_from_a_reloaded_catalog_is_refused(bed: Testbed) -> None:
    """The form was opened with `checkout`; the catalog reloaded without it before submit."""
    _services(bed, ["checkout", "search"])
    assert _service_block(_open_form(bed)) is not None
    _services(bed, ["search"])
    body = _submit(bed, _picked("checkout")).json()
    assert body["response_action"] == "errors"
    assert body["errors"]["service"] == "Not a catalog service. Known: search"
    time.sleep(0.3)
    assert incidents(bed) == []
