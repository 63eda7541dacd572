"""Can we reach the service's Postgres and Redis: connect and ask the cheapest question."""

from __future__ import annotations

import asyncio
import math
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from bot.adapters.catalog.model import Service
from bot.adapters.checks.base import Stopwatch
from bot.adapters.checks.reasons import plain_reason, timed_out
from incident.checks import CheckResult, CheckStatus

DEFAULT_TIMEOUT_S = 3.0


async def check_postgres(
    service: str, url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> CheckResult:
    """Connect and ``SELECT 1``: proves the server accepts logins and runs queries."""
    watch = Stopwatch()
    details = {"target": redact_url(url)}
    try:
        async with asyncio.timeout(timeout_s):
            # libpq's own timeout is whole seconds, minimum 2; asyncio.timeout is the real cap.
            conn = await psycopg.AsyncConnection.connect(
                url, connect_timeout=max(2, math.ceil(timeout_s)), autocommit=True
            )
            async with conn:
                cursor = await conn.execute("SELECT 1")
                await cursor.fetchone()
    except TimeoutError:
        reason = timed_out(timeout_s)
    except psycopg.Error as exc:
        reason = _libpq_reason(exc, timeout_s)
    except OSError as exc:
        reason = plain_reason(exc, timeout_s=timeout_s)
    else:
        return CheckResult(service, "postgres", CheckStatus.OK, "SELECT 1 ok", watch.ms, details)
    return CheckResult(service, "postgres", CheckStatus.FAIL, reason, watch.ms, details)


async def check_redis(
    service: str, url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> CheckResult:
    """PING without retries: a health check that retries hides the flapping we look for."""
    watch = Stopwatch()
    details = {"target": redact_url(url)}
    client = aioredis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
    )
    try:
        async with asyncio.timeout(timeout_s):
            await client.ping()
    except TimeoutError:
        reason = timed_out(timeout_s)
    except (RedisError, OSError) as exc:
        reason = plain_reason(exc, timeout_s=timeout_s)
    else:
        return CheckResult(service, "redis", CheckStatus.OK, "PONG", watch.ms, details)
    finally:
        await client.aclose()
    return CheckResult(service, "redis", CheckStatus.FAIL, reason, watch.ms, details)


def redact_url(url: str) -> str:
    """The URL without its password, so it can be shown in Slack and stored."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def _libpq_reason(exc: psycopg.Error, timeout_s: float) -> str:
    # libpq reports every failure as one OperationalError; the cause is in the text.
    message = str(exc)
    if "timeout expired" in message:
        return timed_out(timeout_s)
    if "password authentication failed" in message:
        return "authentication failed"
    reason = plain_reason(exc, timeout_s=timeout_s)
    # "connection failed: connection to server at ... failed: <cause>": keep the cause.
    return reason.rsplit("failed: ", 1)[-1].strip() or reason


class PostgresChecker:
    name = "postgres"

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s

    def applies_to(self, service: Service) -> bool:
        return service.postgres_url is not None

    async def check(self, service: Service) -> CheckResult:
        assert service.postgres_url is not None
        return await check_postgres(service.name, service.postgres_url, timeout_s=self.timeout_s)


class RedisChecker:
    name = "redis"

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s

    def applies_to(self, service: Service) -> bool:
        return service.redis_url is not None

    async def check(self, service: Service) -> CheckResult:
        assert service.redis_url is not None
        return await check_redis(service.name, service.redis_url, timeout_s=self.timeout_s)
