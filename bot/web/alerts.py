"""Alert intake over HTTP: `POST /alerts/alertmanager` (Alertmanager's webhook, version 4,
`Authorization: Bearer <WARROOM_ALERTS_TOKEN>` from its `http_config.authorization`) and
`POST /alerts/sentry` (Sentry's integration-platform webhooks, `Sentry-Hook-Signature` the
hex HMAC-SHA256 of the body with `SENTRY_WEBHOOK_SECRET`: resource `event_alert`, an issue
alert firing, and resource `issue`, an issue created, resolved or unresolved; its other
actions and other resources are answered 200 `ignored`).

Listener only: check who sent it, read the body (incident.alerts), hand it to the flow
(bot.flows.alerts.intake), answer JSON. A body that cannot be read is a 400 naming what is
wrong; storage down is a 503 so that Alertmanager sends it again; never a stack trace.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.adapters.locks import LockUnavailable
from bot.flows.alerts.intake import receive
from bot.flows.alerts.store import ServiceBusy
from bot.flows.errors import is_storage_error
from bot.logging_setup import get_logger
from bot.metrics import ALERTS_RECEIVED
from bot.services import Services
from bot.web.html import json_error
from incident.alerts import (
    ALERTMANAGER,
    SENTRY,
    Notification,
    PayloadError,
    load_json,
    parse_alertmanager,
    parse_sentry,
    parse_sentry_issue,
)

log = get_logger(__name__)
MAX_BODY = 1024 * 1024  # Alertmanager's groups are far smaller; Sentry's events too
SENTRY_READERS: dict[str, Callable[[dict], Notification | None]] = {
    "event_alert": parse_sentry,
    "issue": parse_sentry_issue,
}


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


async def _body(request: Request) -> bytes:
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise Refused(413, "too_large", f"The body is over {MAX_BODY} bytes.")
    return raw


def _configured(secret: SecretStr | None, variable: str) -> bytes:
    value = secret.get_secret_value() if secret is not None else ""
    if not value:
        raise Refused(404, "not_configured", f"This alert intake is off: {variable} is not set.")
    return value.encode()


def _check_bearer(services: Services, request: Request) -> None:
    expected = _configured(services.settings.warroom_alerts_token, "WARROOM_ALERTS_TOKEN")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    ok = scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected)
    if not ok:
        raise Refused(401, "unauthorized", "Send `Authorization: Bearer <WARROOM_ALERTS_TOKEN>`.")


def _check_signature(services: Services, request: Request, body: bytes) -> None:
    secret = _configured(services.settings.sentry_webhook_secret, "SENTRY_WEBHOOK_SECRET")
    given = request.headers.get("sentry-hook-signature", "").strip().lower()
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Refused(401, "bad_signature", "Sentry-Hook-Signature does not match the body.")


async def _handle(
    services: Services,
    request: Request,
    source: str,
    read: Callable[[Request, bytes], Notification | None],
) -> Response:
    try:
        if source == ALERTMANAGER:
            _check_bearer(services, request)  # before reading a body nobody may send
        body = await _body(request)
        if source == SENTRY:
            _check_signature(services, request, body)
        notification = read(request, body)
        if notification is None:
            return JSONResponse({"status": "ignored"})
        results = await receive(services, notification)
    except Refused as exc:
        ALERTS_RECEIVED.labels(source, exc.code).inc()
        resp = json_error(exc.status, exc.code, exc.message)
        if exc.status == 401 and source == ALERTMANAGER:
            resp.headers["WWW-Authenticate"] = 'Bearer realm="warroom"'
        return resp
    except PayloadError as exc:
        ALERTS_RECEIVED.labels(source, "bad_request").inc()
        return json_error(400, "bad_request", str(exc))
    except Exception as exc:
        if is_storage_error(exc) or isinstance(exc, LockUnavailable | ServiceBusy):
            ALERTS_RECEIVED.labels(source, "unavailable").inc()
            log.warning(
                "alert intake: storage unavailable",
                error_type=type(exc).__name__,
                error=str(getattr(exc, "orig", None) or exc).split("\n")[0][:200],
            )
            resp = json_error(503, "unavailable", "Storage is unavailable; send it again.")
            resp.headers["Retry-After"] = "5"
            return resp
        ALERTS_RECEIVED.labels(source, "error").inc()
        log.error("alert intake failed", source=source, exc_info=exc)
        return json_error(500, "internal", "Something went wrong; the error was logged.")
    return JSONResponse({"status": "ok", "alerts": [r.as_dict() for r in results]})


def _read_alertmanager(_: Request, body: bytes) -> Notification:
    return parse_alertmanager(load_json(body))


def _read_sentry(request: Request, body: bytes) -> Notification | None:
    resource = request.headers.get("sentry-hook-resource", "")
    data = load_json(body)
    reader = SENTRY_READERS.get(resource)
    if reader is None:
        # installation, metric_alert...: not alerts this intake reads
        log.info("sentry webhook ignored", resource=resource[:40])
        return None
    notification = reader(data)
    if notification is None:  # an issue assigned, ignored...: no alert changes
        log.info("sentry webhook ignored", resource=resource, action=str(data.get("action"))[:20])
    return notification


def alert_routes(services: Services) -> list[Route]:
    def route(path: str, source: str, read: Callable) -> Route:
        async def endpoint(request: Request) -> Response:
            return await _handle(services, request, source, read)

        return Route(path, endpoint, methods=["POST"])

    return [
        route("/alerts/alertmanager", ALERTMANAGER, _read_alertmanager),
        route("/alerts/sentry", SENTRY, _read_sentry),
    ]
