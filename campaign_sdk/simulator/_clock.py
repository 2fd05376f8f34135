"""The simulator's clock: real time (optionally) plus explicit advances; it never goes back."""

from __future__ import annotations

import datetime as dt
import threading
import time


class Clock:
    """``start`` + the real time elapsed since creation (``realtime=True``) + :meth:`advance`.

    >>> clock = Clock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), realtime=False)
    >>> clock.advance(minutes=90).isoformat()
    '2026-01-01T01:30:00+00:00'
    """

    def __init__(self, start: dt.datetime | None = None, *, realtime: bool = True) -> None:
        self.start = (start or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        self.realtime = realtime
        self._origin = time.monotonic()
        self._offset = dt.timedelta()
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        elapsed = dt.timedelta(seconds=time.monotonic() - self._origin) if self.realtime else dt.timedelta()
        return self.start + self._offset + elapsed

    def advance(self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> dt.datetime:
        """Move the clock forward; returns the new time."""
        delta = dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if delta < dt.timedelta():
            raise ValueError("the simulator's clock only moves forward")
        with self._lock:
            self._offset += delta
        return self.now()
