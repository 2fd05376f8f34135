"""The send loop: reconcile, claim leads in chunks, send concurrently, record through one writer.

Exactly-once, step by step:

1. Take the campaign's send lease (one sender per campaign).
2. Reconcile intents a killed send left without a SID: look each one up in Twilio's message list
   (recipient, date) and record the SID found, or release the intent so the lead is sent again.
3. For each chunk of unsent leads: commit intents (no SID yet), then send them with at most
   ``max_in_flight`` requests in flight, paced by the rate limiter. Twilio's answers (SIDs or
   permanent errors) are written in batches by the writer thread.
4. A throttled request (429 / 20429) is retried; an ambiguous one (5xx, dropped connection) is
   looked up in Twilio's list before each retry, so a request that was processed is not sent twice.

A crash anywhere leaves at worst intents without SID, which step 2 settles on the next call.

Delivery policy: the campaign's plan (``campaign_sdk.delivery.plan_campaign``, run once per call)
decides per lead: sent now, *deferred* (quiet hours, a schedule, WhatsApp's messaging limit: a
``deferred_sends`` row with its due moment and reason, committed with the chunk's intents; the
worker, :mod:`._due`, sends it when due) or skipped (``frequency_cap``, ``expired``, ...; counted
in the report). A lead that already has a deferred row belongs to the worker and is left alone.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import SingletonThreadPool

from campaign_sdk._store import engine_of
from campaign_sdk import delivery as policy_layer
from campaign_sdk import experiments, service
from campaign_sdk._exceptions import CampaignStateError, GatewayError
from campaign_sdk.facts.errors import ErrorKind
from campaign_sdk.gateways import Gateway
from campaign_sdk.models import Campaign, CampaignType, MessageStatus
from campaign_sdk.schemas import compile_variables
from campaign_sdk.sending import _cancel, _deferred
from campaign_sdk.sending._books import Bookkeeper, Outcome, mark_scheduled
from campaign_sdk.sending._delivery import EXPIRED, LATE, Delivery, Job
from campaign_sdk.sending._lease import SendLease
from campaign_sdk.sending._limiter import RateLimiter
from campaign_sdk.sending._queue import JobQueue
from campaign_sdk.sending._planned import Decision, Decisions, clock_of, decide
from campaign_sdk.sending._policy import RetryPolicy
from campaign_sdk.sending._preflight import SCAN_CHUNK, SKIP_REASONS, ArmChecks, blockers
from campaign_sdk.sending._report import SendReport, worker_note
from campaign_sdk.sending._scan import Scan, census, every_lead_handled

CHECK_EVERY = 0.25  # seconds between checks that the campaign is still enabled
TWILIO_SCHEDULING = True  # hand deferred messages to Twilio's scheduler when it can hold them (see _prepare)
CHUNK_MAX = 1000  # leads per chunk at most (its intents are open at once)
WRITE_EVERY = 0.2  # seconds the writer lets outcomes gather between transactions


class CampaignSender:
    """One ``send()`` call. Use :func:`send_campaign`."""

    def __init__(
        self, sessions: sessionmaker[Session], gateway: Gateway, campaign_id: int, *,
        rate: float | None, max_in_flight: int, retry: RetryPolicy, progress: bool,
        chunk_size: int | None = None, client_policy: policy_layer.DeliveryPolicy | None = None,
        at: dt.datetime | str | None = None, local_time: str | None = None,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, not {max_in_flight}")
        self._sessions = sessions
        self._gateway = gateway
        self._campaign_id = campaign_id
        self._inline = isinstance(engine_of(sessions).pool, SingletonThreadPool)
        self._max_in_flight = 1 if self._inline else max_in_flight
        self._chunk = chunk_size or max(50, min(500, 8 * self._max_in_flight))
        # chunks grow to this (a given chunk_size stays fixed): the first requests leave soon, and
        # later chunks last long enough for the next one's intents to be committed meanwhile
        self._chunk_max = chunk_size or max(self._chunk, min(CHUNK_MAX, 32 * self._max_in_flight))
        self._limiter = RateLimiter(rate)
        self._retry = retry
        self._progress_enabled = progress
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._fatal: BaseException | None = None
        self._queue = JobQueue()  # jobs whose intents are committed, not yet taken
        self._last_check = 0.0  # when the campaign was last seen enabled
        self._ahead: Future[tuple[bool, list[Job]]] | None = None  # the next chunk, prepared
        self._client_policy = client_policy
        self._at, self._local_time = at, local_time
        self._plan: Decisions | None = None
        self._scans = [Scan(campaign_id)]  # the send's stretches of leads, and their census (see _sort)
        self._expired_held: list[int] = []  # leads with a deferred row the plan now calls expired
        self._back: dict[int, str] = {}  # lead -> its row's reason: held, and the plan defers it no more (_sort)
        self._kept_back: Counter[str] = Counter()  # ... sent now, but a worker claimed its row first (_intend)
        self._expired_late = 0  # due now in the plan, expired by the time of their request (_delivery.EXPIRED)
        self._skips: list[tuple[int, str]] = []  # (lead, reason): the leads this send skips, marked at its end
        self._late = 0  # due now in the plan, their window closed before their request (_delivery.LATE)
        self._late_skipped = 0  # ... and no allowed moment left before expires_at
        self._enabled_sql = sa.select(Campaign.enabled).where(Campaign.id == campaign_id)
        self.report: SendReport

    # -- the call -----------------------------------------------------------------------------
    def run(self) -> SendReport:
        started = time.monotonic()
        self._prepare()
        lease = SendLease(self._sessions, self._campaign_id)
        lease.acquire()
        interrupted: BaseException | None = None
        try:
            with Bookkeeper(self._sessions, lease, inline=self._inline, coalesce=WRITE_EVERY) as books, \
                    self._executor() as pool:
                try:
                    self._settle_leftovers(books, pool)
                    # the delivery plan (after step 2: it sees the settled intents) decides who is
                    # sent now, deferred (until when) or skipped
                    self._plan = decide(self._sessions, self._gateway, self._campaign_id,
                                        client_policy=self._client_policy, at=self._at,
                                        local_time=self._local_time)
                    self.report.notes.extend(self._plan.warnings)
                    with self._progress() as bar:
                        try:
                            self._dispatch(books, pool, bar)
                        finally:
                            pool.shutdown(wait=True)  # every answer is in before the bar closes
                except KeyboardInterrupt as exc:
                    interrupted = exc
                    self._halt("interrupted")
                    self._release_undispatched(books)
                finally:
                    pool.shutdown(wait=True)
                    books.close()
            if books.error is not None:
                self._fail(books.error)
        finally:
            lease.release()
        self._census()
        self.report.remaining = self._remaining()
        with self._sessions() as session:  # a row due after expires_at is never sent: not "due"
            waiting, due = _deferred.waiting(session, self._campaign_id, until=self._expires_at)
        self.report.next_due = policy_layer.utc(due) if due is not None else None
        if note := worker_note(waiting, self.report.next_due):  # deferred_sends rows: the worker's, not Twilio's
            self.report.notes.append(note)
        self.report.notes.extend(_cancel.sweep_notes(  # STOP does not cancel what Twilio holds: the SDK does
            self._sessions, self._gateway, campaign_id=self._campaign_id if self.report.scheduled else None))
        self.report.duration = time.monotonic() - started
        self.report.seal()  # final: read-only from here on
        if interrupted is not None:
            raise interrupted
        if self._fatal is not None:
            raise _stopped_error(self._fatal, self.report)
        return self.report

    def _prepare(self) -> None:
        with self._sessions() as session:
            row = service.get_campaign(session, self._campaign_id)
            problems = blockers(row, self._gateway, campaign_type=CampaignType.MARKETING)
            problems += experiments.arm_problems(row) + experiments.plan_problems(session, row)
            if problems:
                raise CampaignStateError(f"campaign {row.name!r} cannot send: " + "; ".join(problems))
            self._content_sid = str(row.content_sid)
            self._expires_at = policy_layer.utc(row.expires_at) if row.expires_at is not None else None
            policy = policy_layer.policy_for(row, given=None, client_policy=self._client_policy)
            # checked now (a schedule in the past, ...): the plan itself is made after step 2
            policy_layer.schedule(at=self._at, local_time=self._local_time, now=clock_of(self._gateway),
                                  expires_at=self._expires_at)
            # A deferred message whose moment is in Twilio's SendAt window is handed to Twilio's
            # scheduler (SendRequest.send_at) when the gateway sends through a Messaging Service;
            # disable() cancels it there (sending/_cancel.py). The others wait for the worker.
            self._twilio_schedules = TWILIO_SCHEDULING and policy_layer.twilio_can_schedule(self._gateway)
            self._delivery = Delivery(
                self._sessions, self._gateway, self._content_sid, limiter=self._limiter,
                retry=self._retry, stop=self._stop, on_fatal=self._fail,
                validity_period=policy.validity_period, expires_at=self._expires_at,
            )
            self._mapping = compile_variables(service.content_of(row)).mapping
            self._arms = experiments.send_arms(row)  # a lead's variant decides its content
            self._check = ArmChecks(self._arms, channel=self._gateway.channel)
            self.report = SendReport(
                campaign=row.name, campaign_id=row.id, simulated=bool(self._gateway.simulated),
                rate=self._limiter.rate,
            )

    # -- step 2: intents left by an interrupted send ------------------------------------------
    def _settle_leftovers(self, books: Bookkeeper, pool: Any) -> None:
        with self._sessions() as session:
            intents = service.open_intents(session, self._campaign_id)
            # an intent whose lead has a deferred row is the worker's (it may be in flight there)
            owned = _deferred.deferred_leads(session, self._campaign_id, [i.lead_id for i in intents])
        intents = [i for i in intents if i.lead_id not in owned]
        jobs = [
            Job(i.id, i.lead_id, i.user_id, i.to_number, dict(i.content_variables or {}), i.created_at,
                i.content_sid)
            for i in intents
        ]
        futures = [pool.submit(self._settle_one, job, books) for job in jobs]
        wait(futures)
        for future in futures:
            future.result()
        books.flush()  # released intents are gone before leads are claimed again

    def _settle_one(self, job: Job, books: Bookkeeper) -> None:
        outcome = self._delivery.settle(job)
        if outcome.kind != "unresolved":
            books.put(outcome)
        if outcome.kind != "released":
            self._count(outcome)
        self._expired(job, outcome)

    def _expired(self, job: Job, outcome: Outcome) -> None:
        """A lead whose intent was released because the campaign expired meanwhile is skipped."""
        if outcome.kind == "released" and outcome.message == EXPIRED:
            with self._lock:
                self._skips.append((job.lead_id, EXPIRED))

    # -- step 3: claim, intend, send ----------------------------------------------------------
    def _decided(self) -> Decisions:
        assert self._plan is not None, "the plan is made before leads are looked at"
        return self._plan

    def _sort(self, session: Session, batch: list[service.LeadCandidate], scan: Scan) -> tuple[
            list[service.LeadCandidate], list[tuple[service.LeadCandidate, Decision]]]:
        """Count ``batch`` in ``scan``'s census (to send, deferred or skipped, by reason) and
        return its leads due now and its leads to defer (those that have no deferred row yet).
        The send's scans call this once per lead: the census is made as they go."""
        counts, deferred = scan.counts, scan.deferred
        open_, skips = [], []
        for lead in batch:
            reason = self._check.reason(lead)
            if reason is None:
                open_.append(lead)
            else:
                counts[reason] += 1
                skips.append((lead.lead_id, reason))
        held = _deferred.deferred_leads(session, self._campaign_id, [lead.lead_id for lead in open_])
        now = clock_of(self._gateway)  # Twilio holds a message only while its SendAt is in its window
        decisions = self._decided().of([lead.lead_id for lead in open_])
        # a held lead the plan defers no more (a looser policy since): one the policy alone held
        # is sent now (_intend releases its row with its intent); one a worker is sending, or
        # held for the user's at= / local_time=, stays the worker's, counted by its row's reason
        if back := {lead.lead_id: d.action for lead, d in zip(open_, decisions, strict=True)
                    if lead.lead_id in held and d.action != "defer"}:
            rows = _deferred.held_rows(session, self._campaign_id, list(back), now=self._decided().now)
            with self._lock:
                self._back.update({lead: reason for lead, (reason, _) in rows.items()})
            held = held - {lead for lead, (_, takeable) in rows.items() if takeable and back[lead] == "send"}
        due, later = [], []
        for lead, decision in zip(open_, decisions, strict=True):
            if lead.lead_id in held and decision.action == "skip" and decision.reason == "expired":
                # the worker holds it, but from now it could only arrive after expires_at (a
                # campaign resumed after its expiry): skipped, and its deferred row dropped at
                # the end of the call, as the worker drops an expired row (_due.py)
                counts["expired"] += 1
                with self._lock:
                    self._expired_held.append(lead.lead_id)
            elif lead.lead_id in held or self._deferred(decision, now):
                deferred[self._back.get(lead.lead_id) or decision.reason or "scheduled"] += 1
                if lead.lead_id not in held:
                    later.append((lead, decision))
            elif decision.action in ("skip", "holdout"):
                counts[decision.reason or decision.action] += 1
                skips.append((lead.lead_id, decision.reason or decision.action))
            elif decision.action == "unplanned":
                counts["unplanned"] += 1
            else:
                counts["send"] += 1
                due.append(lead)
        scan.counted(batch)
        with self._lock:
            self._skips += skips
        return due, later

    def _census(self) -> None:
        """The report's census: the scan's counts, and the leads a stopped send never reached."""
        if self._plan is None:  # stopped before the plan was made
            return
        with self._sessions() as session:
            for scan in self._scans:
                while batch := scan.fetch(session, SCAN_CHUNK):
                    self._sort(session, batch, scan)
        # the leads skipped get their skip mark (their status reads skipped, with the reason);
        # the held ones the plan now calls expired are dropped and marked by drop_unclaimed
        with self._sessions.begin() as session:
            now = self._decided().now
            _deferred.mark_skipped(session, self._campaign_id, self._skips, now=now)
            if self._expired_held:
                _deferred.drop_unclaimed(session, self._campaign_id, self._expired_held, now=now, reason="expired")
        counts, deferred = census(self._scans)
        if self._kept_back:  # counted as sent now, but a worker claimed their rows first
            counts["send"] -= sum(self._kept_back.values())
            deferred.update(self._kept_back)
        if self._expired_late:  # planned as due now, expired before their request left
            counts["send"] -= self._expired_late
            counts["expired"] += self._expired_late
        if self._late:  # planned as due now, their window closed before their request left
            counts["send"] -= self._late
            counts["expired"] += self._late_skipped
        self.report.to_send = counts.pop("send", 0)
        ordered = [*SKIP_REASONS, *(r for r in counts if r not in SKIP_REASONS)]
        self.report.skipped = {r: counts[r] for r in ordered if counts[r]}
        deferred.update(self.report.deferred)  # handed back by Twilio during the send (_to_worker)
        self.report.deferred = dict(deferred)
        expired = self._expires_at is not None and (self._expires_at < self._decided().now or self._expired_late)
        if self._expires_at is not None and expired and counts.get("expired"):
            self.report.notes.append(
                f"the campaign expired at {self._expires_at.isoformat(timespec='seconds')}: "
                f"{counts['expired']} message(s) were not sent (a stale message is never sent)"
            )

    def _now(self, decision: Decision, now: dt.datetime | None = None) -> bool:
        """Sent in this call: due now, or handed to Twilio's scheduler."""
        return decision.action == "send" or self._twilio_holds(decision, now)

    def _deferred(self, decision: Decision, now: dt.datetime | None = None) -> bool:
        """Held back for the worker: deferred by the plan, unless Twilio's scheduler holds it."""
        return decision.action == "defer" and not self._twilio_holds(decision, now)

    def _twilio_holds(self, decision: Decision, now: dt.datetime | None) -> bool:
        """The plan hands this deferred message to Twilio's scheduler and, when ``now`` is given
        (the moment its chunk is sent: a plan may be minutes old), its SendAt is still inside
        Twilio's window; else the worker holds it."""
        if not (self._twilio_schedules and decision.action == "defer" and decision.scheduler == "twilio"
                and decision.send_at is not None):
            return False
        return now is None or policy_layer.in_twilio_window(decision.send_at, now)

    def _dispatch(self, books: Bookkeeper, pool: Any, bar: Any) -> None:
        """Send chunk after chunk: the sending threads take jobs from one queue, and the next
        chunk's intents are committed while the current chunk is sent, so the queue never runs
        dry waiting for a commit."""
        queue, main = self._queue, self._scans[0]
        ahead = None if self._inline else ThreadPoolExecutor(1, thread_name_prefix="campaign-sdk-intend")
        reserve = 4 * self._max_in_flight  # jobs left when the next chunk joins the queue
        scanner = rest = None
        more, size = True, self._chunk
        try:
            if not self._inline:
                for _ in range(self._max_in_flight):
                    pool.submit(self._sending, queue, books, bar)
            if ahead is not None and (last := self._decided().last(self._now)) is not None:
                # the leads after the last one due now are scanned by a thread of their own
                main.end = last
                self._scans.append(Scan(self._campaign_id, cursor=last))
                scanner = ThreadPoolExecutor(1, thread_name_prefix="campaign-sdk-scan")
                rest = scanner.submit(self._scan_rest, books, self._scans[-1])
            while more:
                self._last_check = self._check_enabled()
                if self._stopping(books):
                    return
                try:
                    if self._ahead is not None:
                        more, jobs = self._ahead.result()
                        self._ahead = None
                    else:
                        more, jobs = self._next_jobs(books, main, size)
                except Exception as exc:  # the intents could not be committed: send nothing more
                    self._fail(exc)
                    return
                queue.add(jobs)
                size = min(2 * size, self._chunk_max)
                if ahead is not None and more:
                    self._ahead = ahead.submit(self._next_jobs, books, main, size)
                if self._inline:
                    self._sending(queue, books, bar, wait=False)
                self._wait_for(queue, books, reserve if more else 0)
        except BaseException as exc:  # before the queue closes: no job is taken any more
            self._halt("interrupted" if isinstance(exc, KeyboardInterrupt) else f"error: {exc}"[:300])
            raise
        finally:
            queue.close()
            if ahead is not None:
                ahead.shutdown(wait=True)
            if scanner is not None:
                scanner.shutdown(wait=True)
            if rest is not None and (error := rest.exception()) is not None:
                self._fail(error)
            if self._stop.is_set():  # jobs never taken, a chunk prepared but never reached
                self._release_undispatched(books)

    def _wait_for(self, queue: JobQueue, books: Bookkeeper, left: int) -> None:
        """Wait until the queue holds ``left`` jobs, checking every CHECK_EVERY that the
        campaign is still enabled."""
        while len(queue) > left and not self._stopping(books):
            queue.wait_until(left, max(0.0, self._last_check + CHECK_EVERY - time.monotonic()))
            if time.monotonic() - self._last_check >= CHECK_EVERY:
                self._last_check = self._check_enabled()
        queue.wake()  # a stop is seen by the waiting sending threads

    def _sending(self, queue: JobQueue, books: Bookkeeper, bar: Any, *, wait: bool = True) -> None:
        """One sending thread: take a job, deliver it, until the queue is closed and empty or
        the send stops."""
        while (job := queue.take(lambda: self._stopping(books), wait=wait)) is not None:
            self._work(job, books, bar)
            if not wait and time.monotonic() - self._last_check > CHECK_EVERY:  # inline: no dispatcher
                self._last_check = self._check_enabled()

    def _release_undispatched(self, books: Bookkeeper) -> None:
        """Jobs never requested (left in the queue, and a chunk prepared ahead): their leads stay sendable."""
        jobs = self._queue.drain()
        if self._ahead is not None:
            try:
                jobs += self._ahead.result()[1]
            except Exception:  # its intents were never committed
                pass
            self._ahead = None
        for job in jobs:
            books.put(Outcome(job.intent_id, job.user_id, "released"))

    def _next_jobs(self, books: Bookkeeper, scan: Scan, size: int) -> tuple[bool, list[Job]]:
        """The next chunk of ``scan`` (``size`` leads): its deferred leads stored and its due
        leads' intents committed; returns whether leads are left, and the jobs."""
        while True:
            with self._sessions() as session:
                batch = scan.fetch(session, size)
                if not batch:
                    return False, []
                leads, later = self._sort(session, batch, scan)
            if leads:
                return True, self._intend(books, leads, later)
            if later:  # nothing to send in this chunk: its deferrals are written without waiting
                books.submit(self._deferral(later))

    def _scan_rest(self, books: Bookkeeper, scan: Scan) -> None:
        """The stretch after the last lead due now: counted and its deferrals written, while the
        requests go out (it holds no lead to send; it ends early when the send stops)."""
        while not self._stop.is_set():
            more, jobs = self._next_jobs(books, scan, SCAN_CHUNK)
            for job in jobs:  # none: the stretch starts after the plan's last lead due now
                books.put(Outcome(job.intent_id, job.user_id, "released"))
            if not more:
                return

    def _deferral(self, later: list[tuple[service.LeadCandidate, Decision]]) -> Callable[[Session], None]:
        held = [{"lead_id": lead.lead_id, "user_id": lead.user_id, "due_at": d.send_at, "reason": d.reason or "scheduled",
                 "not_before": self._at} for lead, d in later]

        def write(session: Session) -> None:
            _deferred.defer(session, self._campaign_id, held, channel=self._gateway.channel,
                            sender=_deferred.sender_of(self._gateway), local_time=self._local_time)

        return write

    def _intend(self, books: Bookkeeper, leads: list[service.LeadCandidate],
                later: list[tuple[service.LeadCandidate, Decision]]) -> list[Job]:
        arms = [self._arms.get(lead.variant, self._arms[None]) for lead in leads]
        values = [
            {number: str(lead.custom_variables[name]) for name, number in arm.mapping.items()}
            for lead, arm in zip(leads, arms, strict=True)
        ]
        intents = [
            {"lead_id": lead.lead_id, "user_id": lead.user_id, "to_number": lead.phone_number,
             "content_sid": arm.content_sid, "content_variables": variables, "channel": self._gateway.channel}
            for lead, arm, variables in zip(leads, arms, values, strict=True)
        ]

        deferral = self._deferral(later)
        decisions = self._decided().of([lead.lead_id for lead in leads])
        send_ats = [d.send_at if d.action == "defer" else None for d in decisions]
        untils = [d.until for d in decisions]

        with self._lock:
            back = [lead.lead_id for lead in leads if lead.lead_id in self._back]

        def write(session: Session) -> tuple[list[int], list[int]]:
            deferral(session)
            kept = list(range(len(leads)))
            if back:  # held leads taken back: their rows go in the transaction of their intents
                lost = set(back).difference(_deferred.release(session, self._campaign_id, back, now=self._decided().now))
                kept = [i for i in kept if leads[i].lead_id not in lost]
            ids = service.create_intents(session, session.get_one(Campaign, self._campaign_id), [intents[i] for i in kept])
            # the caps count a Twilio-held message at its SendAt
            mark_scheduled(session, ids, [send_ats[i] for i in kept], self._local_time)
            return ids, kept

        ids, kept = books.run(write)
        if len(kept) < len(leads):  # a worker claimed them in between: they stay the worker's
            with self._lock:
                self._kept_back.update(self._back[leads[i].lead_id] for i in set(range(len(leads))).difference(kept))
        now = dt.datetime.now(dt.UTC)
        return [
            Job(intent_id, leads[i].lead_id, leads[i].user_id, leads[i].phone_number, values[i], now,
                arms[i].content_sid, send_at=send_ats[i], until=untils[i])
            for intent_id, i in zip(ids, kept, strict=True)
        ]

    def _work(self, job: Job, books: Bookkeeper, bar: Any) -> None:
        try:
            outcome = self._delivery.deliver(job)
        except BaseException as exc:  # a bug or an unexpected error: the request may have left
            self._fail(exc)
            outcome = Outcome(job.intent_id, job.user_id, "unresolved")
        if job.send_at is not None and outcome.kind == "rejected" and outcome.error_kind == ErrorKind.SCHEDULE:
            self._to_worker(job, books)
        elif outcome.kind == "released" and outcome.message == LATE:
            self._too_late(job, books)
        else:
            if outcome.kind != "unresolved":
                books.put(outcome)
            self._count(outcome)
            self._expired(job, outcome)
        with self._lock:
            bar.update(1)

    def _to_worker(self, job: Job, books: Bookkeeper) -> None:
        """Twilio refused the SendAt (35114 / 35115: no longer in its window when the request
        arrived): the message was not created, so its intent is released and the worker holds
        the lead until its moment instead, in one transaction."""
        assert job.send_at is not None
        (decision,) = self._decided().of([job.lead_id])
        reason = decision.reason or "scheduled"
        held = [{"lead_id": job.lead_id, "user_id": job.user_id, "due_at": job.send_at, "reason": reason,
                 "not_before": self._at}]

        def write(session: Session) -> None:
            service.release_intents(session, [job.intent_id])
            _deferred.defer(session, self._campaign_id, held, channel=self._gateway.channel,
                            sender=_deferred.sender_of(self._gateway), local_time=self._local_time)

        books.submit(write)
        with self._lock:
            self.report.deferred[reason] = self.report.deferred.get(reason, 0) + 1

    def _too_late(self, job: Job, books: Bookkeeper) -> None:
        """Due now in the plan, but its send window closed before its request could leave (a
        long send): no request was made; its intent is released and the lead deferred to the
        moment the plan gives from the window's close (reason ``quiet_hours``), in one
        transaction. A crash before it leaves an intent without SID that the next send()
        settles (released: not in Twilio's list) and plans again."""
        (decision,) = self._decided().of([job.lead_id])
        due = decision.reopen
        if due is None or (self._expires_at is not None and due > self._expires_at):
            books.put(Outcome(job.intent_id, job.user_id, "released"))  # unsent: never stale
            with self._lock:
                self._late += 1
                self._late_skipped += 1
            return
        held = [{"lead_id": job.lead_id, "user_id": job.user_id, "due_at": due, "reason": "quiet_hours",
                 "not_before": self._at}]

        def write(session: Session) -> None:
            service.release_intents(session, [job.intent_id])
            _deferred.defer(session, self._campaign_id, held, channel=self._gateway.channel,
                            sender=_deferred.sender_of(self._gateway), local_time=self._local_time)

        books.submit(write)
        with self._lock:
            self._late += 1
            self.report.deferred["quiet_hours"] = self.report.deferred.get("quiet_hours", 0) + 1

    # -- state --------------------------------------------------------------------------------
    def _count(self, outcome: Outcome) -> None:
        with self._lock:
            if outcome.kind == "released" and outcome.message == EXPIRED:
                self._expired_late += 1
            elif outcome.kind == "accepted" and outcome.status == MessageStatus.SCHEDULED and not outcome.reconciled:
                self.report.scheduled += 1  # held by Twilio's scheduler: not sent yet
            else:
                outcome.tally(self.report)

    def _check_enabled(self) -> float:
        # a Core statement on a pooled connection: a fraction of an ORM session's cost, four
        # times a second while the requests go out
        with engine_of(self._sessions).connect() as connection:
            enabled = connection.execute(self._enabled_sql).scalar()
        if enabled is None:
            self._halt("disabled")
        return time.monotonic()

    def _stopping(self, books: Bookkeeper) -> bool:
        if books.error is not None:
            self._fail(books.error)
        return self._stop.is_set()

    def _halt(self, reason: str) -> None:
        with self._lock:
            if self.report.stopped is None:
                self.report.stopped = reason
        self._stop.set()

    def _fail(self, error: BaseException) -> None:
        with self._lock:
            self._fatal = self._fatal or error
        self._halt(f"error: {error}"[:300])

    def _remaining(self) -> int:
        """Leads the plan says are due now that have no message yet (deferred ones are the worker's)."""
        remaining, after = 0, 0
        with self._sessions() as session:
            if self._plan is not None and session.scalar(every_lead_handled(self._campaign_id)):
                return 0  # every lead has a message or a deferred row (a send that finished)
            while batch := service.lead_candidates(
                session, self._campaign_id, after_id=after, limit=SCAN_CHUNK, unsent_only=True
            ):
                after = batch[-1].lead_id
                if self._plan is None:  # stopped before the plan was made
                    remaining += sum(self._check.reason(lead) is None for lead in batch)
                    continue
                held = _deferred.deferred_leads(session, self._campaign_id, [lead.lead_id for lead in batch])
                open_ = [lead for lead in batch if lead.lead_id not in held and self._check.reason(lead) is None]
                remaining += sum(map(self._now, self._plan.of([lead.lead_id for lead in open_])))
        return max(0, remaining - self._expired_late - self._late_skipped)  # expired, not left to send

    @contextmanager
    def _executor(self) -> Iterator[Any]:
        if self._inline:
            yield _InlineExecutor()
            return
        with ThreadPoolExecutor(self._max_in_flight, thread_name_prefix="campaign-sdk-send") as pool:
            yield pool

    @contextmanager
    def _progress(self) -> Iterator[Any]:
        from tqdm.auto import tqdm

        label = f"{self.report.campaign}" + (" (SIMULATED)" if self.report.simulated else "")
        # the plan's count: the exact one (the census) is made by the scan the bar follows
        total = self._decided().count(self._now)
        bar = tqdm(total=total, desc=label, unit="msg", disable=not self._progress_enabled)
        try:
            yield bar
        finally:
            bar.close()


