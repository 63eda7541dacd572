"""Slack message text back to what its author typed.

Slack delivers message text with `&`, `<` and `>` escaped as `&amp;`, `&lt;` and `&gt;`, and
with its own markup between unescaped angle brackets: `<@U123>`, `<#C123|name>`,
`<https://…|label>`, `<!here>`, `<!subteam^S123|@group>`, `<!date^…|fallback>`. Stored as is,
`error rate < 1% & falling` reaches the post-mortem as `error rate &lt; 1% &amp; falling`, and
escaped a second time for HTML as `&amp;lt;`.

The one place that undoes it, so that text is decoded exactly once where it enters (the 📌
capture) and escaped again only for the output at hand. Pure: no Slack calls; names come from
the caller.

The markup must be split off *before* entities are decoded: an unescaped `<` is always Slack's
own delimiter, and `&lt;` is always the author's. Decoding first would turn a typed `<@U1>`
into a mention; decoding twice would turn a typed `&lt;` (sent as `&amp;lt;`) into `<`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

ENTITY = re.compile(r"&(amp|lt|gt);")
MARKUP = re.compile(r"<([^<>]*)>")
_CHARS = {"amp": "&", "lt": "<", "gt": ">"}
BROADCASTS = frozenset({"here", "channel", "everyone"})
# `data["text_format"]` of a stored event whose text went through `to_plain`; events without it
# were stored before this module existed and still hold Slack's escaped text.
PLAIN = "plain"

UserText = Callable[[str], str]


def decode(text: str) -> str:
    """Slack's three entities, one pass: `&amp;lt;` becomes `&lt;`, never `<`."""
    return ENTITY.sub(lambda m: _CHARS[m.group(1)], text)


def mention_token(user: str) -> str:
    """The post-mortem's own way of writing a person (resolved to a name when rendered)."""
    return f"<@{user}>"


def _split(inner: str) -> tuple[str, str | None]:
    target, bar, label = inner.partition("|")
    return target, (decode(label) if bar else None)


def _special(target: str, label: str | None) -> str:
    """`<!…>`: broadcasts, user groups, dates; anything else newer shows its label."""
    command, _, arg = target[1:].partition("^")
    if command in BROADCASTS:
        return f"@{command}"
    if label:
        return label if command != "subteam" or label.startswith("@") else f"@{label}"
    if command == "subteam" and arg:
        return f"@{arg}"
    return f"@{command}" if command else ""


def _markup(inner: str, user: UserText) -> str:
    target, label = _split(inner)
    if target.startswith("@"):
        return user(target[1:])
    if target.startswith("#"):
        return f"#{label or target[1:]}"
    if target.startswith("!"):
        return _special(target, label)
    url = decode(target)
    if not label or label == url or url.removeprefix("mailto:") == label:
        return label or url
    return f"{label} ({url})"


def to_plain(text: str | None, user: UserText = mention_token) -> str | None:
    """Slack's text as its author wrote it: entities decoded once, channel links as `#name`,
    broadcasts and groups as `@here`/`@group`, links as `label (url)`. People go through
    `user(id)`: by default they stay `<@U…>`, the form the post-mortem renderers turn into
    names, because names change and a lookup does not belong on the 📌 path."""
    if text is None:
        return None
    out: list[str] = []
    pos = 0
    for m in MARKUP.finditer(text):
        out.append(decode(text[pos : m.start()]))
        out.append(_markup(m.group(1), user))
        pos = m.end()
    out.append(decode(text[pos:]))
    return "".join(out)


def stored(text: str | None, data: Mapping[str, Any]) -> str | None:
    """A stored event's text as its author wrote it. Rows captured before `PLAIN` existed hold
    Slack's text verbatim and are decoded here, at render, instead of by a data migration: a
    row is decoded exactly once either way, and the marker says which way."""
    return text if data.get("text_format") == PLAIN else to_plain(text)
