"""Escaping of user text before it goes back into Slack, so nobody can smuggle `<!channel>`,
a user mention or a disguised link through a title, an update or a note."""

from __future__ import annotations


def escape_mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
