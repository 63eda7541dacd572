"""Who a private (security) incident invites besides its declarer and commander: the
catalog's ``security:`` user group members and whoever is on call on its schedule. Nothing
configured, or Slack unable to say: nobody more (the declarer can still invite by hand)."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.errors import SlackApiError

from bot.logging_setup import get_logger
from bot.services import Services
from bot.slack import usergroups
from incident.oncall import on_call

log = get_logger(__name__)


async def security_people(services: Services, now: datetime) -> list[str]:
    catalog = services.catalog.current
    security = catalog.security if catalog else None
    if catalog is None or security is None:
        return []
    people: set[str] = set()
    if security.schedule and (schedule := catalog.schedules().get(security.schedule)):
        people.add(on_call(schedule, now))
    if security.usergroup:
        people |= await _group(services, security.usergroup, security.group_id)
    return sorted(people)


async def _group(services: Services, group: str, group_id: str | None) -> set[str]:
    if group_id is None:  # a handle: looked up (and cached) like the paging groups
        caches = services.caches
        return set(
            await usergroups.group_members(
                services.slack, caches.usergroup_ids, caches.usergroup_members, group
            )
        )
    try:
        resp = await services.slack.usergroups_users_list(usergroup=group_id)
    except SlackApiError as exc:
        log.warning("security group lookup failed", error=exc.response.get("error"))
        return set()
    return set(resp.get("users") or [])