class _InlineExecutor:
    """Runs submitted work at once in the caller's thread (one-connection-per-thread engines)."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True) -> None:
        return None


def _stopped_error(error: BaseException, report: SendReport) -> GatewayError:
    known = error if isinstance(error, GatewayError) else None
    code, status = (known.code, known.status) if known is not None else (None, None)
    kind = (known.kind if known is not None else None) or "unknown"
    stopped = GatewayError(
        f"the send of {report.campaign!r} stopped: {error}. {report.sent} message(s) were sent before it "
        "stopped and are recorded; fix the cause and call send() again to resume (nothing is sent twice)",
        kind=kind, code=code, status=status,
    )
    stopped.report = report  # type: ignore[attr-defined]
    return stopped


def send_campaign(
    sessions: sessionmaker[Session], gateway: Gateway, campaign_id: int, *, rate: float | None = None,
    max_in_flight: int = 16, retry: RetryPolicy | None = None, progress: bool = True,
    chunk_size: int | None = None, client_policy: policy_layer.DeliveryPolicy | None = None,
    at: dt.datetime | str | None = None, local_time: str | None = None,
) -> SendReport:
    """Send a marketing campaign to every sendable lead that is due (deferring the others, see
    :class:`CampaignSender`)."""
    sender = CampaignSender(
        sessions, gateway, campaign_id, rate=rate, max_in_flight=max_in_flight,
        retry=retry or RetryPolicy(), progress=progress, chunk_size=chunk_size, client_policy=client_policy,
        at=at, local_time=local_time,
    )
    return sender.run()
