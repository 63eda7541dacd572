"""The messages of the watch after resolution (bot.flows.aftercare): a failed check with a
*Reopen* button (Slack's own confirmation first, since it changes the incident's state), and
the quiet "all checks passed" at the end of the window. No I/O."""

from __future__ import annotations

from typing import Any

from bot.slack.ui.elements import button, mrkdwn_section, plain

REOPEN = "aftercare_reopen"

REOPEN_DIALOG = {
    "title": plain("Reopen this incident?"),
    "text": {
        "type": "mrkdwn",
        "text": "The incident goes back to *Mitigating*: the card's buttons and the reminders "
        "come back, and the commander is told.",
    },
    "confirm": plain("Reopen"),
    "deny": plain("Not now"),
    "style": "danger",
}


def failure_blocks(number: int, text: str) -> list[dict[str, Any]]:
    return [
        mrkdwn_section(text),
        {
            "type": "actions",
            "block_id": f"aftercare:{number}",
            "elements": [
                button(REOPEN, "Reopen", str(number), style="danger", confirm=REOPEN_DIALOG)
            ],
        },
    ]
