"""Block Kit of **Recent changes**: the card's section (rollouts, the suspect, its **Roll back
this** button) and the `/incident changes` answer. No I/O."""

from __future__ import annotations

import json
from typing import Any

from bot.slack.ui.elements import actions, button, mrkdwn_section
from incident.changes import Changes, Rollout, can_roll_back, section_text
from incident.text_limits import clip_mrkdwn

ROLLBACK_SUSPECT = "changes_rollback_suspect"
ROLLBACK_LABEL = "Roll back this"


def rollback_value(incident: int, rollout: Rollout) -> str:
    """What the button carries: the incident, the Deployment and the revision to go back to
    (exactly the arguments of `/incident rollback <deployment> --to-revision N`)."""
    return json.dumps(
        {
            "n": incident,
            "c": rollout.cluster,
            "ns": rollout.namespace,
            "d": rollout.deployment,
            "to": rollout.previous_revision,
            "rev": rollout.revision,
        },
        separators=(",", ":"),
    )


def read_rollback_value(raw: str) -> dict[str, Any] | None:
    """The button's value back, or None when it is not one of ours (a forged payload)."""
    try:
        data = json.loads(raw)
    except (TypeError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    ok = (
        isinstance(data.get("n"), int)
        and isinstance(data.get("to"), int)
        and isinstance(data.get("ns"), str)
        and isinstance(data.get("d"), str)
        and (data.get("c") is None or isinstance(data.get("c"), str))
    )
    return data if ok else None


def changes_blocks(changes: Changes, incident: int, *, button_shown: bool) -> list[dict[str, Any]]:
    """The section; with a suspect that can be undone, its button right below it."""
    blocks = [mrkdwn_section(section_text(changes))]
    suspect = changes.suspect
    if button_shown and suspect is not None and can_roll_back(suspect):
        blocks.append(
            actions(
                f"changes:{incident}",
                button(
                    ROLLBACK_SUSPECT,
                    ROLLBACK_LABEL,
                    rollback_value(incident, suspect),
                    style="danger",
                ),
            )
        )
    return blocks


def fallback_text(changes: Changes) -> str:
    """The notification text's lines for the card (a short form of the section)."""
    if changes.suspect is not None:
        s = changes.suspect
        return clip_mrkdwn(f"Suspect change: {s.target} rev {s.revision}", 300, note="…")
    if changes.unavailable:
        return "Recent changes: unavailable"
    return f"Recent changes: {changes.total} in the last 24 h" if changes.total else ""


def answer_text(changes: Changes) -> str:
    """`/incident changes`: the same section, as an ephemeral's text."""
    return section_text(changes)
