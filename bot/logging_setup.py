"""structlog JSON lines with trace_id and the incident number; secrets never reach a log."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

_SECRET = re.compile(
    r"(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|(?<=://)[^:/@\s]+:[^@/\s]+(?=@))"
)
_SECRET_KEYS = {"token", "signing_secret", "password", "authorization", "text", "body"}


def scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _SECRET.sub("[redacted]", value)
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


def configure(level: str = "INFO") -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level, force=True)
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
