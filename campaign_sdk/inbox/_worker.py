"""The server's inbox worker: webhooks stored in batches, applied in batches, swept for the late.

Two threads, so that a store that is busy (a long bulk write holds SQLite's write lock) never
delays *storing* a webhook, only applying it:

- the *keeper* stores every webhook that arrived since its last commit in one inbox
  transaction (one ``fsync`` for all of them), together with the states of the events applied
  meanwhile, then applies them itself, giving up after 50 ms if a SQLite store's write lock
  is held (by a long bulk write), in which case it hands them on;
- the *applier* applies what was handed on (waiting for the store as long as it takes), and every
  ``sweep_every`` seconds applies pending events whose SID has been recorded since, logs the
  ones pending longer than ``stale_after`` (with SID and age), and forgets applied events
  older than ``keep``.

A request waits for its event to be stored (or fails: the route answers 503 so Twilio retries),
then at most ``inbox_wait`` seconds for it to be applied, and is answered either way; when the
applier has already been stuck for a quarter of that (the store's write lock is held by a
long bulk write), it is answered at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from campaign_sdk import service
from campaign_sdk._store import _sqlite_pragmas
from campaign_sdk.analytics._store import sqlite_path
from campaign_sdk.inbox import apply_pending
from campaign_sdk.inbox._apply import apply, marks, result_of
from campaign_sdk.inbox._store import KINDS, Stored, inbox_for

log = logging.getLogger("campaign_sdk.inbox")
_BATCH = 1000


@dataclass
class Ticket:
    """One webhook on its way: ``stored`` resolves to the inbox row (or the reason it could not
    be stored), ``applied`` to the recorder's answer (None: left pending, the store was busy)."""

    kind: str
    event: Mapping[str, Any]
    stored: Future[Stored] = field(default_factory=Future)
    applied: Future[service.RecordResult | None] = field(default_factory=Future)


