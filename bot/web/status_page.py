"""The public status page: `GET /status` (HTML), `GET /status/feed.atom` (Atom 1.0) and
`GET /status.json`. No login: it shows only what `incident.status_page` lets out (service,
impact level, status, times and updates marked public; never titles, notes, commanders or
private incidents). Every text is escaped; no JavaScript (the shared CSP forbids it).

Cacheable: `Cache-Control: public, max-age=30`, an ETag of the content and a Last-Modified
of the latest change; a matching `If-None-Match` (or, without one, an `If-Modified-Since` not
older than the content) gets `304 Not Modified`.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.logging_setup import get_logger
from bot.services import Services
from bot.web.html import SECURITY_HEADERS, esc, page
from incident import status_page
from incident.status_page import PublicIncident, StatusPage
from incident.timefmt import utc_text

log = get_logger(__name__)

MAX_AGE_S = 30
ATOM_NS = "http://www.w3.org/2005/Atom"
PUBLIC_HEADERS = {**SECURITY_HEADERS, "Cache-Control": f"public, max-age={MAX_AGE_S}"}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

STATUS_STYLE = """
.banner{padding:12px 16px;border-radius:8px;font-weight:600;margin:12px 0}
.ok{background:#e7f5ea;color:#1e6b33}.bad{background:#fdecea;color:#8b1a1a}
ol.updates{list-style:none;padding:0;margin:8px 0 0}ol.updates li{margin:6px 0}
ol.updates time{color:var(--muted);font-size:13px;display:block}
"""


def status_routes(services: Services) -> list[Route]:
    async def read() -> StatusPage:
        catalog = services.catalog.current
        names = catalog.names if catalog is not None else []
        async with services.sessions() as session:
            return await status_page.load(session, services.clock.now(), names)

    def endpoint(
        suffix: str, media_type: str, render: Callable[[StatusPage, str], str]
    ) -> Callable[[Request], object]:
        async def serve(request: Request) -> Response:
            state = await read()
            etag = state.etag()[:-1] + f'-{suffix}"'
            headers = {**PUBLIC_HEADERS, "ETag": etag, "Vary": "Accept-Encoding"}
            updated = state.updated_at
            if updated is not None:
                headers["Last-Modified"] = format_datetime(updated.astimezone(UTC), usegmt=True)
            if _not_modified(request, etag, updated):
                return Response(status_code=304, headers=headers)
            body = render(state, services.settings.public_url.rstrip("/"))
            return Response(body, media_type=media_type, headers=headers)

        return serve

    return [
        Route("/status", endpoint("h", "text/html; charset=utf-8", render_html), methods=["GET"]),
        Route(
            "/status/feed.atom",
            endpoint("a", "application/atom+xml; charset=utf-8", render_atom),
            methods=["GET"],
        ),
        Route(
            "/status.json",
            endpoint("j", "application/json", render_json),
            methods=["GET"],
        ),
    ]


def _not_modified(request: Request, etag: str, updated: datetime | None) -> bool:
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        return "*" in tags or etag in tags
    since = request.headers.get("if-modified-since")
    if since and updated is not None:
        try:
            when = parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
        if when.tzinfo is None:
            return False
        return updated.replace(microsecond=0) <= when
    return False


# -- HTML ---------------------------------------------------------------------------------


def render_html(state: StatusPage, base: str) -> str:
    affected = bool(state.current)
    banner = (
        '<p class="banner bad">Some services are affected</p>'
        if affected
        else '<p class="banner ok">All systems operational</p>'
    )
    rows = []
    for name in state.service_names:
        items = state.by_service.get(name, [])
        shown = (
            ", ".join(f'<a href="#incident-{i.number}">{esc(i.level)}</a>' for i in items)
            if items
            else "Operational"
        )
        rows.append(f"<tr><td>{esc(name)}</td><td>{shown}</td></tr>")
    services = (
        "<table><thead><tr><th>Service</th><th>Status</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        if rows
        else ""
    )
    current = "".join(_incident_html(i) for i in state.current) or (
        '<p class="muted">No current incidents.</p>'
    )
    resolved = "".join(_incident_html(i) for i in state.resolved) or (
        '<p class="muted">No incidents in the last 30 days.</p>'
    )
    updated = utc_text(state.updated_at) if state.updated_at else "—"
    body = (
        f"<style>{STATUS_STYLE}</style>"
        "<h1>Service status</h1>"
        f'<p class="muted">Last change {esc(updated)} · '
        f'<a href="{esc(base)}/status/feed.atom">Atom feed</a> · '
        f'<a href="{esc(base)}/status.json">JSON</a></p>'
        f"{banner}{services}"
        f'<h2 id="current">Current incidents</h2>{current}'
        f'<h2 id="resolved">Resolved in the last {status_page.RESOLVED_DAYS} days</h2>{resolved}'
    )
    return page("Service status", body)


def _incident_html(item: PublicIncident) -> str:
    times = f"Started {esc(utc_text(item.started_at))}"
    if item.resolved_at is not None:
        times += f" · resolved {esc(utc_text(item.resolved_at))}"
    updates = "".join(
        f'<li><time datetime="{esc(u.at.isoformat())}">{esc(utc_text(u.at))}</time>'
        f'<p class="body">{esc(u.text)}</p></li>'
        for u in item.updates
    )
    listed = f'<ol class="updates">{updates}</ol>' if updates else ""
    return (
        f'<div class="card incident" id="incident-{item.number}">'
        f"<strong>{esc(item.service)}</strong> · {esc(item.level)} · "
        f'<span class="status">{esc(item.status_text)}</span>'
        f"<br><small>{times}</small>{listed}</div>"
    )


# -- Atom ---------------------------------------------------------------------------------


def render_atom(state: StatusPage, base: str) -> str:
    ET.register_namespace("", ATOM_NS)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    sub(feed, "id", f"{base}/status")
    sub(feed, "title", "Service status")
    sub(feed, "updated", _atom_time(state.updated_at or EPOCH))
    author = sub(feed, "author")
    sub(author, "name", "warroom")
    sub(feed, "link", rel="self", type="application/atom+xml", href=f"{base}/status/feed.atom")
    sub(feed, "link", rel="alternate", type="text/html", href=f"{base}/status")
    for item in sorted(
        (*state.current, *state.resolved), key=lambda i: (i.updated_at, i.number), reverse=True
    ):
        entry = sub(feed, "entry")
        sub(entry, "id", f"{base}/status#incident-{item.number}")
        state_word = "resolved" if item.resolved_at is not None else item.status_text
        sub(entry, "title", f"{item.service}: {item.level} ({state_word})")
        sub(entry, "published", _atom_time(item.started_at))
        sub(entry, "updated", _atom_time(item.updated_at))
        sub(
            entry,
            "link",
            rel="alternate",
            type="text/html",
            href=f"{base}/status#incident-{item.number}",
        )
        lines = [f"Status: {item.status_text}", f"Started: {utc_text(item.started_at)}"]
        if item.resolved_at is not None:
            lines.append(f"Resolved: {utc_text(item.resolved_at)}")
        for update in item.updates:
            lines.append(f"\n{utc_text(update.at)}: {update.text}")
        sub(entry, "content", "\n".join(lines), type="text")
    xml = ET.tostring(feed, encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?>\n{xml}\n'


def _atom_time(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# -- JSON ---------------------------------------------------------------------------------


def render_json(state: StatusPage, _base: str) -> str:
    return json.dumps(state.to_dict(), ensure_ascii=False)
