"""Turning exceptions into the short plain reasons a responder reads in Slack.

Library errors arrive wrapped several layers deep ("All connection attempts failed");
the useful fact (refused, DNS, timeout) is usually further down the chain.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

MAX_REASON_CHARS = 200

# Some clients (libpq, redis-py, psycopg's resolver) flatten the cause into their message.
_PHRASES = (
    ("connection refused", "connection refused"),
    ("name or service not known", "DNS lookup failed"),
    ("failed to resolve host", "DNS lookup failed"),
    ("could not translate host name", "DNS lookup failed"),
    ("nodename nor servname", "DNS lookup failed"),
    ("temporary failure in name resolution", "DNS lookup failed"),
)


def timed_out(timeout_s: float) -> str:
    return f"timed out after {format_seconds(timeout_s)} s"


def format_seconds(seconds: float) -> str:
    """``5.0``, ``0.5``, ``0.25``: one decimal unless that would hide the real value."""
    one_decimal = f"{seconds:.1f}"
    return one_decimal if float(one_decimal) == seconds else f"{seconds:g}"


def plain_reason(exc: BaseException, *, timeout_s: float | None = None) -> str:
    """A one-line reason naming the root cause plainly; never a traceback."""
    for cause in _causes(exc):
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "DNS lookup failed"
        if isinstance(cause, ConnectionResetError):
            return "connection reset"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate rejected: {cause.verify_message or cause.reason}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS error: {cause.reason or cause}"
        if isinstance(cause, FileNotFoundError) and cause.filename:
            return f"no such file: {cause.filename}"
    for cause in _causes(exc):
        if isinstance(cause, TimeoutError) or type(cause).__name__.endswith(
            ("Timeout", "TimeoutError")
        ):
            return timed_out(timeout_s) if timeout_s is not None else "timed out"
    line = first_line(exc)
    lowered = line.lower()
    for phrase, plain in _PHRASES:
        if phrase in lowered:
            return plain
    if "no such file or directory" in lowered and "connect" in lowered:
        return "connection refused (no server socket)"
    return line


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0].strip() if text else ""
    if not line:
        return type(exc).__name__
    if len(line) > MAX_REASON_CHARS:
        line = line[: MAX_REASON_CHARS - 1] + "…"
    return line


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what caused it, and members of exception groups, outermost first."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
        for nxt in (current.__cause__, current.__context__):
            if nxt is not None:
                stack.append(nxt)
