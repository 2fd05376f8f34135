"""A thread-safe pacing rate limiter (messages per second)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """Hands out evenly spaced time slots: at most ``rate`` per second on average.

    >>> now = [0.0]
    >>> limiter = RateLimiter(4, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    >>> [round(limiter.acquire(), 2) for _ in range(5)]
    [0.0, 0.25, 0.5, 0.75, 1.0]

    Slots are kept on an absolute schedule, so sleep overshoot and thread wake-up jitter do not
    accumulate into a lower rate; after an idle spell at most ``burst`` slots are caught up.
    ``rate=None`` never waits.
    """

    def __init__(
        self,
        rate: float | None,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError(f"rate must be a positive number of messages per second, not {rate!r}")
        self.rate = rate
        self._interval = 1.0 / rate if rate else 0.0
        self._burst = burst
        self._clock, self._sleep = clock, sleep
        self._next: float | None = None
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait for the next slot; returns the slot's time on the limiter's clock."""
        if self.rate is None:
            return self._clock()
        with self._lock:
            now = self._clock()
            earliest = now - self._burst * self._interval
            slot = now if self._next is None else max(self._next, earliest)
            self._next = slot + self._interval
        if slot > now:
            self._sleep(slot - now)
        return slot
