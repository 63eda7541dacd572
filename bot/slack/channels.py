"""Finding and posting to channels by name, as the bot must for `#incidents`."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.logging_setup import get_logger

log = get_logger(__name__)


async def find_channel(client: AsyncWebClient, name: str) -> dict[str, Any] | None:
    name = name.lstrip("#")
    cursor: str | None = None
    while True:
        resp = await client.conversations_list(
            types="public_channel,private_channel", exclude_archived=True, limit=200, cursor=cursor
        )
        for ch in resp.get("channels", []):
            if ch.get("name") == name:
                return ch
        cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return None


# What Slack answers for an id that no longer names a live channel.
STALE = frozenset({"channel_not_found", "is_archived"})


class NamedChannels:
    """Caches name → id, and joins the channel the first time Slack says `not_in_channel`."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._ids: dict[str, str] = {}

    async def channel_id(self, name: str) -> str:
        if name not in self._ids:
            ch = await find_channel(self.client, name)
            if ch is None:
                raise ChannelMissing(name)
            self._ids[name] = ch["id"]
        return self._ids[name]

    async def post(self, name: str, **kwargs: Any) -> dict[str, Any]:
        """Post by name. A cached id Slack no longer knows (the channel was deleted or archived
        and made again) is looked up afresh once: those errors mean nothing was posted."""
        cached = name in self._ids
        channel = await self.channel_id(name)
        try:
            return await self._post_joined(channel, **kwargs)
        except SlackApiError as exc:
            if not cached or exc.response.get("error") not in STALE:
                raise
        self._ids.pop(name, None)
        return await self._post_joined(await self.channel_id(name), **kwargs)

    async def _post_joined(self, channel: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return (await self.client.chat_postMessage(channel=channel, **kwargs)).data  # type: ignore[return-value]
        except SlackApiError as exc:
            if exc.response.get("error") != "not_in_channel":
                raise
        await self.client.conversations_join(channel=channel)
        return (await self.client.chat_postMessage(channel=channel, **kwargs)).data  # type: ignore[return-value]


class ChannelMissing(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(f"channel #{name} not found")
        self.name = name


async def tell(client: AsyncWebClient, user: str, channel: str | None, text: str) -> None:
    """A modal has no response_url: an ephemeral where the person was, else a DM. Never
    raises: by now the request is done, and only the telling failed."""
    if channel:
        try:
            await client.chat_postEphemeral(channel=channel, user=user, text=text)
            return
        except SlackApiError:
            pass
    try:
        await client.chat_postMessage(channel=user, text=text)
    except SlackApiError as exc:
        log.warning("could not tell the user", error=exc.response.get("error"))
