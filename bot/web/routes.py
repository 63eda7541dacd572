"""The post-mortem pages and API, as Starlette routes the server mounts next to
`/slack/events`:

- `GET /postmortems`: the list, with filters and the MTTA / MTTR trend
- `GET /postmortems/{n}`: the document; `POST /postmortems/{n}/sections` saves an edit
- `GET /postmortems/{n}.md`: Markdown; `GET /api/incidents/{n}`: JSON
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, quote

from sqlalchemy import select
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.adapters.links import LinkError
from bot.flows.postmortem.archive import archive_after_edit
from bot.flows.postmortem.docs import load_postmortem, names_for
from bot.logging_setup import get_logger
from bot.services import Services
from bot.web.auth import Access, authorize
from bot.web.html import error_page, html_response, json_error, with_headers
from bot.web.list_page import render_list
from bot.web.postmortem_page import render_postmortem
from bot.web.private import require_participant
from incident import postmortem_stats
from incident.models import Incident
from incident.numbers import parse_count
from incident.postmortem_render import to_dict, to_markdown
from incident.postmortem_sections import SectionConflict, SectionError, save_section
from incident.severity import normalise

log = get_logger(__name__)
MAX_FORM_BYTES = 128 * 1024
LIST_LIMIT = 500
Endpoint = Callable[[Request], Awaitable[Response]]


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _guarded(fn: Endpoint, *, api: bool) -> Endpoint:
    """Every failure becomes a proper answer: JSON on /api, a plain page for browsers."""

    async def endpoint(request: Request) -> Response:
        try:
            return await fn(request)
        except LinkError as exc:
            if api:
                resp = json_error(exc.status, exc.code, exc.message)
                if exc.status == 401:
                    resp.headers["WWW-Authenticate"] = 'Bearer realm="warroom"'
                return resp
            return error_page(exc.status, exc.message)
        except BadRequest as exc:
            if api:
                return json_error(exc.status, "bad_request", exc.message)
            return error_page(exc.status, exc.message)
        except Exception as exc:
            log.error("post-mortem page failed", path=request.url.path, exc_info=exc)
            message = "Something went wrong; the error was logged."
            return json_error(500, "internal", message) if api else error_page(500, message)

    return endpoint


def _number(request: Request) -> int:
    """The path's incident number, within what Postgres stores (a larger one names none)."""
    try:
        return parse_count(request.path_params["number"], minimum=1)
    except ValueError:
        raise BadRequest(404, "There is no such incident.") from None


def _not_found(number: int) -> BadRequest:
    return BadRequest(404, f"There is no incident #{number}.")


def _day(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
    except ValueError:
        raise BadRequest(400, f"{name}: expected a date like 2026-11-23") from None


def _filters(request: Request) -> postmortem_stats.Filters:
    q = request.query_params
    severity = None
    if q.get("severity"):
        severity = normalise(q["severity"])
        if severity is None:
            raise BadRequest(400, "severity: expected SEV1 to SEV4")
    since = _day(q.get("since"), "since")
    until = _day(q.get("until"), "until")
    # `until` is the last day shown, inclusive.
    return postmortem_stats.Filters(severity, since, until + timedelta(days=1) if until else None)


async def _form(request: Request) -> dict[str, str]:
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        raise BadRequest(415, "Expected a form.")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_FORM_BYTES:
            raise BadRequest(413, "That text is too long.")
    try:
        fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise BadRequest(400, "The form could not be read.") from None
    return {k: v[0] for k, v in fields.items()}


def postmortem_routes(services: Services) -> list[Route]:
    def access(request: Request, number: int | None, token: str | None = None) -> Access:
        token = token if token is not None else request.query_params.get("t")
        return authorize(services, request, token=token, number=number)

    async def list_page(request: Request) -> Response:
        access(request, None)
        f = _filters(request)
        unit = postmortem_stats.bucket_unit(f.since, f.until)
        async with services.sessions() as session:
            rows = await postmortem_stats.list_incidents(session, f, limit=LIST_LIMIT)
            points = await postmortem_stats.trend(session, f, unit)
        token = request.query_params.get("t", "")
        html = render_list(rows, points, f, unit, token=token, limit=LIST_LIMIT)
        return html_response(html)

    async def document_page(request: Request) -> Response:
        number = _number(request)
        grant = access(request, number)
        await require_participant(services, grant, number)
        pm = await load_postmortem(services, number)
        if pm is None:
            raise _not_found(number)
        names = await names_for(services, pm)
        html = await asyncio.to_thread(
            render_postmortem,
            pm,
            names,
            token=request.query_params.get("t", ""),
            show_list_link=grant.allows(None),
            saved=request.query_params.get("saved"),
        )
        return html_response(html)

    async def markdown(request: Request) -> Response:
        number = _number(request)
        await require_participant(services, access(request, number), number)
        pm = await load_postmortem(services, number)
        if pm is None:
            raise _not_found(number)
        names = await names_for(services, pm)
        text = await asyncio.to_thread(to_markdown, pm, names)
        return with_headers(
            Response(
                text,
                media_type="text/markdown; charset=utf-8",
                headers={"Content-Disposition": f'inline; filename="postmortem-{number}.md"'},
            )
        )

    async def api_incident(request: Request) -> Response:
        number = _number(request)
        await require_participant(services, access(request, number), number)
        pm = await load_postmortem(services, number)
        if pm is None:
            return json_error(404, "not_found", f"There is no incident #{number}.")
        names = await names_for(services, pm)
        body = await asyncio.to_thread(
            lambda: json.dumps(to_dict(pm, names), ensure_ascii=False).encode()
        )
        return with_headers(Response(body, media_type="application/json"))

    async def edit_section(request: Request) -> Response:
        number = _number(request)
        form = await _form(request)
        token = form.get("t", "")
        who = access(request, number, token)
        await require_participant(services, who, number)
        version_text = form.get("version", "")
        try:
            version = datetime.fromisoformat(version_text) if version_text else None
        except ValueError:
            raise BadRequest(400, "The form could not be read.") from None
        it = Incident.__table__
        try:
            async with services.transaction() as session:
                if await session.scalar(select(it.c.number).where(it.c.number == number)) is None:
                    raise _not_found(number)
                await save_section(
                    session,
                    number,
                    form.get("key", ""),
                    form.get("body", ""),
                    editor=who.editor,
                    now=services.clock.now(),
                    check_version=True,
                    expected_version=version,
                )
        except SectionConflict as exc:
            raise BadRequest(409, str(exc)) from None
        except SectionError as exc:
            raise BadRequest(400, str(exc)) from None
        key = quote(form.get("key", ""))
        url = f"/postmortems/{number}?t={quote(token)}&saved={key}#{key}"
        archive = BackgroundTask(archive_after_edit, services, number)
        return with_headers(RedirectResponse(url, status_code=303, background=archive))

    return [
        Route("/postmortems", _guarded(list_page, api=False), methods=["GET"]),
        Route("/postmortems/{number:int}.md", _guarded(markdown, api=False), methods=["GET"]),
        Route("/postmortems/{number:int}", _guarded(document_page, api=False), methods=["GET"]),
        Route(
            "/postmortems/{number:int}/sections",
            _guarded(edit_section, api=False),
            methods=["POST"],
        ),
        Route("/api/incidents/{number:int}", _guarded(api_incident, api=True), methods=["GET"]),
    ]
