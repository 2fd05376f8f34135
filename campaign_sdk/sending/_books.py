"""The send's single database writer: every write of a send goes through one thread, in batches.

Workers hand over outcomes without waiting; the dispatcher waits only for its intents to be
committed (an intent must be durable before its request leaves). Each transaction carries every
outcome queued so far, the lease heartbeat and any waiting job, so SQLite's single writer is
never contended by the send itself.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from campaign_sdk import inbox, service
from campaign_sdk.models import OutboundMessage

if TYPE_CHECKING:
    from campaign_sdk.sending._deferred import Claims
    from campaign_sdk.sending._lease import SendLease

T = TypeVar("T")
OutcomeKind = Literal["accepted", "rejected", "released", "unresolved"]


@dataclass(frozen=True)
class Outcome:
    """What happened to one intent. ``released``: certainly not sent (the lead stays sendable);
    ``unresolved``: maybe sent, left for the next send to reconcile."""

    intent_id: int
    user_id: int
    kind: OutcomeKind
    sid: str | None = None
    status: str | None = None
    code: int | None = None
    error_kind: str | None = None
    message: str | None = None
    at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    reconciled: bool = False

    def tally(self, report: Any) -> None:
        """Count this outcome in a ``SendReport`` or ``DueReport`` (``sent`` / ``reconciled`` /
        ``failed`` by Twilio's code, else by kind / ``unresolved``); the caller holds its lock."""
        if self.kind == "accepted":
            if self.reconciled:
                report.reconciled += 1
            else:
                report.sent += 1
        elif self.kind == "rejected":
            key = self.code or str(self.error_kind)  # Twilio's code when there is one, else the kind
            report.failed[key] = report.failed.get(key, 0) + 1
        elif self.kind == "unresolved":
            report.unresolved += 1


class Bookkeeper:
    def __init__(
        self, sessions: sessionmaker[Session], lease: SendLease | Claims | None = None, *,
        interval: float = 0.05, heartbeat_every: float = 5.0, inline: bool = False,
        on_outcomes: Callable[[Session, list[Outcome]], None] | None = None, coalesce: float = 0.0,
    ) -> None:
        self._sessions = sessions
        self._lease = lease
        self._on_outcomes = on_outcomes  # more writes for the outcomes, in their transaction
        self._coalesce = coalesce  # seconds to wait after a write before the next one
        self._interval = interval
        self._heartbeat_every = heartbeat_every
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closing = threading.Event()
        self._wake = threading.Event()  # set when someone waits for the next commit (or on close)
        self._thread = threading.Thread(target=self._run, name="campaign-sdk-writer", daemon=True)
        self.error: BaseException | None = None
        self._last_beat = time.monotonic()
        # Inline: everything runs in the caller's thread (for engines with one connection per
        # thread, such as an in-memory SQLite database).
        self._inline = inline
        self._pending: list[Outcome] = []

    def __enter__(self) -> Bookkeeper:
        if not self._inline:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def put(self, outcome: Outcome) -> None:
        """Queue an outcome (written with the next batch)."""
        if self._inline:
            self._pending.append(outcome)
            if len(self._pending) >= 200:
                self.flush()
            return
        self._queue.put(outcome)

    def run(self, job: Callable[[Session], T]) -> T:
        """Run ``job`` in the writer's next transaction and wait until it is committed."""
        future: Future[T] = Future()
        if self._inline:
            pending, self._pending = self._pending, []
            self._write([*pending, (job, future)], beat=self._lease is not None)
        else:
            self._queue.put((job, future))
            self._wake.set()
        return future.result()

    def submit(self, job: Callable[[Session], T]) -> Future[T]:
        """Run ``job`` in the writer's next transaction without waiting for it (errors end in
        :attr:`error`, as an outcome's would)."""
        if self._inline:
            future: Future[T] = Future()
            future.set_result(self.run(job))
            return future
        future = Future()
        self._queue.put((job, future))
        self._wake.set()
        return future

    def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        self.run(lambda session: None)

    def close(self) -> None:
        """Write everything queued and stop the writer (errors stay in :attr:`error`)."""
        if self._inline:
            if self._pending and self.error is None:
                pending, self._pending = self._pending, []
                self._write(pending, beat=False)
        elif self._thread.is_alive():
            self._closing.set()
            self._queue.put(None)
            self._wake.set()
            self._thread.join()

    def _run(self) -> None:
        while True:
            items = self._collect()
            closing = self._closing.is_set() and self._queue.empty()
            beat = self._lease is not None and time.monotonic() - self._last_beat >= self._heartbeat_every
            if items or beat:
                self._write([i for i in items if i is not None], beat)
            if closing:
                return
            if items and self._coalesce and not self._closing.is_set():
                # let outcomes gather: fewer, larger transactions (each costs a commit and the
                # inbox lookup), and less of the writer holding the GIL while requests are sent;
                # a job someone waits for (a chunk's intents) ends the wait at once
                self._wake.wait(self._coalesce)
                self._wake.clear()

    def _collect(self) -> list[Any]:
        try:
            items = [self._queue.get(timeout=self._interval)]
        except queue.Empty:
            return []
        while len(items) < 5000:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return items

    def _write(self, items: list[Any], beat: bool) -> None:
        outcomes = [i for i in items if isinstance(i, Outcome)]
        jobs = [i for i in items if isinstance(i, tuple)]
        results: list[Any] = []
        try:
            with self._sessions.begin() as session:
                apply_outcomes(session, outcomes)
                if self._on_outcomes is not None and outcomes:
                    self._on_outcomes(session, outcomes)
                if beat and self._lease is not None:
                    self._lease.heartbeat(session)
                    self._last_beat = time.monotonic()
                results = [job(session) for job, _ in jobs]
        except BaseException as exc:  # the send must stop; the next send reconciles what is missing
            self.error = self.error or exc
            for _, future in jobs:
                future.set_exception(exc)
            return
        for (_, future), result in zip(jobs, results, strict=True):
            future.set_result(result)


def apply_outcomes(session: Session, outcomes: list[Outcome]) -> None:
    """Write outcomes: SIDs of accepted messages, errors of rejected ones, released intents deleted.
    Status callbacks that arrived before their SID (kept in the inbox) are applied with it."""
    accepted = [o for o in outcomes if o.kind == "accepted"]
    service.record_accepted(
        session,
        [{"id": o.intent_id, "sid": o.sid, "status": o.status, "at": o.at, "created_at": o.created_at}
         for o in accepted],
    )
    inbox.apply_for_sids(session, [o.sid for o in accepted if o.sid])
    service.record_rejected(
        session,
        [{"id": o.intent_id, "user_id": o.user_id, "code": o.code, "kind": o.error_kind, "message": o.message,
          "at": o.at}
         for o in outcomes if o.kind == "rejected"],
    )
    service.release_intents(session, [o.intent_id for o in outcomes if o.kind == "released"])


def mark_scheduled(session: Session, intent_ids: list[int], send_ats: list[dt.datetime | None],
                   local_time: str | None = None) -> None:
    """Store the ``SendAt`` of the intents handed to Twilio's scheduler (``scheduled_for``: the
    moment the frequency caps and the messaging limit count the message at) and the send's
    ``local_time`` (if it was scheduled so: a policy set later moves the message to that time)."""
    rows = [{"intent_id": i, "at": at, "lt": local_time} for i, at in zip(intent_ids, send_ats, strict=True)
            if at is not None]
    if rows:
        table = cast(sa.Table, OutboundMessage.__table__)
        session.execute(sa.update(table).where(table.c.id == sa.bindparam("intent_id"))
                        .values(scheduled_for=sa.bindparam("at"), local_time=sa.bindparam("lt")), rows)
