"""Sentry, only when SENTRY_DSN is set, with tokens and secrets scrubbed before sending."""

from __future__ import annotations

from typing import Any

from bot.logging_setup import scrub


def _before_send(event: dict[str, Any], _hint: dict[str, Any]) -> dict[str, Any]:
    return scrub(event)


def init_sentry(dsn: str | None, release: str) -> bool:
    if not dsn:
        return False
    import sentry_sdk

    sentry_sdk.init(
        dsn=dsn,
        release=f"warroom@{release}",
        traces_sample_rate=0.2,  # runbook 004's production rate
        send_default_pii=False,
        before_send=_before_send,
    )
    return True
