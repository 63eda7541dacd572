"""structlog JSON lines with trace_id and the incident number; secrets never reach a log."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from typing import Any

import structlog

_SECRET = re.compile(
    r"(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|(?<=://)[^:/@\s]+:[^@/\s]+(?=@))"
)
_SECRET_KEYS = {"token", "signing_secret", "password", "authorization", "text", "body"}
# A database error quotes what was being stored: SQLAlchemy appends the statement's
# `[parameters: (...)]`, Postgres' DETAIL repeats the failing row or the duplicate key, and
# asyncpg names the value it could not encode. That is user text (titles, notes, summaries):
# the statement and the error's kind stay, the values go.
_DB_VALUES = (
    (
        re.compile(r"\[parameters: .*?\](?=\s*\n\(Background|\s*$|\n\n)", re.DOTALL),
        "[parameters: [redacted]]",
    ),
    (re.compile(r"(DETAIL:\s+)[^\n]*"), r"\1[redacted]"),
    (re.compile(r"(query argument \$\d+: )[^\n]*"), r"\1[redacted]"),
    (re.compile(r"(Failing row contains )[^\n]*"), r"\1[redacted]"),
    (re.compile(r"(Key \([^)\n]*\)=\()[^\n]*?(\) already exists)"), r"\1[redacted]\2"),
)


def scrub(value: Any) -> Any:
    if isinstance(value, str):
        value = _SECRET.sub("[redacted]", value)
        for pattern, replacement in _DB_VALUES:
            value = pattern.sub(replacement, value)
        return value
    if isinstance(value, dict):
        return {
            k: ("[redacted]" if k.lower() in _SECRET_KEYS else scrub(v)) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def _scrub_processor(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    return {
        k: ("[redacted]" if k.lower() in _SECRET_KEYS else scrub(v)) for k, v in event_dict.items()
    }


# Bolt's refusal of a bad signature quotes the whole request body.
_BODY = re.compile(r"(body: ).*?(\)?)$", re.DOTALL)


def _scrubbing_factory(make: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    """Every stdlib record (Bolt, the Slack SDK, uvicorn, SQLAlchemy...) is scrubbed when it
    is made, whichever handler prints it: the message and any traceback."""

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad %-format: keep what can be shown
            message = str(record.msg)
        record.msg = _BODY.sub(r"\1[redacted]\2", scrub(message))
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        return record

    factory.warroom_scrubs = True  # type: ignore[attr-defined]
    return factory


def configure(level: str = "INFO") -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level, force=True)
    current = logging.getLogRecordFactory()
    if not getattr(current, "warroom_scrubs", False):
        logging.setLogRecordFactory(_scrubbing_factory(current))
    for noisy in ("slack_bolt", "slack_sdk", "urllib3", "kubernetes", "botocore", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _scrub_processor,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


def get_logger(name: str = "warroom") -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
