"""A fake Slack (Web API + response_urls) served over real HTTP for tests and the sandbox.

emu = SlackEmulator()
server = start_emulator(emu)
client = AsyncWebClient(token="xoxb-test", base_url=server.api_url)
...
assert emu.messages(emu.channel_by_name("incidents").id)[0].text == "..."
server.stop()
"""

from warroom_sandbox.slack_emulator.client import EmulatorClient
from warroom_sandbox.slack_emulator.emulator import SlackEmulator
from warroom_sandbox.slack_emulator.errors import SlackError
from warroom_sandbox.slack_emulator.faults import Fault
from warroom_sandbox.slack_emulator.model import (
    Call,
    Channel,
    Ephemeral,
    Message,
    Pin,
    ResponseRecord,
    User,
    View,
)
from warroom_sandbox.slack_emulator.server import RunningServer, serve_in_thread, start_emulator

__all__ = [
    "Call",
    "Channel",
    "EmulatorClient",
    "Ephemeral",
    "Fault",
    "Message",
    "Pin",
    "ResponseRecord",
    "RunningServer",
    "SlackEmulator",
    "SlackError",
    "User",
    "View",
    "serve_in_thread",
    "start_emulator",
]
