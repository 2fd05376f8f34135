"""Delivering one intended message: send with retries, and find it on Twilio when unsure."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tenacity
from sqlalchemy.orm import Session, sessionmaker

from campaign_sdk import service
from campaign_sdk._exceptions import GatewayError
from campaign_sdk.delivery import utc
from campaign_sdk.facts import scheduling
from campaign_sdk.gateways import Gateway, MessageRecord, SendRequest
from campaign_sdk.sending._books import Outcome
from campaign_sdk.sending._limiter import RateLimiter
from campaign_sdk.sending._policy import Action, RetryPolicy, classify

EXPIRED = "expired"  # Outcome.message of an intent released because the campaign expired meanwhile
LATE = "late"  # Outcome.message of an intent released because its send window closed before its request
# Twilio's date_created has one-second precision and clocks drift: look a little before the intent.
SLACK = dt.timedelta(minutes=2)


@dataclass(frozen=True)
class Job:
    """An intent to deliver: the intent row, the lead's number and its numbered variables."""

    intent_id: int
    lead_id: int
    user_id: int
    to: str
    variables: dict[str, str]
    created_at: dt.datetime
    content_sid: str | None = None  # the lead's variant's content (None: the campaign's)
    send_at: dt.datetime | None = None  # handed to Twilio's scheduler (ScheduleType=fixed)
    until: dt.datetime | None = None  # its request must leave before this (its window closes then)


def request(job: Job, content_sid: str, *, validity_period: int | None = None) -> SendRequest:
    """The gateway request for ``job``: its content, variables, SendAt and ValidityPeriod."""
    return SendRequest(job.to, job.content_sid or content_sid, job.variables, send_at=job.send_at,
                       validity_period=validity_period)


def validity_for(policy: int | None, expires_at: dt.datetime | None, *, now: dt.datetime,
                 send_at: dt.datetime | None = None) -> int | None:
    """The ValidityPeriod to send: the policy's (None: Twilio's default, sent as no field), and
    with ``expires_at`` never longer than the seconds from the moment the message enters
    Twilio's outgoing queue to ``expires_at`` (a message queued past the campaign's expiry
    must not go out). 0 when it would enter the queue less than VALIDITY_PERIOD_MIN before
    ``expires_at``: it is expired, not sent.

    The moment it enters the queue is ``now``, or ``send_at`` for a message Twilio's scheduler
    holds. Twilio does not document from when a scheduled message's validity counts; this counts
    from SendAt, the only reading under which Twilio's default validity (10 h) lets a message
    scheduled days ahead (up to 35) go out at all."""
    if expires_at is None:
        return policy
    start = max(now, send_at) if send_at is not None else now
    left = int((expires_at - start).total_seconds())
    if left < scheduling.VALIDITY_PERIOD_MIN:
        return 0
    return min(policy or scheduling.VALIDITY_PERIOD_DEFAULT, left, scheduling.VALIDITY_PERIOD_MAX)


class _Transient(Exception):
    def __init__(self, error: GatewayError) -> None:
        super().__init__(str(error))
        self.error = error


