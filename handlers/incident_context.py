"""Which incident a command is about (the channel it was typed in, or a number given), and
the shapes of the Slack ids and incident numbers read at the edge.

Everything read from a person or a payload is checked here before it reaches Postgres: an id
longer than its column or a number past Postgres' integer would otherwise fail only in the
database, and the person would be told "Storage is unavailable" for a typo.
"""

from __future__ import annotations

import re

from bot.slack.ui.incident_text import short_open_list
from handlers.subcommands import CommandCall
from incident import registry
from incident.escaping import escape_mrkdwn
from incident.models import Incident
from incident.numbers import PG_INT_MAX, parse_count

MAX_NUMBER = PG_INT_MAX  # incidents.number is a Postgres integer
SLACK_ID_MAX = 32  # commander_id, channel_id, actor, user_id...: String(32) in incident/models
_ID_BODY = rf"[A-Z0-9]{{1,{SLACK_ID_MAX - 1}}}"
USER_ID = re.compile(r"[UW]" + _ID_BODY)
CHANNEL_ID = re.compile(r"[CGD]" + _ID_BODY)
TEAM_ID = re.compile(r"[TE]" + _ID_BODY)


def is_user_id(value: object) -> bool:
    """`U…` or `W…` (Enterprise Grid), upper-case letters and digits, fits the column."""
    return isinstance(value, str) and USER_ID.fullmatch(value) is not None


def is_channel_id(value: object) -> bool:
    """`C…` (public), `G…` (private) or `D…` (a DM), fits the column."""
    return isinstance(value, str) and CHANNEL_ID.fullmatch(value) is not None


def is_team_id(value: object) -> bool:
    """`T…` (a workspace) or `E…` (an Enterprise Grid org)."""
    return isinstance(value, str) and TEAM_ID.fullmatch(value) is not None


def incident_number(value: object) -> int | None:
    """An incident number from a button value or a modal's metadata (ASCII digits or a JSON
    integer, 1 to Postgres' integer); None when it names no incident we could have."""
    try:
        return parse_count(value, minimum=1, maximum=MAX_NUMBER, what="incident number")
    except ValueError:
        return None


async def incident_for_call(call: CommandCall, *, number_arg: bool = True) -> Incident | None:
    """Resolve the incident or answer the person (ack) with why not; None means answered."""
    async with call.services.sessions() as session:
        inc = await registry.by_channel(session, call.channel_id)
        if inc is None and number_arg:
            first = call.args.strip().split(maxsplit=1)[0] if call.args.strip() else ""
            wanted = first.lstrip("#")
            if wanted.isascii() and wanted.isdigit():
                # beyond Postgres' integer no incident exists (and asking would fail)
                number = incident_number(wanted)
                inc = await registry.get(session, number) if number is not None else None
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
