"""Issue 6 end to end: signed Slack requests in, a stored post-mortem and a working link out."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
from warroom_sandbox.testbed import Testbed

from tests.e2e.test_lifecycle import _confirm_payload, declared

LINK = re.compile(r"<(https?://[^|>]+/postmortems/1\?[^|>]+)")


def test_resolving_from_slack_produces_a_readable_postmortem(bed: Testbed) -> None:
    inc = declared(bed)
    ch, alice, bob = inc["channel_id"], bed.people["alice"], bed.people["bob"]
    bed.driver.command("cause Connection pool exhausted", user_id=alice, channel_id=ch)
    bed.driver.command(f"action Add pool saturation alarm <@{bob}>", user_id=alice, channel_id=ch)
    bed.wait_for(lambda: bed.rows("SELECT 1 FROM action_items"))

    resp = bed.driver.command("resolve Raised the pool size", user_id=alice, channel_id=ch)
    message, value = _confirm_payload(resp)
    bed.driver.block_action(
        "incident_resolve_confirm", value, user_id=alice, channel_id=ch, message=message
    )

    bed.wait_for(lambda: bed.rows("SELECT 1 FROM postmortems WHERE incident_number = 1"))
    summary = bed.wait_for(
        lambda: [m.text for m in bed.emulator.messages(ch) if "/postmortems/1" in m.text], 10
    )[-1]
    link = urlsplit(LINK.search(summary).group(1))

    page = httpx.get(f"{bed.url}{link.path}?{link.query}")
    assert page.status_code == 200
    for expected in ("Connection pool exhausted", "Add pool saturation alarm", "Raised the pool"):
        assert expected in page.text
    assert httpx.get(f"{bed.url}{link.path}").status_code == 401  # no anonymous access
