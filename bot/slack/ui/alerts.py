"""Block Kit of alerts (no I/O): the card's alert line, the "Declare incident" offer in the
alerts channel, and the question to the commander once every alert has resolved."""

from __future__ import annotations

from typing import Any

from bot.slack.ui import card_buttons
from bot.slack.ui.elements import actions, button, context, mrkdwn_section
from incident.alerts import Alert
from incident.escaping import escape_mrkdwn
from incident.roles import UNASSIGNED, is_user
from incident.text_limits import CONTEXT_TEXT, SECTION_TEXT, clip_mrkdwn
from incident.timefmt import slack_time
from incident.words import plural

DECLARE = "alert_declare"  # the offer's button; its value is the alert's row id
MAX_NAMES = 10


def firing_text(names: list[str], firing: int, total: int) -> str:
    """`🔔 3 alerts firing: HighErrorRate, …`; all resolved: `🔕 2 alerts, all resolved`."""
    if firing == 0:
        return f"🔕 {plural(total, 'alert')}, all resolved"
    shown = sorted(dict.fromkeys(names))
    listed = ", ".join(escape_mrkdwn(n) for n in shown[:MAX_NAMES])
    if len(shown) > MAX_NAMES:
        listed += ", …"
    return clip_mrkdwn(f"🔔 {plural(firing, 'alert')} firing: {listed}", CONTEXT_TEXT, note="…")


def card_section_blocks(text: str) -> list[dict[str, Any]]:
    return [context(text)]


def _alert_text(alert: Alert, service: str | None) -> str:
    where = f" on `{escape_mrkdwn(service)}`" if service else ""
    lines = [f"🔔 *{escape_mrkdwn(alert.name)}* is firing{where} ({alert.reporter})"]
    if alert.summary and alert.summary != alert.name:
        lines.append(escape_mrkdwn(alert.summary))
    return clip_mrkdwn("\n".join(lines), SECTION_TEXT)


def _detail(alert: Alert) -> str:
    parts = [f"since {slack_time(alert.starts_at)}"]
    severity = alert.labels.get("severity")
    if severity:
        parts.append(f"severity `{escape_mrkdwn(severity[:40])}`")
    if alert.generator_url and alert.generator_url.startswith(("http://", "https://")):
        url = alert.generator_url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
        if len(url) < 2000:
            parts.append(f"<{url}|source>")
    return " · ".join(parts)


def offer_blocks(alert_id: int, alert: Alert, service: str | None) -> tuple[list[dict], str]:
    """An alert no rule declares: shown with a button that declares it."""
    text = _alert_text(alert, service)
    blocks = [
        mrkdwn_section(text),
        context(_detail(alert)),
        actions(
            f"alert:{alert_id}",
            button(DECLARE, "Declare incident", str(alert_id), style="danger"),
        ),
    ]
    return blocks, text


def offer_done_blocks(blocks: list[dict], note: str) -> list[dict]:
    """The offer once answered: the button replaced by what happened."""
    kept = [b for b in blocks if b.get("type") != "actions"]
    return [*kept, context(note)]


def all_resolved(number: int, commander: str, count: int) -> tuple[list[dict], str]:
    """Asked once when the incident's alerts have all resolved; the button is the card's
    Resolve (same action, same confirmation)."""
    who = f"<@{commander}>" if is_user(commander) and commander != UNASSIGNED else "Commander"
    alerts = "the alert" if count == 1 else f"all {plural(count, 'alert')}"
    verb = "has" if count == 1 else "have"
    text = (
        f"✅ {who}: {alerts} of incident #{number} {verb} resolved. If the trouble is over, "
        "resolve the incident; warroom never resolves it by itself."
    )
    blocks = [
        mrkdwn_section(text),
        actions(
            f"alerts_resolved:{number}",
            button(
                card_buttons.RESOLVE,
                "Resolve",
                str(number),
                style="danger",
                confirm=card_buttons.RESOLVE_DIALOG,
            ),
        ),
    ]
    return blocks, text
