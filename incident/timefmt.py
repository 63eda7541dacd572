"""Times shown in Slack: the reader's local time where Slack can render it, UTC where not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def utc_text(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def slack_time(dt: datetime) -> str:
    """The reader's own date and time (`Today 10:14`), which Slack puts in place of the
    `<!date…>` token; clients that cannot show the UTC fallback instead. One time, never
    "09:14 UTC (09:14 UTC)": the fallback is the whole text, not an addition to it."""
    epoch = int(dt.timestamp())
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{utc_text(dt)}>"


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
