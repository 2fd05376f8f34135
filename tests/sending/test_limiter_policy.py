"""The rate limiter (on a simulated clock, so accuracy is exact and the test is not timed) and the
error policy."""

from __future__ import annotations

import random
import threading

import pytest

from campaign_sdk import GatewayError
from campaign_sdk.facts.errors import KINDS, ErrorKind
from campaign_sdk.sending import Action, RateLimiter, RetryPolicy, classify


class FakeClock:
    """A clock whose sleeps overshoot by a random 0-3 ms, like a busy machine."""

    def __init__(self, *, overshoot: float = 0.0, seed: int = 0) -> None:
        self.now = 0.0
        self.overshoot = overshoot
        self.rng = random.Random(seed)
        self.lock = threading.Lock()

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds + self.rng.uniform(0, self.overshoot)

    def work(self, seconds: float) -> None:
        self.now += seconds


def test_slots_are_evenly_spaced_at_the_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(50, clock=clock.time, sleep=clock.sleep)
    slots = [limiter.acquire() for _ in range(500)]
    assert slots[-1] - slots[0] == pytest.approx(499 / 50)
    assert all(b - a == pytest.approx(1 / 50) for a, b in zip(slots, slots[1:], strict=False))


def test_sleep_overshoot_does_not_lower_the_rate() -> None:
    clock = FakeClock(overshoot=0.003)
    limiter = RateLimiter(50, clock=clock.time, sleep=clock.sleep)
    for _ in range(1000):
        limiter.acquire()
    achieved = 1000 / clock.now
    assert achieved == pytest.approx(50, rel=0.01)  # within 1% (the benchmark checks 5% for real)


def test_it_never_goes_faster_than_the_rate_even_after_idling() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, burst=1, clock=clock.time, sleep=clock.sleep)
    limiter.acquire()
    clock.work(5.0)  # idle for 5 s: at most one slot is caught up
    times = []
    for _ in range(21):
        limiter.acquire()
        times.append(clock.now)
    assert times[-1] - times[0] >= 19 / 10 - 1e-9


def test_slow_callers_are_not_held_back() -> None:
    clock = FakeClock()
    limiter = RateLimiter(100, clock=clock.time, sleep=clock.sleep)
    for _ in range(10):
        clock.work(0.05)  # the caller itself is slower than the limit
        limiter.acquire()
    assert clock.now == pytest.approx(0.5)


def test_threads_share_the_rate() -> None:
    limiter = RateLimiter(1000)
    slots: list[float] = []

    def take() -> None:
        for _ in range(50):
            slots.append(limiter.acquire())

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ordered = sorted(slots)
    assert len(set(ordered)) == 200
    assert ordered[-1] - ordered[0] >= 199 / 1000 - 1e-9


def test_no_rate_means_no_waiting() -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, clock=clock.time, sleep=clock.sleep)
    for _ in range(100):
        limiter.acquire()
    assert clock.now == 0


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)


@pytest.mark.parametrize(
    ("status", "code", "action"),
    [
        (429, 20429, Action.THROTTLED),
        (429, None, Action.THROTTLED),
        (400, 20429, Action.THROTTLED),
        (500, None, Action.AMBIGUOUS),
        (503, 20500, Action.AMBIGUOUS),
        (None, None, Action.AMBIGUOUS),
        (400, 21211, Action.RECIPIENT),
        (400, 21610, Action.RECIPIENT),
        (400, 21656, Action.RECIPIENT),
        (400, 63024, Action.RECIPIENT),
        (401, 20003, Action.FATAL),
        (400, 21703, Action.FATAL),
        (400, None, Action.FATAL),
    ],
)
def test_twilio_errors_get_the_kind_that_decides_what_the_sender_does(status, code, action) -> None:
    # A GatewayError built from Twilio's code and status gets its kind from facts/errors.py.
    assert classify(GatewayError("x", code=code, status=status)) is action


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_the_decision_reads_the_kind_alone_never_a_code(kind: ErrorKind) -> None:
    fact = KINDS[kind]
    expected = {"backoff": Action.THROTTLED, "reconcile": Action.AMBIGUOUS}.get(
        fact.retry or "", Action.RECIPIENT if fact.per_lead else Action.FATAL
    )
    # no code, no status: a non-Twilio gateway needs nothing but the kind
    assert classify(GatewayError("x", kind=kind)) is expected
    # a misleading code does not change it: the kind decides
    assert classify(GatewayError("x", kind=kind, code=20429, status=429)) is expected


def test_an_unknown_kind_is_refused_when_the_error_is_built() -> None:
    with pytest.raises(ValueError, match="not_a_kind"):
        GatewayError("x", kind="not_a_kind")


def test_a_shared_rate_limiter_hands_out_one_schedule_to_every_worker(migrated_url) -> None:
    """Two limiters on one store (two workers) at 40/s: their slots interleave on one schedule,
    never two at once, so together they stay at 40/s (each alone would also be 40/s)."""
    import threading

    from campaign_sdk import CampaignClient
    from campaign_sdk.sending import SharedRateLimiter

    with CampaignClient(migrated_url) as client:
        limiters = [SharedRateLimiter(client._sessions, 40, block=4) for _ in range(2)]
        slots: list[float] = []
        lock = threading.Lock()

        def take(limiter: SharedRateLimiter) -> None:
            for _ in range(12):
                slot = limiter.acquire()
                with lock:
                    slots.append(slot)

        threads = [threading.Thread(target=take, args=(limiter,)) for limiter in limiters]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        slots.sort()
        gaps = [b - a for a, b in zip(slots, slots[1:], strict=False)]
        assert len(slots) == 24 and min(gaps) >= 1 / 40 - 1e-6  # one schedule, no slot handed out twice
        assert slots[-1] - slots[0] >= 23 / 40 - 1e-6
