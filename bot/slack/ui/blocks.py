"""Block Kit builders: the card, the declare modal, usage. No I/O here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.slack.ui import card_buttons
from bot.slack.ui.elements import (
    actions,
    button,
    context,
    mrkdwn_section,
    option,
    plain,
    select_input,
    text_input,
    user_input,
)
from incident import card
from incident.lifecycle import MAX_TEXT
from incident.models import Incident
from incident.severity import DEFINITIONS, SEVERITIES
from incident.text_limits import HEADER_TEXT, MODAL_TITLE, OPTION_VALUE

DECLARE_CALLBACK = "declare_incident"
SERVICE_BLOCK = "service"
MAX_SERVICE_MENU = 100  # Slack's limit on a static_select's options
# The same 3,000 as an update's impact; the card shortens what does not fit its field.
MAX_IMPACT = MAX_TEXT


def card_blocks(
    incident: Incident,
    updates: list[card.CardUpdate],
    acknowledged_by: str | None = None,
    extras: Sequence[dict[str, Any]] = (),
) -> list[dict[str, Any]]:
    """The pinned card; `acknowledged_by` is the timeline's actor of the acknowledgement (the
    incident row keeps only its time); `extras` are the sections other capabilities add
    (bot.flows.card_sections), shown between the updates and the buttons."""
    fields = card.card_fields(incident, updates, acknowledged_by)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(card.header(incident, escaped=False), HEADER_TEXT)},
    ]
    short = [f for f in fields if f[0] != card.UPDATES]
    blocks.append(
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": card.field_text(label, value)} for label, value in short
            ],
        }
    )
    blocks.append(mrkdwn_section(card.field_text(card.UPDATES, dict(fields)[card.UPDATES])))
    blocks.extend(extras)
    if incident.is_open:
        value = str(incident.number)
        elements = [
            button(b.action_id, b.label, value, style=b.style, confirm=b.confirm)
            for b in card_buttons.buttons()
        ]
        if elements:
            blocks.append(actions(f"card:{value}", *elements))
    else:
        blocks.append(context("Resolved: this card is final."))
    return blocks


def severity_options() -> list[dict[str, Any]]:
    return [option(sev, sev, DEFINITIONS[sev]) for sev in SEVERITIES]


def service_input(names: Sequence[str]) -> list[dict[str, Any]]:
    """The declare form's optional Service: the catalog service the incident is about (recent
    changes, alerts attaching, status pages follow from it). A menu of the catalog's names;
    more than a menu holds, or a name too long for an option's value, means a box to type the
    name (checked on submit), since a menu must never hide a service. No services: no field."""
    names = sorted(set(names))
    if not names:
        return []
    block: dict[str, Any] = {
        "type": "input",
        "block_id": SERVICE_BLOCK,
        "optional": True,
        "label": plain("Service"),
    }
    if len(names) <= MAX_SERVICE_MENU and all(len(n) <= OPTION_VALUE for n in names):
        block["element"] = {
            "type": "static_select",
            "action_id": "value",
            "placeholder": plain("The catalog service affected"),
            "options": [option(n, n) for n in names],
        }
        block["hint"] = plain("Its recent changes and alerts join the incident.")
        return [block]
    block["element"] = {
        "type": "plain_text_input",
        "action_id": "value",
        "placeholder": plain(f"e.g. {names[0]}"),
    }
    why = (
        f"{len(names)} services are more than a menu holds"
        if len(names) > MAX_SERVICE_MENU
        else "A service's name is too long for a menu"
    )
    block["hint"] = plain(f"{why}: type the catalog name of the service affected.")
    return [block]


def declare_modal(
    *,
    default_severity: str,
    commander: str,
    origin_channel: str,
    title: str = "",
    service_names: Sequence[str] = (),
) -> dict[str, Any]:
    """`service_names` are the catalog's services (none: no Service field)."""
    sev_opts = severity_options()
    initial_sev = next(o for o in sev_opts if o["value"] == default_severity)
    title_el: dict[str, Any] = {"type": "plain_text_input", "action_id": "value", "max_length": 150}
    if title:
        title_el["initial_value"] = title[:150]
    return {
        "type": "modal",
        "callback_id": DECLARE_CALLBACK,
        "private_metadata": origin_channel,
        "title": plain("Declare an incident", MODAL_TITLE),
        "submit": plain("Declare", MODAL_TITLE),
        "close": plain("Cancel", MODAL_TITLE),
        "blocks": [
            {"type": "input", "block_id": "title", "label": plain("Title"), "element": title_el},
            select_input(
                "severity",
                "Severity",
                sev_opts,
                initial_sev,
                hint="SEV1 critical · SEV2 high · SEV3 medium · SEV4 low",
            ),
            text_input(
                "impact",
                "Impact",
                max_length=MAX_IMPACT,
                optional=True,
                hint="Who is affected, and how?",
            ),
            *service_input(service_names),
            user_input("commander", "Incident commander", commander),
            {
                "type": "input",
                "block_id": "private",
                "optional": True,
                "label": plain("Security"),
                "element": {
                    "type": "checkboxes",
                    "action_id": "value",
                    "options": [
                        option(
                            "Private security incident",
                            "private",
                            "Private channel, no title announced, not on the status page",
                        )
                    ],
                },
            },
        ],
    }


def view_value(values: dict[str, Any], block_id: str) -> Any:
    """The value of a modal input whose action_id is `value`, whatever the element type."""
    el = (values.get(block_id) or {}).get("value") or {}
    if "selected_option" in el:
        return (el["selected_option"] or {}).get("value")
    if "selected_user" in el:
        return el["selected_user"]
    return el.get("value")
