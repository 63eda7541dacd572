"""Shortening text to what Slack accepts, the one way every builder does it.

Slack refuses a whole message (`invalid_blocks`, `msg_too_long`) when one text is over its
limit, so a long title, impact or update must be shortened rather than sent. Two rules make
shortening safe: it happens AFTER escaping (escaping `&<>` makes text up to five times longer),
and it never cuts inside an entity (`&amp;`) or a mention/link (`<@U1>`, `<#C1|x>`,
`<https://…|label>`), which would leave broken markup or a dangling `<` that Slack rejects or
shows as garbage. Whoever reads a shortened text is told where the full one is.
"""

from __future__ import annotations

import re

# Slack's limits, in characters, that the product's builders size their texts to.
SECTION_TEXT = 3000
FIELD_TEXT = 2000
HEADER_TEXT = 150
BUTTON_TEXT = 75
OPTION_TEXT = 75
OPTION_VALUE = 150
PLACEHOLDER_TEXT = 150
MODAL_TITLE = 24
CONTEXT_TEXT = 3000
MESSAGE_TEXT = 40_000

NOTE = " … full text in the timeline"
ELLIPSIS = "…"

# What must stay whole: an HTML entity, or anything between < and > (mentions and links).
_UNITS = re.compile(r"&#?\w+;|<[^<>\n]*>")


def _safe_cut(text: str, cut: int, *, markup: bool) -> int:
    """The largest position <= cut that is not inside an entity, a mention or a link (when
    `markup`), nor between an emoji and its joiner or variation selector."""
    if markup:
        for m in _UNITS.finditer(text):
            if m.start() >= cut:
                break
            if m.end() > cut:
                cut = m.start()
                break
    while 0 < cut < len(text) and text[cut] in "\u200d\ufe0f\ufe0e":
        cut -= 1
    return cut


def clip_mrkdwn(text: str, limit: int, *, note: str = NOTE) -> str:
    """`text` (already escaped mrkdwn) in at most `limit` characters; when shortened it ends
    with `note` and the cut falls between entities and mentions, never inside one."""
    if len(text) <= limit:
        return text
    if len(note) >= limit:
        note = ELLIPSIS
    cut = _safe_cut(text, limit - len(note), markup=True)
    return text[:cut].rstrip() + note


def clip_plain(text: str, limit: int, *, note: str = ELLIPSIS) -> str:
    """Plain text (Slack never parses it, so no markup to keep whole) in at most `limit`
    characters, never empty: Slack refuses an empty text object too."""
    if len(text) > limit:
        text = text[: _safe_cut(text, limit - len(note), markup=False)].rstrip() + note
    return text or " "
