"""Signed links to post-mortem pages. A link posted in Slack carries a token that says which
incident it opens (or `*`: every post-mortem) until when, signed with HMAC-SHA256; without a
valid token nothing is shown, so there is no anonymous access to the pages."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from bot.config import Settings
from bot.logging_setup import get_logger

log = get_logger(__name__)
ALL = "*"
_VERSION = "pm1"
_KEY_LABEL = b"warroom post-mortem links v1"


class LinkError(Exception):
    """Why a token was refused: 401 when there is none, 403 when it is bad or expired."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Grant:
    scope: str  # an incident number, or ALL
    expires_at: datetime
    user: str | None = None

    def allows(self, number: int | None) -> bool:
        """`number` None is the list of every post-mortem, which only an ALL link opens."""
        return self.scope == ALL or (number is not None and self.scope == str(number))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LinkSigner:
    def __init__(self, secret: bytes, public_url: str) -> None:
        self._key = hmac.new(secret, _KEY_LABEL, hashlib.sha256).digest()
        self.public_url = public_url.rstrip("/")

    def _sig(self, payload: str) -> str:
        mac = hmac.new(self._key, f"{_VERSION}.{payload}".encode(), hashlib.sha256)
        return _b64(mac.digest())

    def token(self, scope: str, expires_at: datetime, *, user: str | None = None) -> str:
        body = {"s": scope, "e": int(expires_at.timestamp())}
        if user:
            body["u"] = user
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{_VERSION}.{payload}.{self._sig(payload)}"

    def sign_link(
        self, number: int | None, expires_at: datetime, *, user: str | None = None
    ) -> str:
        """The page of incident `number` (None: the list of all post-mortems)."""
        scope = ALL if number is None else str(number)
        path = "/postmortems" if number is None else f"/postmortems/{number}"
        token = self.token(scope, expires_at, user=user)
        return f"{self.public_url}{path}?t={quote(token)}"

    def verify(self, token: str | None, *, now: datetime | None = None) -> Grant:
        if not token:
            raise LinkError(401, "token_missing", "This page needs a link from Slack.")
        try:
            version, payload, sig = token.split(".")
        except ValueError:
            raise LinkError(403, "token_invalid", "This link is not valid.") from None
        if version != _VERSION or not hmac.compare_digest(sig, self._sig(payload)):
            raise LinkError(403, "token_invalid", "This link is not valid.")
        try:
            body = json.loads(_unb64(payload))
            grant = Grant(
                str(body["s"]), datetime.fromtimestamp(int(body["e"]), UTC), body.get("u")
            )
        except (ValueError, KeyError, TypeError):
            raise LinkError(403, "token_invalid", "This link is not valid.") from None
        if grant.expires_at <= (now or datetime.now(UTC)):
            raise LinkError(
                403,
                "token_expired",
                "This link has expired. Run `/incident postmortem <number>` in Slack for a "
                "fresh one.",
            )
        return grant


def link_secret(settings: Settings) -> bytes:
    """WARROOM_WEB_SECRET, else derived from a Slack secret every replica shares; a random
    secret (links die with the process) only when there is none at all, as in a bare sandbox."""
    web_secret = settings.postmortem.web_secret
    for value in (
        web_secret.get_secret_value() if web_secret else None,
        settings.slack_signing_secret,
        settings.slack_app_token,
        settings.slack_bot_token,
    ):
        if value:
            return value.encode()
    log.warning("no WARROOM_WEB_SECRET or Slack secret: post-mortem links last one process")
    return secrets.token_bytes(32)


def signer_for(settings: Settings) -> LinkSigner:
    return LinkSigner(link_secret(settings), settings.public_url)
