"""External providers' status pages (the Atlassian Statuspage JSON every big SaaS publishes):
`GET <url>/api/v2/summary.json`, read once per run for every service that depends on it.

The page's `status.indicator` is the verdict (none → ok, minor → warn, major/critical →
fail); with a `components:` filter the worst of those components decides instead. A page that
cannot be reached, is too slow or answers something else is UNKNOWN: warroom cannot tell, so
it never reads as healthy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx

from bot.adapters.catalog.model import Service
from bot.adapters.catalog.status_pages import StatusPage
from bot.adapters.checks.base import Stopwatch
from bot.adapters.checks.http_health import default_ssl_context
from bot.adapters.checks.reasons import plain_reason, timed_out
from incident.checks import CheckResult, CheckStatus
from incident.timefmt import short_time

CHECK_NAME = "statuspage"
_HEADERS = {"Accept": "application/json", "User-Agent": "warroom-status-check"}
INDICATORS = ("none", "minor", "major", "critical")
_VERDICT = {
    "none": CheckStatus.OK,
    "minor": CheckStatus.WARN,
    "major": CheckStatus.FAIL,
    "critical": CheckStatus.FAIL,
}
# a component's status as the page-wide indicator it amounts to
_COMPONENT_INDICATOR = {
    "operational": "none",
    "under_maintenance": "none",
    "degraded_performance": "minor",
    "partial_outage": "major",
    "major_outage": "critical",
}
_COMPONENT_WORDS = {
    "degraded_performance": "degraded",
    "partial_outage": "partial outage",
    "major_outage": "major outage",
    "under_maintenance": "under maintenance",
}
MAX_LISTED = 3


class Malformed(ValueError):
    pass


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def judge(page: StatusPage, body: Any) -> tuple[CheckStatus, str, dict[str, Any]]:
    """(status, reason, details) from a summary.json body; Malformed when it is not one."""
    if not isinstance(body, Mapping):
        raise Malformed("not a JSON object")
    status = body.get("status")
    indicator = status.get("indicator") if isinstance(status, Mapping) else None
    if indicator not in INDICATORS:
        raise Malformed("no status.indicator")
    components = body.get("components", [])
    incidents = body.get("incidents", [])
    if not isinstance(components, list) or not isinstance(incidents, list):
        raise Malformed("components/incidents are not lists")
    parts = [
        c
        for c in components
        if isinstance(c, Mapping) and isinstance(c.get("name"), str) and not c.get("group")
    ]
    if page.components:
        wanted = set(page.components)
        parts = [c for c in parts if c["name"] in wanted]
        indicator = max(
            (_COMPONENT_INDICATOR.get(str(c.get("status")), "none") for c in parts),
            key=INDICATORS.index,
            default="none",
        )
    troubled = [c for c in parts if c.get("status") in _COMPONENT_WORDS]
    open_incidents = [
        i for i in incidents if isinstance(i, Mapping) and i.get("status") != "resolved"
    ]
    started = [t for t in (_parse_time(i.get("created_at")) for i in open_incidents) if t]
    words = [f"{c['name']} {_COMPONENT_WORDS[str(c['status'])]}" for c in troubled[:MAX_LISTED]]
    if len(troubled) > MAX_LISTED:
        words.append(f"{len(troubled) - MAX_LISTED} more")
    if not words and open_incidents and indicator != "none":
        words = [str(open_incidents[0].get("name") or "incident")]
    reason = f"{page.shown_name}: {indicator}"
    if indicator != "none":
        if words:
            reason += " — " + ", ".join(words)
        if started:
            reason += f" (since {short_time(min(started))})"
    else:
        reason += " — all systems operational" if not page.components else " — operational"
    details = {
        "page": page.name,
        "url": page.summary_url,
        "indicator": indicator,
        "components": {c["name"]: c.get("status") for c in troubled},
        "incidents": [
            {"name": i.get("name"), "impact": i.get("impact"), "created_at": i.get("created_at")}
            for i in open_incidents[:MAX_LISTED]
        ],
    }
    return _VERDICT[indicator], reason, details


async def read_page(
    page: StatusPage, client: httpx.AsyncClient | None = None
) -> tuple[CheckStatus, str, dict[str, Any]]:
    """Fetch and judge one page; every failure is UNKNOWN with a plain reason."""
    details: dict[str, Any] = {"page": page.name, "url": page.summary_url}
    label = page.shown_name
    try:
        async with asyncio.timeout(page.timeout_s):
            if client is not None:
                response = await client.get(page.summary_url, headers=_HEADERS)
            else:
                async with httpx.AsyncClient(
                    verify=default_ssl_context(), timeout=page.timeout_s
                ) as own:
                    response = await own.get(page.summary_url, headers=_HEADERS)
    except TimeoutError:
        return CheckStatus.UNKNOWN, f"{label}: unknown — {timed_out(page.timeout_s)}", details
    except (httpx.HTTPError, OSError) as exc:
        details["error"] = type(exc).__name__
        reason = plain_reason(exc, timeout_s=page.timeout_s)
        return CheckStatus.UNKNOWN, f"{label}: unknown — {reason}", details
    details["http_status"] = response.status_code
    if response.status_code != 200:
        return (
            CheckStatus.UNKNOWN,
            f"{label}: unknown — HTTP {response.status_code} {response.reason_phrase}".strip(),
            details,
        )
    try:
        return judge(page, response.json())
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError and Malformed
        what = str(exc) if isinstance(exc, Malformed) else "invalid JSON"
        return CheckStatus.UNKNOWN, f"{label}: unknown — not a status page ({what})", details


class StatusPageChecker:
    """One provider's page, for the services whose `depends_on` names it; read once per
    run however many services depend on it (a checker lives for one run)."""

    name = CHECK_NAME

    def __init__(self, page: StatusPage) -> None:
        self.page = page
        self._read: asyncio.Task[tuple[CheckStatus, str, dict[str, Any]]] | None = None

    def applies_to(self, service: Service) -> bool:
        return self.page.name in service.depends_on

    async def check(self, service: Service) -> CheckResult:
        watch = Stopwatch()
        if self._read is None:
            self._read = asyncio.create_task(read_page(self.page))
        status, reason, details = await asyncio.shield(self._read)
        return CheckResult(service.name, CHECK_NAME, status, reason, watch.ms, dict(details))


def statuspage_checkers(pages: Sequence[StatusPage]) -> list[StatusPageChecker]:
    return [StatusPageChecker(page) for page in pages]