class InboxWorker:
    """Stores and applies webhooks for one server process; :meth:`close` stops it."""

    def __init__(self, sessions: sessionmaker[Session], *, sweep_every: float = 5.0,
                 stale_after: dt.timedelta = dt.timedelta(minutes=15), keep: dt.timedelta = dt.timedelta(days=7)) -> None:
        self.sessions = sessions
        self.inbox = inbox_for(sessions.kw["bind"])
        self.quick_sessions = _quick(sessions)
        self.sweep_every, self.stale_after, self.keep = sweep_every, stale_after, keep
        self._incoming: queue.SimpleQueue[Ticket | dict[int, tuple[str, str | None]] | None] = queue.SimpleQueue()
        self._stored: queue.SimpleQueue[list[Ticket] | None] = queue.SimpleQueue()
        self._closing = threading.Event()
        self._threads = [threading.Thread(target=self._keep, name="campaign-sdk-inbox-keeper", daemon=True),
                         threading.Thread(target=self._apply, name="campaign-sdk-inbox-applier", daemon=True)]
        self._last_sweep = 0.0
        self._busy_since: float | None = None
        self._last_prune = time.monotonic()
        for thread in self._threads:
            thread.start()

    def submit(self, kind: str, event: Mapping[str, Any]) -> Ticket:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        ticket = Ticket(kind, event)
        self._incoming.put(ticket)
        return ticket

    def busy_for(self) -> float:
        """For how many seconds the applier has been in its current store transaction (0: idle)."""
        since = self._busy_since
        return 0.0 if since is None else time.monotonic() - since

    def close(self) -> None:
        """Apply what is stored, write the last states, stop (requests have stopped by then)."""
        self._closing.set()
        self._stored.put(None)
        self._threads[1].join(30)
        self._incoming.put(None)
        self._threads[0].join(30)
        if self.quick_sessions is not self.sessions:
            self.quick_sessions.kw["bind"].dispose()

    # -- the keeper -------------------------------------------------------------------------
    def _keep(self) -> None:
        marks: dict[int, tuple[str, str | None]] = {}
        while True:
            # states of events applied here are written with the next insert, or after 0.5 s
            batch = _drain(self._incoming, timeout=0.5 if marks else None)
            tickets = [t for t in batch if isinstance(t, Ticket)]
            for item in batch:
                if isinstance(item, dict):
                    marks.update(item)
            if tickets or marks:
                marks = self._store(tickets, marks)
            if None in batch:
                if marks:
                    self._store([], marks)
                return

    def _store(self, tickets: list[Ticket], marks: dict[int, tuple[str, str | None]]) -> dict[int, tuple[str, str | None]]:
        """Store ``tickets`` (and write ``marks``), then try to apply them at once; returns the
        states to write next time."""
        try:
            for kind in KINDS:
                group = [t for t in tickets if t.kind == kind]
                if group or marks:
                    stored = self.inbox.add(kind, [t.event for t in group], source="webhook", marks=marks)
                    marks = {}  # written with the first kind's rows
                    for ticket, row in zip(group, stored, strict=True):
                        ticket.stored.set_result(row)
        except Exception as exc:  # the route answers 503; Twilio retries
            log.error("the webhook inbox could not be written: %s", type(exc).__name__)
            for ticket in tickets:
                if not ticket.stored.done():
                    ticket.stored.set_exception(exc)
                    ticket.applied.set_result(None)
            return marks  # states only: written with the next insert
        ok = [t for t in tickets if t.stored.exception() is None]
        if not ok:
            return {}
        if self.busy_for() < 0.1:  # the applier is not stuck behind a long write: try here first
            done = self._apply_tickets(ok, self.quick_sessions, quick=True)
            if done is not None:
                return done
        self._stored.put(ok)
        return {}

    # -- the applier ------------------------------------------------------------------------
    def _apply(self) -> None:
        while True:
            batch = _drain(self._stored, timeout=self.sweep_every)
            tickets = [t for group in batch if group for t in group]
            self._busy_since = time.monotonic()
            try:
                if tickets:
                    done = self._apply_tickets(tickets, self.sessions, quick=False)
                    if done:
                        self._incoming.put(done)
                if time.monotonic() - self._last_sweep >= self.sweep_every:
                    self.sweep()
            finally:
                self._busy_since = None
            if None in batch:
                return

    def _apply_tickets(self, tickets: list[Ticket], sessions: sessionmaker[Session], *,
                       quick: bool) -> dict[int, tuple[str, str | None]] | None:
        """Apply and answer ``tickets``; returns the states for the inbox, or None (``quick``
        only) when the store was busy and nothing was done."""
        stored = [t.stored.result() for t in tickets]
        try:
            outcomes = apply(sessions, self.inbox, stored, mark=False, attempts=1 if quick else 6)
        except OperationalError:
            if quick:
                return None
            return self._failed(tickets)
        except Exception:  # stored, so not lost: the next sweep applies them
            return self._failed(tickets)
        counted: set[int] = set()
        for ticket, event in zip(tickets, stored, strict=True):
            seen = {} if event.id in counted else outcomes  # a repeat within the batch: ignored
            counted.add(event.id)
            ticket.applied.set_result(result_of([event], seen))
        return {} if self.inbox.shared else marks(outcomes)

    def _failed(self, tickets: list[Ticket]) -> dict[int, tuple[str, str | None]]:
        log.warning("applying %d webhook(s) failed; they stay in the inbox for the next sweep", len(tickets))
        for ticket in tickets:
            if not ticket.applied.done():
                ticket.applied.set_result(None)
        return {}

    def sweep(self) -> None:
        """Apply what became applicable, report what waits too long, forget old applied events."""
        self._last_sweep = time.monotonic()
        try:
            apply_pending(self.sessions)
            stale = self.inbox.pending(older_than=self.stale_after, limit=20)
            if stale:
                now = dt.datetime.now(dt.UTC)
                listed = ", ".join(f"{e.sid} ({e.kind}, {now - e.received_at} old)" for e in stale[:5])
                log.warning("%s inbox event(s) pending for more than %s, oldest first: %s",
                            "20+" if len(stale) == 20 else len(stale), self.stale_after, listed)
            if time.monotonic() - self._last_prune > 3600:
                self._last_prune = time.monotonic()
                self.inbox.prune(keep=self.keep)
        except Exception as exc:  # the store may be busy or gone for a while; try again later
            log.warning("inbox sweep failed (%s); retrying in %.0f s", type(exc).__name__, self.sweep_every)


def _quick(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Sessions that give up on a SQLite store's write lock after 50 ms (the keeper's own try;
    a long write is left to the applier). Other stores: the same sessions."""
    engine = sessions.kw["bind"]
    if engine.dialect.name != "sqlite" or sqlite_path(engine) is None:
        return sessions
    quick = sa.create_engine(engine.url)
    sa.event.listen(quick, "connect", _quick_pragmas)
    return sessionmaker(quick, expire_on_commit=False)


def _quick_pragmas(dbapi_connection: Any, record: Any) -> None:
    _sqlite_pragmas(dbapi_connection, record)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=50")
    cursor.close()


def _drain(source: queue.SimpleQueue[Any], *, timeout: float | None) -> list[Any]:
    try:
        items = [source.get(timeout=timeout)]
    except queue.Empty:
        return []
    while len(items) < _BATCH:
        try:
            items.append(source.get_nowait())
        except queue.Empty:
            break
    return items
