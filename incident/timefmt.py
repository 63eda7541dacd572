"""Times shown in Slack: UTC, plus the reader's local time where Slack can render it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def utc_text(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def slack_time(dt: datetime) -> str:
    """`2026-11-23 09:14 UTC (10:14 local)`: Slack replaces the `<!date…>` token with the
    reader's local time and shows the fallback text where it cannot."""
    epoch = int(dt.timestamp())
    short = dt.astimezone(UTC).strftime("%H:%M UTC")
    return f"{utc_text(dt)} (<!date^{epoch}^{{time}} local|{short}>)"


def short_time(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%H:%M UTC")


def duration_text(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    secs = int(delta.total_seconds())
    if secs < 60:
        return f"{secs}s"
    mins, _ = divmod(secs, 60)
    if mins < 60:
        return f"{mins}m"
    hours, mins = divmod(mins, 60)
    if hours < 48:
        return f"{hours}h {mins:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"
