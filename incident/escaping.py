"""Escaping of user and remote text before it goes back into Slack, so nobody can smuggle
`<!channel>`, a user mention or a disguised link through a title, an update, a note, a health
body or an error message. The one escaper: every builder of mrkdwn calls it."""

from __future__ import annotations


def escape_mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Markdown passes HTML through; the same entities keep a title like `<script>` inert wherever
# the post-mortem file is rendered, while still reading as the original text.
escape_markdown = escape_mrkdwn
