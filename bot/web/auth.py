"""Who may see a page: a signed link from Slack (scoped to one incident or to all), or the
configured API token as `Authorization: Bearer <token>`. There is no anonymous access."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from starlette.requests import Request

from bot.adapters.links import Grant, LinkError
from bot.flows.postmortem.links import link_signer
from bot.services import Services


@dataclass(frozen=True)
class Access:
    grant: Grant | None  # None: the API token, which opens everything

    @property
    def editor(self) -> str:
        """Who a web edit is attributed to: the Slack user the link was made for, if any."""
        if self.grant is None:
            return "api"
        return self.grant.user or "web"

    def allows(self, number: int | None) -> bool:
        return self.grant is None or self.grant.allows(number)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise LinkError(403, "token_invalid", "Use `Authorization: Bearer <token>`.")
    return value.strip()


def authorize(
    services: Services, request: Request, *, token: str | None, number: int | None
) -> Access:
    """`number` is the incident asked for; None is the list of all of them."""
    bearer = _bearer(request)
    if bearer is not None:
        configured = services.settings.postmortem.api_token
        if configured is None or not hmac.compare_digest(
            bearer.encode(), configured.get_secret_value().encode()
        ):
            raise LinkError(403, "token_invalid", "The API token is not valid.")
        return Access(None)
    grant = link_signer(services).verify(token, now=services.clock.now())
    access = Access(grant)
    if not access.allows(number):
        what = "the list of post-mortems" if number is None else f"incident #{number}"
        raise LinkError(403, "wrong_scope", f"This link does not open {what}.")
    return access
