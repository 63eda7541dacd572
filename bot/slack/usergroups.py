"""Slack user groups by handle. People configure a group's handle (`oncall`); Slack mentions
and lists members by id, so both lookups are cached in dicts the caller owns (one per
process, in `Caches`), which keeps this module free of any service wiring."""

from __future__ import annotations

import time

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.logging_setup import get_logger

log = get_logger(__name__)

MEMBERS_TTL_S = 60.0
# handle -> (monotonic expiry, members)
MemberCache = dict[str, tuple[float, frozenset[str]]]


async def group_id(client: AsyncWebClient, ids: dict[str, str], handle: str) -> str | None:
    """Slack mentions a group by id (`<!subteam^S123>`); an unknown handle asks Slack again,
    since a group made after start-up should work without a restart."""
    handle = handle.lstrip("@")
    if handle not in ids:
        resp = await client.usergroups_list()
        for group in resp.get("usergroups") or []:
            ids[group.get("handle", "")] = group["id"]
    return ids.get(handle)


async def group_members(
    client: AsyncWebClient,
    ids: dict[str, str],
    cache: MemberCache,
    handle: str | None,
    *,
    ttl_s: float = MEMBERS_TTL_S,
) -> frozenset[str]:
    """Members of a group, cached a minute; empty when Slack cannot say, so a permission
    check then falls back to naming who else may act instead of failing the request."""
    if not handle:
        return frozenset()
    hit = cache.get(handle)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    try:
        gid = await group_id(client, ids, handle)
        users: list[str] = []
        if gid:
            users = (await client.usergroups_users_list(usergroup=gid)).get("users") or []
    except SlackApiError as exc:
        log.warning("user group lookup failed", group=handle, error=exc.response.get("error"))
        return frozenset()
    members = frozenset(users)
    cache[handle] = (time.monotonic() + ttl_s, members)
    return members
