"""The buttons on the incident card. Listener modules add theirs when they register, so the
card never shows a button that nothing answers."""

from __future__ import annotations

from dataclasses import dataclass

from bot.slack.ui.elements import plain

ACK = "incident_ack"
UPDATE = "incident_update"
SEVERITY = "incident_severity"
COMMANDER = "incident_commander"
RESOLVE = "incident_resolve"
UPDATE_VIEW = "incident_update_view"
SEVERITY_VIEW = "incident_severity_view"
COMMANDER_VIEW = "incident_commander_view"
RESOLVE_VIEW = "incident_resolve_view"

RESOLVE_CONFIRM = {
    "title": plain("Resolve this incident?"),
    "text": {
        "type": "mrkdwn",
        "text": "Resolving is final: the card freezes and the post-mortem is drafted. "
        "You will be asked for a one-paragraph summary next.",
    },
    "confirm": plain("Resolve"),
    "deny": plain("Not yet"),
    "style": "danger",
}


@dataclass(frozen=True)
class CardButton:
    action_id: str
    label: str
    style: str | None = None  # "primary" | "danger"
    confirm: dict | None = None
    order: int = 50


_BUTTONS: dict[str, CardButton] = {}


def add(button: CardButton) -> None:
    _BUTTONS[button.action_id] = button


def buttons() -> list[CardButton]:
    return sorted(_BUTTONS.values(), key=lambda b: (b.order, b.action_id))
