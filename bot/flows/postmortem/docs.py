"""Building a post-mortem inside the running bot: one session, the bot's clock and policy, and
the display names of the people in it."""

from __future__ import annotations

from bot.services import Services
from bot.slack.people import display_names
from incident import postmortem
from incident.postmortem import PostMortem
from incident.postmortem_render import MENTION


async def load_postmortem(services: Services, number: int) -> PostMortem | None:
    async with services.sessions() as session:
        return await postmortem.build(
            session, number, now=services.clock.now(), policy=services.policy
        )


def people_in(pm: PostMortem) -> set[str]:
    users = {p.user_id for p in pm.participants}
    for item in pm.action_items:
        users.update(u for u in (item.owner_id, item.created_by) if u)
    for s in pm.sections:
        if s.edited_by:
            users.add(s.edited_by)
        users.update(MENTION.findall(s.body))
    for e in pm.timeline:  # a 📌'd message names people as `<@U…>` too
        users.update(MENTION.findall(e.text))
    return users


async def names_for(services: Services, pm: PostMortem) -> dict[str, str]:
    return await display_names(services.slack, services.caches.user_names, people_in(pm))
