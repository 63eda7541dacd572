"""The one exception method handlers raise to produce a Slack error response."""

from __future__ import annotations

from typing import Any


class SlackError(Exception):
    """A Slack Web API failure: `{"ok": false, "error": ...}` plus optional extra keys.

    Handlers raise it instead of returning error dicts so that validation can
    bail out from any depth, and so that a failed call never half-mutates state.
    """

    def __init__(self, error: str, status: int = 200, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, **self.extra}


def invalid_arguments(*messages: str) -> SlackError:
    """Slack's generic argument error, with the `[ERROR] ...` explanation lines it sends."""
    return SlackError(
        "invalid_arguments",
        response_metadata={"messages": [f"[ERROR] {m}" for m in messages]},
    )