class Delivery:
    """Sends jobs through a gateway: rate-limited, retried with backoff, reconciled when unsure.

    ``on_fatal`` is told about errors that must stop the whole send (bad credentials, sender or
    content); ``stop`` ends retries early.
    """

    def __init__(
        self, sessions: sessionmaker[Session], gateway: Gateway, content_sid: str, *,
        limiter: RateLimiter, retry: RetryPolicy, stop: threading.Event,
        on_fatal: Callable[[BaseException], None], validity_period: int | None = None,
        expires_at: dt.datetime | None = None,
    ) -> None:
        self._validity = validity_period
        self._expires_at = expires_at  # the campaign's: caps each message's ValidityPeriod
        self._sessions = sessions
        self._gateway = gateway
        self._content_sid = content_sid
        self._limiter = limiter
        self._retry = retry
        self._stop = stop
        self._on_fatal = on_fatal
        self._lock = threading.Lock()
        self._claimed: set[str] = set()

    def deliver(self, job: Job) -> Outcome:
        """Send ``job``. Throttled requests are retried; after an ambiguous failure (5xx, no answer)
        Twilio's message list is searched before every retry, so nothing is sent twice."""
        maybe_sent = [False]

        def attempt() -> Outcome:
            if maybe_sent[0] and (found := self.find(job)):
                return self._accepted(job, found, reconciled=True)
            if job.until is not None and utc(self._gateway.now()) >= job.until:  # no rate token for it
                return Outcome(job.intent_id, job.user_id, "released", message=LATE)
            self._limiter.acquire()
            now = utc(self._gateway.now())
            if job.until is not None and now >= job.until:  # the window closed while it waited: never sent late
                return Outcome(job.intent_id, job.user_id, "released", message=LATE)
            validity = validity_for(self._validity, self._expires_at, now=now, send_at=job.send_at)
            if validity == 0:  # it would reach Twilio's queue after expires_at: never sent (stays unsent)
                return Outcome(job.intent_id, job.user_id, "released", message=EXPIRED)
            try:
                sent = self._gateway.send_message(request(job, self._content_sid, validity_period=validity))
            except GatewayError as exc:
                action = classify(exc)
                if action is Action.RECIPIENT:
                    return Outcome(job.intent_id, job.user_id, "rejected", code=exc.code, error_kind=exc.kind,
                                   message=str(exc)[:500])
                if action is Action.FATAL:
                    self._on_fatal(exc)
                    return Outcome(job.intent_id, job.user_id, "released")
                maybe_sent[0] = maybe_sent[0] or action is Action.AMBIGUOUS
                raise _Transient(exc) from None
            return self._accepted(job, sent)

        try:
            try:
                return attempt()  # the usual case, without building a retry loop
            except (_Transient, GatewayError) as first:
                failed = [first]

            def again() -> Outcome:  # the retry loop, its first attempt being the one that failed
                if failed:
                    raise failed.pop()
                return attempt()

            return tenacity.Retrying(**self._options())(again)
        except (_Transient, GatewayError):
            if not maybe_sent[0]:
                return Outcome(job.intent_id, job.user_id, "released")
            return self.settle(job, tries=1)

    def settle(self, job: Job, *, tries: int | None = None) -> Outcome:
        """The outcome of an intent whose request may have reached Twilio: accepted (found in
        Twilio's list), released (certainly not there) or unresolved (Twilio did not answer)."""
        options = self._options()
        if tries is not None:
            options["stop"] = tenacity.stop_after_attempt(tries)
        try:
            found = tenacity.Retrying(**options)(self.find, job)
        except GatewayError:
            return Outcome(job.intent_id, job.user_id, "unresolved")
        if found is None:
            return Outcome(job.intent_id, job.user_id, "released")
        return self._accepted(job, found, reconciled=True)

    def find(self, job: Job) -> MessageRecord | None:
        """The message Twilio holds for this intent, if it was processed: an outbound message to
        the same number created after the intent whose SID the store does not know yet
        (preferring one whose text contains the variable values)."""
        earliest = job.created_at - SLACK
        found = [
            r for r in self._gateway.list_messages(to=job.to, limit=50)
            if not r.inbound and r.to == job.to and (r.date_created is None or r.date_created >= earliest)
        ]
        if not found:
            return None
        with self._sessions() as session:
            known = service.known_sids(session, [r.sid for r in found])
        with self._lock:
            fresh = [r for r in found if r.sid not in known and r.sid not in self._claimed]
        if not fresh:
            return None
        values = [v for v in job.variables.values() if v]
        matching = [r for r in fresh if r.body and all(v in r.body for v in values)]
        return min(matching or fresh, key=lambda r: (r.date_created or job.created_at, r.sid))

    def _accepted(self, job: Job, message: Any, *, reconciled: bool = False) -> Outcome:
        with self._lock:
            self._claimed.add(message.sid)
        return Outcome(job.intent_id, job.user_id, "accepted", sid=message.sid, status=message.status,
                       at=dt.datetime.now(dt.UTC), created_at=message.date_created, reconciled=reconciled)

    def _options(self) -> dict[str, Any]:
        policy = self._retry
        return {
            "stop": tenacity.stop_after_attempt(policy.attempts) | tenacity.stop_when_event_set(self._stop),
            "wait": _Wait(policy),
            "retry": tenacity.retry_if_exception_type((_Transient, GatewayError)),
            "sleep": self._stop.wait,
            "reraise": True,
        }


class _Wait:
    """Exponential backoff with jitter, never shorter than the Retry-After the gateway asked for."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._backoff = tenacity.wait_exponential(multiplier=policy.initial, max=policy.maximum) + tenacity.wait_random(
            0, policy.jitter
        )

    def __call__(self, state: tenacity.RetryCallState) -> float:
        wait = float(self._backoff(state))
        error = state.outcome.exception() if state.outcome is not None else None
        asked = getattr(getattr(error, "error", error), "retry_after", None)
        return max(wait, float(asked)) if asked else wait
