"""What a person is told when something fails: a plain sentence, never a traceback."""

from __future__ import annotations

from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.adapters.locks import LockUnavailable

STORAGE_DOWN = "⚠️ Storage is unavailable right now, so nothing was changed. Try again in a minute."
LOCKS_DOWN = (
    "⚠️ The lock service (Redis) is unavailable, so this was not done: warroom never acts "
    "unlocked. Try again in a minute."
)


def is_storage_error(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError | PoolTimeout | DBAPIError) or (
        isinstance(exc, OSError) and "postgres" in str(exc).lower()
    )


def user_message(exc: BaseException) -> str:
    if is_storage_error(exc):
        return STORAGE_DOWN
    if isinstance(exc, LockUnavailable | RedisError):
        return LOCKS_DOWN
    if isinstance(exc, SlackApiError):
        return f"⚠️ Slack refused the request (`{exc.response.get('error', 'error')}`)."
    if isinstance(exc, TimeoutError):
        return "⚠️ That took too long and was abandoned; nothing further was changed."
    return "⚠️ Something went wrong and the request was not completed. The error was logged."
