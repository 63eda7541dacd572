"""Runbook 004: is the service's health endpoint answering 200 with ``status: healthy``."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Callable
from typing import Any

import certifi
import httpx

from bot.adapters.catalog.model import Service
from bot.adapters.checks.base import Stopwatch
from bot.adapters.checks.reasons import plain_reason, timed_out
from incident.checks import CheckResult, CheckStatus

DEFAULT_TIMEOUT_S = 5.0
CHECK_NAME = "http"
_HEADERS = {"Accept": "application/json", "User-Agent": "warroom-status-check"}


def default_ssl_context() -> ssl.SSLContext:
    """Built once per checker: building it per request costs ~20 ms of CPU each, which
    serialises a 50-service status run on the event loop."""
    return ssl.create_default_context(cafile=certifi.where())


async def check_http_health(
    service: str,
    url: str,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    client: httpx.AsyncClient | None = None,
    verify: ssl.SSLContext | bool = True,
) -> CheckResult:
    """GET the health URL; anything but a timely 200 ``{"status": "healthy"}`` is a FAIL.

    Redirects are not followed: a health URL bouncing to a login page is itself a fault.
    ``timeout_s`` bounds the whole exchange, not each socket read.
    """
    watch = Stopwatch()
    details: dict[str, Any] = {"url": url}

    def result(status: CheckStatus, reason: str) -> CheckResult:
        return CheckResult(service, CHECK_NAME, status, reason, watch.ms, details)

    try:
        async with asyncio.timeout(timeout_s):
            if client is not None:
                response = await client.get(url, headers=_HEADERS)
            else:
                async with httpx.AsyncClient(verify=verify, timeout=timeout_s) as own:
                    response = await own.get(url, headers=_HEADERS)
    except TimeoutError:
        return result(CheckStatus.FAIL, timed_out(timeout_s))
    except (httpx.HTTPError, OSError) as exc:
        details["error"] = type(exc).__name__
        return result(CheckStatus.FAIL, plain_reason(exc, timeout_s=timeout_s))

    code = response.status_code
    details["http_status"] = code
    if code != 200:
        return result(CheckStatus.FAIL, f"HTTP {code} {response.reason_phrase}".strip())
    return _judge_body(response, result, details)


def _judge_body(
    response: httpx.Response,
    result: Callable[[CheckStatus, str], CheckResult],
    details: dict[str, Any],
) -> CheckResult:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        details["body"] = response.text[:200]
        return result(CheckStatus.FAIL, f"200 but invalid JSON: {exc}")
    if not isinstance(body, dict):
        return result(CheckStatus.FAIL, "200 but body is not a JSON object")
    for key in ("status", "version", "timestamp"):
        if key in body:
            details[key] = body[key]
    if "status" not in body:
        return result(CheckStatus.FAIL, '200 but no "status" in body')
    if body["status"] != "healthy":
        return result(CheckStatus.FAIL, f'200 but status "{body["status"]}"')
    return result(CheckStatus.OK, "200 healthy")


class HttpHealthChecker:
    """Health-URL check for every catalog service."""

    name = CHECK_NAME

    def __init__(
        self, timeout_s: float = DEFAULT_TIMEOUT_S, *, verify: ssl.SSLContext | bool | None = None
    ) -> None:
        self.timeout_s = timeout_s
        self._verify = default_ssl_context() if verify is None else verify

    def applies_to(self, service: Service) -> bool:
        return bool(service.health_url)

    async def check(self, service: Service) -> CheckResult:
        return await check_http_health(
            service.name, service.health_url, timeout_s=self.timeout_s, verify=self._verify
        )
