"""The one source of "now", so reminders and durations can be tested with a controlled clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self) -> None:
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> None:
        """Only the sandbox and tests move time forward."""
        self._offset += delta

    def back_to_real_time(self) -> None:
        """Tests start each one at the real time, whatever the previous one moved."""
        self._offset = timedelta(0)
