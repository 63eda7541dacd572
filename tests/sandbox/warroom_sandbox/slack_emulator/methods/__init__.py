"""The Web API methods the emulator implements, keyed by Slack method name."""

from warroom_sandbox.slack_emulator.methods import (  # noqa: F401 - imported to register handlers
    auth_team,
    chat,
    conversations,
    pins,
    reactions,
    users,
    views,
)
from warroom_sandbox.slack_emulator.methods.registry import HANDLERS, Handler

__all__ = ["HANDLERS", "Handler"]
