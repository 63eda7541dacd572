"""Redis locks and once-only markers shared by every replica.

A lock records who holds it, so a second responder is told "rollback of api already in
progress, started by @x" rather than a bare refusal. When Redis is down, callers get
`LockUnavailable` and must refuse clearly instead of acting unlocked.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end
"""


class LockUnavailable(Exception):
    """Redis could not be reached: nothing was done."""


@dataclass
class Held:
    key: str
    token: str
    raw: str


class Locks:
    def __init__(self, client: aioredis.Redis, prefix: str = "warroom:") -> None:
        self.redis = client
        self.prefix = prefix

    async def acquire(self, name: str, ttl_s: float, **owner: Any) -> tuple[Held | None, dict]:
        """(Held, {}) when acquired, else (None, the holder's info)."""
        key = self.prefix + "lock:" + name
        token = secrets.token_hex(8)
        raw = json.dumps({"token": token, **owner})
        try:
            ok = await self.redis.set(key, raw, nx=True, px=int(ttl_s * 1000))
            if ok:
                return Held(key, token, raw), {}
            current = await self.redis.get(key)
        except (RedisError, OSError) as exc:
            raise LockUnavailable(str(exc)) from exc
        try:
            return None, json.loads(current) if current else {}
        except ValueError:
            return None, {}

    async def release(self, held: Held) -> None:
        try:
            await self.redis.eval(_RELEASE, 1, held.key, held.raw)
        except (RedisError, OSError):
            pass  # it expires on its own

    async def once(self, name: str, ttl_s: float) -> bool:
        """True the first time `name` is claimed within ttl; raises LockUnavailable."""
        try:
            return bool(
                await self.redis.set(
                    self.prefix + "once:" + name, "1", nx=True, px=int(ttl_s * 1000)
                )
            )
        except (RedisError, OSError) as exc:
            raise LockUnavailable(str(exc)) from exc
