"""Slack's request signing (v0 HMAC-SHA256), as Slack signs what it sends to apps.

basestring = "v0:{X-Slack-Request-Timestamp}:{raw body}", keyed with the
app's signing secret; the header is "v0=" + hex digest. Apps reject requests
whose timestamp is more than 5 minutes off.
"""

from __future__ import annotations

import hashlib
import hmac
import time


def signature(signing_secret: str, timestamp: int | str, body: bytes) -> str:
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    signing_secret: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature(signing_secret, ts, body),
    }
