"""Which incident a command is about: the channel it was typed in, or a number given."""

from __future__ import annotations

from bot.slack.ui.incident_text import short_open_list
from handlers.subcommands import CommandCall
from incident import registry
from incident.escaping import escape_mrkdwn
from incident.models import Incident

MAX_NUMBER = 2**31 - 1  # incidents.number is a Postgres integer


async def incident_for_call(call: CommandCall, *, number_arg: bool = True) -> Incident | None:
    """Resolve the incident or answer the person (ack) with why not; None means answered."""
    async with call.services.sessions() as session:
        inc = await registry.by_channel(session, call.channel_id)
        if inc is None and number_arg:
            first = call.args.strip().split(maxsplit=1)[0] if call.args.strip() else ""
            wanted = first.lstrip("#")
            if wanted.isascii() and wanted.isdigit():
                # beyond Postgres' integer no incident exists (and asking would fail)
                number = int(wanted)
                inc = await registry.get(session, number) if number <= MAX_NUMBER else None
                if inc is None:
                    await call.ack(
                        text=f"There is no incident #{escape_mrkdwn(first.lstrip('#'))}."
                    )
                    return None
        if inc is None:
            others = await registry.open_incidents(session)
            await call.ack(
                text="This is not an incident channel. Run the command in the incident's channel"
                + (" or give its number" if number_arg else "")
                + ".\n"
                + short_open_list(others)
            )
            return None
    return inc
