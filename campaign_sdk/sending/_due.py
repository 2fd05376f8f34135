"""The local worker: sends deferred messages when they are due (``client.run_due()``,
``campaign-sdk worker``). Several workers may share one PostgreSQL store; see
:mod:`campaign_sdk.sending._deferred` for how a message is claimed once and sent once.

A worker sends on its gateway's channel only the messages planned for it (``deferred_sends.channel``,
migration 0013), and of those only the ones its gateway's sender deferred (``deferred_sends.sender``,
the Messaging Service SID or From number, migration 0014): those of another channel or another
sender wait for a worker of theirs, and the report's notes say how many. Rows deferred before a
migration (NULL) are sent by any worker, as before.

One pass: free the claims of dead workers on this host, claim due messages, and per campaign:
drop what expired (``expired``), settle intents a killed worker left (found in Twilio's list, or
released and sent again), ask the delivery plan again (a due message may now be over a frequency
cap, or moved by the messaging limit; under the campaign's own policy, else the store's client
policy as it is now, so a policy another process set since is seen; a message of a ``local_time``
send that the window now forbids moves to that time of the next allowed day), then send what the plan
says is due, rate-limited (the rate is shared by all workers through the store:
:class:`SharedRateLimiter`).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import SingletonThreadPool

from campaign_sdk._store import engine_of
from campaign_sdk import experiments, service
from campaign_sdk.delivery import DeliveryPolicy, policy_for, stored_client_policy, utc
from campaign_sdk.gateways import Gateway
from campaign_sdk.gateways._twilio import TWILIO_ENV
from campaign_sdk.models import (
    Campaign, CampaignLead, ConversationUser, DeferredSend, MessageStatus, OutboundMessage, SyncState,
)
from campaign_sdk.sending import _deferred
from campaign_sdk.sending._books import Bookkeeper, Outcome
from campaign_sdk.sending._deadline import allowed_from, timezone_value
from campaign_sdk.sending._cancel import sweep_notes
from campaign_sdk.sending._delivery import EXPIRED, Delivery, Job
from campaign_sdk.sending._limiter import RateLimiter
from campaign_sdk.sending._planned import clock_of, decide
from campaign_sdk.sending._policy import RetryPolicy
from campaign_sdk.sending._preflight import ArmChecks
from campaign_sdk.sending._report import Sealable


@dataclass
class DueReport(Sealable):
    """What one ``run_due()`` did: ``sent`` (accepted by Twilio), ``reconciled`` (sent by a worker
    that died, found in Twilio's list), ``failed`` (by code or kind), ``skipped`` (by reason, e.g.
    ``expired``, ``frequency_cap``), ``moved`` (deferred again, by reason), ``unresolved``,
    ``waiting`` (messages still deferred, on this worker's channel and of its sender), ``next_due`` and
    ``notes`` (e.g. messages Twilio's scheduler held for people who opted out, canceled; due messages
    planned for another channel or deferred by another sender, which this worker leaves to a worker
    of theirs)."""

    claimed: int = 0
    sent: int = 0
    reconciled: int = 0
    failed: dict[int | str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    moved: dict[str, int] = field(default_factory=dict)
    unresolved: int = 0
    waiting: int = 0
    next_due: dt.datetime | None = None
    stopped: str | None = None
    duration: float = 0.0
    notes: list[str] = field(default_factory=list)

    def merge(self, other: DueReport) -> None:
        self.claimed += other.claimed
        self.sent += other.sent
        self.reconciled += other.reconciled
        self.unresolved += other.unresolved
        for key, n in other.failed.items():
            self.failed[key] = self.failed.get(key, 0) + n
        for mine, theirs in ((self.skipped, other.skipped), (self.moved, other.moved)):
            for name, n in theirs.items():
                mine[name] = mine.get(name, 0) + n

    def __repr__(self) -> str:
        due = f" next_due={self.next_due.isoformat(timespec='seconds')}" if self.next_due else ""
        return (
            f"<DueReport claimed={self.claimed} sent={self.sent} reconciled={self.reconciled} failed={sum(self.failed.values())} "
            f"skipped={dict(self.skipped)} moved={dict(self.moved)} unresolved={self.unresolved} "
            f"waiting={self.waiting}{due}{' stopped=' + repr(self.stopped) if self.stopped else ''}"
            f"{' notes=' + repr(self.notes) if self.notes else ''}>"
        )


class SharedRateLimiter:
    """One rate for every worker on the store: slots are handed out from one absolute schedule kept
    in a ``sync_state`` row. A worker reserves a block of ``block`` consecutive slots with one
    compare-and-swap update and spends them locally, so the sum over workers never exceeds
    ``rate`` on average (a block a worker does not use is lost, never given twice)."""

    def __init__(self, sessions: sessionmaker[Session], rate: float | None, *, key: str = "rate:worker",
                 block: int | None = None) -> None:
        self.rate = rate
        self._sessions = sessions
        self._key = key
        self._block = block or (max(1, int(rate // 5)) if rate else 1)
        self._slots: list[float] = []
        self._lock = threading.Lock()

    def acquire(self) -> float:
        if self.rate is None:
            return time.time()
        with self._lock:
            if not self._slots:
                start = self._reserve()
                self._slots = [start + i / self.rate for i in range(self._block)][::-1]
            slot = self._slots.pop()
        delay = slot - time.time()
        if delay > 0:
            time.sleep(delay)
        return slot

    def _reserve(self) -> float:
        assert self.rate is not None
        span = self._block / self.rate
        while True:
            with self._sessions.begin() as session:
                row = session.get(SyncState, self._key)
                now = time.time()
                if row is None:
                    session.add(SyncState(key=self._key, value=json.dumps({"next": now + span})))
                    try:
                        session.flush()
                    except sa.exc.IntegrityError:
                        session.rollback()
                        continue
                    return now
                old = row.value
                start = max(float(json.loads(old).get("next", 0.0)), now)
                result = session.execute(
                    sa.update(SyncState).where(SyncState.key == self._key, SyncState.value == old)
                    .values(value=json.dumps({"next": start + span})).execution_options(synchronize_session=False)
                )
                if getattr(result, "rowcount", 0):
                    return start


class DueSender:
    """Sends what is due, once (``run``) or until stopped (``loop``).

    The campaigns without a policy of their own are planned with ``client_policy`` when given
    (it overrides), else with the store's client policy (``client.delivery_policy``), read
    again for each claimed batch: a policy another process sets reaches a running worker at its
    next pass."""

    def __init__(
        self, sessions: sessionmaker[Session], gateway: Gateway, *, rate: float | None = None,
        max_in_flight: int = 16, retry: RetryPolicy | None = None, batch: int = 500, ttl: float = 60.0,
        client_policy: DeliveryPolicy | None = None, clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self._sessions = sessions
        self._gateway = gateway
        self._inline = isinstance(engine_of(sessions).pool, SingletonThreadPool)
        self._max_in_flight = 1 if self._inline else max(1, max_in_flight)
        self._retry = retry or RetryPolicy()
        self._batch = batch
        self._ttl = ttl
        self._given_policy = client_policy
        self._client_policy = client_policy  # the one the batch under way plans with (_policy_now)
        self._clock = clock or (lambda: clock_of(gateway))
        self._sender = _deferred.sender_of(gateway)
        self._token = _deferred.worker_token()
        self._limiter: Any = SharedRateLimiter(sessions, rate) if rate and not self._inline else RateLimiter(rate)
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def stop(self) -> None:
        self._stop.set()

    def loop(self, *, poll: float = 1.0, on_report: Callable[[DueReport], None] | None = None) -> None:
        """Send what is due, then wait for the next due moment (at most ``poll`` s), until stopped."""
        while not self._stop.is_set():
            report = self.run()
            if on_report is not None and (report.claimed or report.stopped or report.notes):
                on_report(report)
            wait_for = poll
            if report.next_due is not None:
                wait_for = min(poll, max(0.0, (report.next_due - self._clock()).total_seconds()))
            self._stop.wait(max(wait_for, 0.05))

    def run(self) -> DueReport:
        """Send everything due now; returns when nothing due is left (or on a fatal error)."""
        started = time.monotonic()
        total = DueReport()
        batch_no = 0
        while not self._stop.is_set():
            batch_no += 1
            token = f"{self._token}/{batch_no}"
            now = self._clock()
            with self._sessions.begin() as session:
                _deferred.free_dead_claims(session, now)
                rows = _deferred.claim_due(session, token, now=now, limit=self._batch, ttl=self._ttl,
                                           channel=self._gateway.channel, sender=self._sender)
                claimed = [(r.id, r.campaign_id, r.lead_id, r.user_id) for r in rows]
            if not claimed:
                break
            self._client_policy = self._policy_now()
            report = self._batch_of(token, claimed, now)
            report.claimed = len(claimed)
            total.merge(report)
            if report.stopped:
                total.stopped = report.stopped
                break
        channel, sender = self._gateway.channel, self._sender
        with self._sessions() as session:
            total.waiting, due = _deferred.waiting(session, channel=channel, sender=sender)
            elsewhere = _deferred.due_elsewhere(session, channel, now=self._clock())
            others = {} if sender is None else _deferred.due_from_others(session, channel, sender, now=self._clock())
        total.notes.extend(_elsewhere_note(elsewhere, channel))
        total.notes.extend(_others_note(others, sender))
        total.next_due = utc(due) if due is not None else None
        total.notes.extend(sweep_notes(self._sessions, self._gateway))  # opt-outs recorded without a gateway
        total.duration = time.monotonic() - started
        return total.seal()

    def _policy_now(self) -> DeliveryPolicy | None:
        """The client policy to plan with: the one given, else the store's as it is now."""
        if self._given_policy is not None:
            return self._given_policy
        with self._sessions() as session:
            return stored_client_policy(session)

    # -- one claimed batch --------------------------------------------------------------------
    def _batch_of(self, token: str, claimed: list[tuple[int, int, int, int]], now: dt.datetime) -> DueReport:
        report = DueReport()
        claims = _deferred.Claims(token, self._ttl)
        claims.held = len(claimed)
        by_campaign: dict[int, list[tuple[int, int, int]]] = {}
        for row_id, campaign_id, lead_id, user_id in claimed:
            by_campaign.setdefault(campaign_id, []).append((row_id, lead_id, user_id))
        fatal: list[BaseException] = []
        try:
            for campaign_id, items in by_campaign.items():
                if self._stop.is_set() or fatal:
                    break
                self._campaign(token, claims, campaign_id, items, now, report, fatal)
        finally:
            with self._sessions.begin() as session:
                _deferred.unclaim(session, token)  # unresolved or not reached: the next pass takes them
        if fatal:
            report.stopped = f"error: {fatal[0]}"[:300]
        return report

    def _campaign(self, token: str, claims: _deferred.Claims, campaign_id: int, items: list[tuple[int, int, int]],
                  now: dt.datetime, report: DueReport, fatal: list[BaseException]) -> None:
        with self._sessions() as session:
            row = service.get_campaign(session, campaign_id)
            expires_at = utc(row.expires_at) if row.expires_at is not None else None
            content_sid = str(row.content_sid)
            arms = experiments.send_arms(row)
            channel = self._gateway.channel
            existing = _messages(session, campaign_id, [lead for _, lead, _ in items])
            validity = policy_for(row, given=None, client_policy=self._client_policy).validity_period
        row_of = {lead: row_id for row_id, lead, _ in items}
        lead_of = {row_id: lead for row_id, lead, _ in items}
        if expires_at is not None and now > expires_at:
            def drop(session: Session) -> None:
                _deferred.finish(session, token, [r for r, _, _ in items], [])
                _deferred.mark_skipped(session, campaign_id, [(lead, EXPIRED) for _, lead, _ in items], now=now)

            self._write(drop)
            report.skipped[EXPIRED] = report.skipped.get(EXPIRED, 0) + len(items)
            return
        settled = [row_of[lead] for lead, m in existing.items() if m.sid is not None or m.error_kind is not None]
        leftovers = [m for m in existing.values() if m.sid is None and m.error_kind is None]
        fresh = [(r, lead, user) for r, lead, user in items if lead not in existing]
        if settled:
            self._write(lambda s: _deferred.finish(s, token, settled, []))
        stop = threading.Event()
        def on_fatal(exc: BaseException) -> None:
            fatal.append(exc)
            stop.set()

        delivery = Delivery(self._sessions, self._gateway, content_sid, limiter=self._limiter, retry=self._retry,
                            stop=stop, on_fatal=on_fatal, validity_period=validity, expires_at=expires_at)
        jobs_row: dict[int, int] = {}

        def on_outcomes(session: Session, outcomes: list[Outcome]) -> None:
            # a message expired by the time of its request is dropped, as an expired row is above
            expired = [jobs_row[o.intent_id] for o in outcomes if o.kind == "released" and o.message == EXPIRED]
            done = [jobs_row[o.intent_id] for o in outcomes if o.kind in ("accepted", "rejected")] + expired
            back = [jobs_row[o.intent_id] for o in outcomes if o.kind == "released" and o.message != EXPIRED]
            _deferred.finish(session, token, done, back)
            _deferred.mark_skipped(session, campaign_id, [(lead_of[r], EXPIRED) for r in expired], now=now)
            claims.held -= len(done) + len(back)

        with Bookkeeper(self._sessions, claims, inline=self._inline, heartbeat_every=max(0.5, self._ttl / 4),
                        on_outcomes=on_outcomes) as books, self._pool() as pool:
            jobs = [Job(m.id, m.lead_id, m.user_id, m.to_number, dict(m.content_variables or {}), m.created_at,
                        m.content_sid) for m in leftovers]
            for job in jobs:
                jobs_row[job.intent_id] = row_of[job.lead_id]
            futures = [pool.submit(self._settle, delivery, job, books, report) for job in jobs]
            wait(futures)
            if fresh and not fatal:
                self._fresh(token, claims, row, arms, channel, fresh, books, pool, delivery, jobs_row, report, stop)
            pool.shutdown(wait=True)
            books.close()
        if books.error is not None:
            fatal.append(books.error)

    def _fresh(self, token: str, claims: _deferred.Claims, row: Campaign, arms: Any, channel: str,
               fresh: list[tuple[int, int, int]], books: Bookkeeper, pool: Any, delivery: Delivery,
               jobs_row: dict[int, int], report: DueReport, stop: threading.Event) -> None:
        plan = decide(self._sessions, self._gateway, row.id, client_policy=self._client_policy, now=self._clock())
        decisions = plan.of([lead for _, lead, _ in fresh])
        with self._sessions() as session:
            leads = {c.lead_id: c for c in _candidates(session, row.id, [lead for _, lead, _ in fresh])}
            local_times = _local_times(session, [row_id for row_id, _, _ in fresh])
        policy = policy_for(row, given=None, client_policy=self._client_policy) if local_times else None
        check = ArmChecks(arms, channel=channel)
        done, moves, sendable, skips = [], [], [], []
        for (row_id, lead_id, _), decision in zip(fresh, decisions, strict=True):
            lead = leads.get(lead_id)
            reason = check.reason(lead) if lead is not None else "removed"
            if reason is None and decision.action in ("skip", "holdout"):
                reason = decision.reason or decision.action
            if reason is not None:
                done.append(row_id)
                skips.append((lead_id, reason))
                report.skipped[reason] = report.skipped.get(reason, 0) + 1
            elif decision.action == "defer" and decision.send_at is not None:
                due = decision.send_at
                if decision.reason == "quiet_hours" and row_id in local_times and lead is not None and policy is not None:
                    due = _at_local_time(row, lead, local_times[row_id], policy, plan.now) or due
                moves.append((row_id, due, decision.reason or "quiet_hours"))
                key = decision.reason or "quiet_hours"
                report.moved[key] = report.moved.get(key, 0) + 1
            elif decision.action == "send" and lead is not None:
                sendable.append((row_id, lead))
        claims.held -= len(done) + len(moves)
        if done or moves:
            def settle(session: Session) -> None:
                _deferred.finish(session, token, done, [])
                _deferred.move(session, token, moves)
                _deferred.mark_skipped(session, row.id, skips, now=plan.now)  # dropped: the lead reads skipped

            books.run(settle)
        if not sendable:
            return
        intents, values = [], []
        for _, lead in sendable:
            arm = arms.get(lead.variant, arms[None])
            variables = {number: str(lead.custom_variables[name]) for name, number in arm.mapping.items()}
            values.append((arm, variables))
            intents.append({"lead_id": lead.lead_id, "user_id": lead.user_id, "to_number": lead.phone_number,
                            "content_sid": arm.content_sid, "content_variables": variables, "channel": channel})
        ids = books.run(lambda s: service.create_intents(s, s.get_one(Campaign, row.id), intents))
        created = dt.datetime.now(dt.UTC)
        in_flight = threading.BoundedSemaphore(self._max_in_flight)
        last = time.monotonic()
        for intent_id, (row_id, lead), (arm, variables) in zip(ids, sendable, values, strict=True):
            jobs_row[intent_id] = row_id
            job = Job(intent_id, lead.lead_id, lead.user_id, lead.phone_number, variables, created, arm.content_sid)
            while not in_flight.acquire(timeout=0.25):
                pass
            if time.monotonic() - last > 0.25:
                last = time.monotonic()
                if not _enabled(self._sessions, row.id):
                    stop.set()
                    report.stopped = "disabled"
            if stop.is_set() or self._stop.is_set() or books.error is not None:
                in_flight.release()
                books.put(Outcome(job.intent_id, job.user_id, "released"))
                continue
            pool.submit(self._deliver, delivery, job, books, in_flight, report)

    def _deliver(self, delivery: Delivery, job: Job, books: Bookkeeper, in_flight: threading.BoundedSemaphore,
                 report: DueReport) -> None:
        try:
            outcome = delivery.deliver(job)
        except BaseException:  # the request may have left: reconciled by the next pass
            outcome = Outcome(job.intent_id, job.user_id, "unresolved")
        if outcome.kind != "unresolved":
            books.put(outcome)
        self._count(outcome, report)
        in_flight.release()

    def _settle(self, delivery: Delivery, job: Job, books: Bookkeeper, report: DueReport) -> None:
        outcome = delivery.settle(job)
        if outcome.kind != "unresolved":
            books.put(outcome)
        if outcome.kind != "released":
            self._count(outcome, report)

    def _count(self, outcome: Outcome, report: DueReport) -> None:
        with self._lock:
            if outcome.kind == "released" and outcome.message == EXPIRED:
                report.skipped[EXPIRED] = report.skipped.get(EXPIRED, 0) + 1
            outcome.tally(report)

    def _write(self, job: Callable[[Session], Any]) -> None:
        with self._sessions.begin() as session:
            job(session)

    def _pool(self) -> Any:
        if self._inline:
            from campaign_sdk.sending._engine import _InlineExecutor

            class _Inline(_InlineExecutor):
                def __enter__(self) -> _Inline:
                    return self

                def __exit__(self, *exc: object) -> None:
                    return None

            return _Inline()
        return ThreadPoolExecutor(self._max_in_flight, thread_name_prefix="campaign-sdk-due")


def _elsewhere_note(counts: dict[str, int], channel: str) -> list[str]:
    """Why due messages planned for another channel are not sent by this worker, and what to do."""
    if not counts:
        return []
    which = ", ".join(f"{n:,} for {name}" for name, n in counts.items())
    flags = " / ".join(f"--channel {name}" for name in counts)
    return [f"due messages planned for another channel wait ({which}): this worker sends {channel} only; "
            f"start a worker on theirs (campaign-sdk worker {flags}, with that channel's sender)"]


def _others_note(counts: dict[str, int], sender: str | None) -> list[str]:
    """Why due messages another sender deferred are not sent by this worker, and what to start."""
    if not counts:
        return []
    which = ", ".join(f"{n:,} from {name}" for name, n in counts.items())
    return [f"due messages deferred by another sender wait ({which}): this worker sends from {sender} only; "
            f"start a worker on this channel with their sender ({TWILIO_ENV['messaging_service_sid']} for a "
            f"Messaging Service, --from / {TWILIO_ENV['from']} for a number)"]


def _local_times(session: Session, row_ids: list[int]) -> dict[int, str]:
    """The ``local_time`` of the deferred rows ``row_ids`` that a send scheduled so (migration 0016)."""
    found: dict[int, str] = {}
    for first in range(0, len(row_ids), 900):
        found.update((row_id, str(hhmm)) for row_id, hhmm in session.execute(
            sa.select(DeferredSend.id, DeferredSend.local_time).where(
                DeferredSend.id.in_(row_ids[first:first + 900]), DeferredSend.local_time.is_not(None))).all())
    return found


def _at_local_time(row: Campaign, lead: service.LeadCandidate, local_time: str, policy: DeliveryPolicy,
                   now: dt.datetime) -> dt.datetime | None:
    """The moment a due message of a ``local_time`` send goes when the window of ``policy`` (the
    campaign's, as the plan applies it) now forbids it: that time of the next allowed day in the
    recipient's zones (:func:`._deadline.allowed_from`, as the plan and a held message's recheck
    move it); None: the plan's own moment stands."""
    return allowed_from(lead.phone_number, timezone_value(lead.custom_variables), policy, str(row.campaign_type),
                        None, local_time, now)[0]


def _enabled(sessions: sessionmaker[Session], campaign_id: int) -> bool:
    with sessions() as session:
        return session.scalar(sa.select(Campaign.enabled).where(Campaign.id == campaign_id)) is not None


def _messages(session: Session, campaign_id: int, lead_ids: list[int]) -> dict[int, OutboundMessage]:
    found: dict[int, OutboundMessage] = {}
    for start in range(0, len(lead_ids), 900):
        chunk = lead_ids[start:start + 900]
        for message in session.scalars(sa.select(OutboundMessage).where(  # a canceled one never went out
                OutboundMessage.campaign_id == campaign_id, OutboundMessage.lead_id.in_(chunk),
                OutboundMessage.status != MessageStatus.CANCELED)):
            session.expunge(message)
            found[message.lead_id] = message
    return found


def _candidates(session: Session, campaign_id: int, lead_ids: list[int]) -> list[service.LeadCandidate]:
    """The send facts of the given leads (their messages were looked at already: none exist)."""
    out = []
    for start in range(0, len(lead_ids), 900):
        chunk = lead_ids[start:start + 900]
        query = (
            sa.select(CampaignLead.id, CampaignLead.user_id, ConversationUser.phone_number,
                      CampaignLead.custom_variables, CampaignLead.removed_at.is_not(None),
                      ConversationUser.opted_out_at.is_not(None), CampaignLead.variant)
            .join(ConversationUser, ConversationUser.id == CampaignLead.user_id)
            .where(CampaignLead.campaign_id == campaign_id, CampaignLead.id.in_(chunk))
        )
        out += [service.LeadCandidate(int(r[0]), int(r[1]), r[2], r[3] or {}, bool(r[4]), bool(r[5]), None, False, r[6])
                for r in session.execute(query)]
    return out


def run_due(sessions: sessionmaker[Session], gateway: Gateway, **options: Any) -> DueReport:
    """Send every deferred message that is due now; see :class:`DueSender`."""
    return DueSender(sessions, gateway, **options).run()

