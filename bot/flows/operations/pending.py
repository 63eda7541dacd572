"""A plan waiting for its Confirm or Cancel, kept server-side so the buttons carry only its id.

A plan names a Deployment, its namespace, cluster and every container's image before and after:
unbounded, while Slack refuses a button value over 2,000 characters. So the whole `Request`
is kept in Redis for a day (`bot.flows.card.stash_text`) and both buttons carry the short id.
It is not deleted when read: Slack may deliver a press twice, Cancel may follow Confirm, and
a second Confirm must still be answered "already done" (the nonce, kept with the plan, is what
`execute` checks in the timeline).

A value that is not such an id (too long, odd characters, a plan from before this change) is
refused; an id whose plan is gone (expired, Redis emptied) is `PlanExpired`, never a crash.
"""

from __future__ import annotations

import json
import re

from redis.exceptions import RedisError

from bot.flows.card import stash_text, unstash_text
from bot.flows.operations.errors import OpsError
from bot.flows.operations.request import Request
from bot.services import Services

KIND = "ops_plan"  # marks the stashed text, so another stash's id is never read as a plan
# stash ids are `secrets.token_urlsafe`; anything else did not come from warroom
_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")

NOT_A_PLAN = "This button does not describe an operation; nothing was done."
EXPIRED = "This plan has expired; run the command again. Nothing was done."
UNREACHABLE = "Redis is unreachable, so the plan cannot be {}; nothing was done. Try again shortly."


class PlanExpired(OpsError):
    """The button's plan is no longer kept (older than a day, or Redis lost it)."""


class NotAPlan(OpsError):
    """The button's value is not the id of a plan warroom showed."""


class PlanUnreachable(OpsError):
    """Redis did not answer: the plan may well exist, it cannot be read (or kept) now."""


def _looks_like_old_plan(value: str) -> bool:
    """A Confirm posted before plans were kept server-side carried the plan as JSON."""
    return value.lstrip().startswith("{")


async def keep(services: Services, req: Request) -> str:
    """Keep `req` and return the short id its Confirm/Cancel buttons carry."""
    text = json.dumps({"kind": KIND, "request": req.to_dict()}, separators=(",", ":"))
    try:
        return await stash_text(services, text)
    except (RedisError, OSError) as exc:
        raise PlanUnreachable(UNREACHABLE.format("kept")) from exc


async def load(services: Services, value: str) -> Request:
    """The plan a button names. NotAPlan for a value warroom never gave a button,
    PlanExpired once it is gone, PlanUnreachable when Redis does not answer."""
    value = value or ""
    if _looks_like_old_plan(value) and len(value) <= 2000:
        raise PlanExpired(EXPIRED)
    if not _ID.fullmatch(value):
        raise NotAPlan(NOT_A_PLAN)
    try:
        text = await unstash_text(services, value)
    except (RedisError, OSError) as exc:
        raise PlanUnreachable(UNREACHABLE.format("read")) from exc
    if text is None:
        raise PlanExpired(EXPIRED)
    try:
        kept = json.loads(text)
    except ValueError as exc:
        raise NotAPlan(NOT_A_PLAN) from exc
    if not isinstance(kept, dict) or kept.get("kind") != KIND:
        raise NotAPlan(NOT_A_PLAN)
    return Request.from_dict(kept.get("request"))
