"""Display names for the Slack ids in a post-mortem, because a manager reading the page does
not know who U04ABCD is. Best effort: a Slack error or a slow answer leaves the id shown."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, MutableMapping

from slack_sdk.web.async_client import AsyncWebClient

MAX_CACHED = 5000
LOOKUP_TIMEOUT_S = 2.0
# user id -> display name (None: Slack had none, do not ask again); the process keeps one
# (`services.caches.user_names`).
NameCache = MutableMapping[str, str | None]


async def _lookup(slack: AsyncWebClient, user: str) -> str | None:
    try:
        resp = await slack.users_info(user=user)
    except Exception:  # a name is decoration; the page must render regardless
        return None
    u = resp.get("user") or {}
    profile = u.get("profile") or {}
    return profile.get("display_name") or profile.get("real_name") or u.get("real_name") or None


async def display_names(
    slack: AsyncWebClient, cache: NameCache, users: Iterable[str]
) -> dict[str, str]:
    """Names of `users` that Slack knows; asked once per user per process (`cache`)."""
    wanted = {u for u in users if u}
    missing = [u for u in wanted if u not in cache]
    if missing:
        tasks = [asyncio.ensure_future(_lookup(slack, u)) for u in missing[:100]]
        done, pending = await asyncio.wait(tasks, timeout=LOOKUP_TIMEOUT_S)
        for task in pending:
            task.cancel()
        if len(cache) > MAX_CACHED:
            cache.clear()
        for user, task in zip(missing, tasks, strict=False):
            if task in done:
                cache[user] = task.result()
    return {u: name for u in wanted if (name := cache.get(u))}


MAX_DIRECTORY_PAGES = 5


async def find_user_id(slack: AsyncWebClient, handle: str) -> str | None:
    """`@ana` typed as plain text (slash commands arrive unescaped) → her Slack id, by name,
    display name or real name; None when nobody or several people match."""
    wanted = handle.lstrip("@").strip().lower()
    if not wanted:
        return None
    matches: set[str] = set()
    cursor: str | None = None
    try:
        for _ in range(MAX_DIRECTORY_PAGES):
            resp = await slack.users_list(limit=200, cursor=cursor)
            for u in resp.get("members") or []:
                profile = u.get("profile") or {}
                names = {u.get("name"), profile.get("display_name"), profile.get("real_name")}
                if not u.get("deleted") and wanted in {n.lower() for n in names if n}:
                    matches.add(u["id"])
            cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
    except Exception:  # the item is still recorded, just without an owner
        return None
    return matches.pop() if len(matches) == 1 else None
