"""The action and view ids of the incident card and its modals, and the buttons the card
shows. The lifecycle buttons are always answered (handlers.card_actions), so they are a fixed
list; buttons that need a cluster are added by their listener module when it registers, so
the card never shows a button that nothing answers."""

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
# `/incident resolve` asks once more with these two buttons.
RESOLVE_CONFIRM = "incident_resolve_confirm"
RESOLVE_CANCEL = "incident_resolve_cancel"

# Slack's own "are you sure?" dialog on a Resolve button.
RESOLVE_DIALOG = {
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


LIFECYCLE_BUTTONS: tuple[CardButton, ...] = (
    CardButton(ACK, "Acknowledge", style="primary", order=10),
    CardButton(UPDATE, "Post update", order=20),
    CardButton(SEVERITY, "Change severity", order=30),
    CardButton(COMMANDER, "Assign commander", order=40),
    CardButton(RESOLVE, "Resolve", style="danger", confirm=RESOLVE_DIALOG, order=90),
)

# Buttons a listener module shows only when it can answer them (see the module docstring).
_BUTTONS: dict[str, CardButton] = {}


def add(button: CardButton) -> None:
    _BUTTONS[button.action_id] = button


def buttons() -> list[CardButton]:
    shown = {b.action_id: b for b in LIFECYCLE_BUTTONS} | _BUTTONS
    return sorted(shown.values(), key=lambda b: (b.order, b.action_id))
