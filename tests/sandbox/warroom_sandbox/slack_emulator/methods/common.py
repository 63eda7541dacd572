"""Helpers several method families share: paging, message content checks."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any, TypeVar

from warroom_sandbox.slack_emulator.args import Args
from warroom_sandbox.slack_emulator.blockkit import check_message_blocks, check_message_text
from warroom_sandbox.slack_emulator.errors import SlackError

T = TypeVar("T")


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        kind, _, value = base64.b64decode(cursor.encode(), validate=True).decode().partition(":")
        if kind != "offset":
            raise ValueError(cursor)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise SlackError("invalid_cursor") from None


def paginate(
    items: Sequence[T], args: Args, default_limit: int, max_limit: int = 1000
) -> tuple[list[T], str]:
    """Slack cursor paging: (page, next_cursor), next_cursor "" on the last page."""
    limit = args.number("limit", default_limit) or default_limit
    limit = max(1, min(limit, max_limit))
    cursor = args.string("cursor")
    start = _decode_cursor(cursor) if cursor else 0
    page = list(items[start : start + limit])
    end = start + len(page)
    return page, _encode_cursor(end) if end < len(items) else ""


def message_content(
    args: Args,
) -> tuple[str, list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
    """text/blocks/attachments of a chat.* call; Slack needs at least one of them."""
    text = args.string("text") or args.string("markdown_text") or ""
    blocks = args.raw("blocks")
    attachments = args.raw("attachments")
    if blocks in ("", []):
        blocks = None
    if attachments in ("", []):
        attachments = None
    if not text and blocks is None and attachments is None:
        raise SlackError("no_text")
    check_message_text(text)
    check_message_blocks(blocks)
    if attachments is not None and not isinstance(attachments, list):
        raise SlackError("invalid_attachments")
    if attachments is not None and len(attachments) > 100:
        raise SlackError("too_many_attachments")
    return text, blocks, attachments
