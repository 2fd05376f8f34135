"""The send's queue of jobs whose intents are committed: the sending threads take from it directly.

Each sending thread takes its next job as soon as its last request is answered, so no thread
hands the jobs out one by one (a hand-off per request costs a thread wake-up and a switch of
the interpreter lock each, which the requests themselves then wait for).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable

from campaign_sdk.sending._delivery import Job


class JobQueue:
    """Jobs in intent order. ``take`` blocks until a job comes or the queue is closed."""

    def __init__(self) -> None:
        self._jobs: deque[Job] = deque()
        self._changed = threading.Condition()
        self._closed = False
        self._low = 0  # the dispatcher waits until this few jobs are left

    def __len__(self) -> int:
        return len(self._jobs)

    def add(self, jobs: Iterable[Job]) -> None:
        with self._changed:
            self._jobs.extend(jobs)
            self._changed.notify_all()

    def take(self, stopping: Callable[[], bool], *, wait: bool = True) -> Job | None:
        """The next job; None once the send stops, or the queue is closed (or, ``wait=False``,
        empty). A job taken is requested: a job never taken stays here for :meth:`drain`."""
        with self._changed:
            while wait and not self._jobs and not self._closed and not stopping():
                self._changed.wait()
            if not self._jobs or stopping():
                return None
            job = self._jobs.popleft()
            if len(self._jobs) <= self._low:
                self._changed.notify_all()  # the dispatcher adds the next chunk
            return job

    def wait_until(self, left: int, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) until no more than ``left`` jobs are queued."""
        with self._changed:
            self._low = left
            if len(self._jobs) > left:
                self._changed.wait(timeout)

    def drain(self) -> list[Job]:
        """Remove and return every job not taken."""
        with self._changed:
            jobs = list(self._jobs)
            self._jobs.clear()
            return jobs

    def close(self) -> None:
        """No job will be added: the sending threads end once it is empty."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def wake(self) -> None:
        """Wake every waiting thread (to see that the send stops)."""
        with self._changed:
            self._changed.notify_all()
