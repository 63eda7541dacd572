"""When the post-incident review is due: runbook 002 asks for it within five business days of
resolution, and the commander is reminded a day before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

REVIEW_BUSINESS_DAYS = 5
REMIND_BEFORE = timedelta(hours=24)
_SATURDAY = 5


def add_business_days(start: datetime, days: int) -> datetime:
    """Same time of day, `days` weekdays later; weekends are skipped, and a start on a
    weekend counts from the following Monday. Weekdays are judged in UTC, as every stored
    time is UTC."""
    at = start.astimezone(UTC)
    left = days
    while left > 0:
        at += timedelta(days=1)
        if at.weekday() < _SATURDAY:
            left -= 1
    return at


def review_due(resolved_at: datetime) -> datetime:
    return add_business_days(resolved_at, REVIEW_BUSINESS_DAYS)


def reminder_at(due: datetime) -> datetime:
    return due - REMIND_BEFORE
