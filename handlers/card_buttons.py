"""The buttons on the incident card. Listener modules add theirs when they register, so the
card never shows a button that nothing answers."""

from __future__ import annotations

from dataclasses import dataclass


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
