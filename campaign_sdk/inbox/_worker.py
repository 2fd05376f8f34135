"""The server's inbox worker: webhooks stored in batches, applied in batches, swept for the late.

Two threads, so that applying (which waits for the store, and a long bulk write holds SQLite's
write lock for seconds) never delays *storing* a webhook:

- the *keeper* only stores: every webhook that arrived since its last commit goes into one
  inbox transaction (one ``fsync`` for all of them), together with the states of the events
  applied meanwhile, and is handed on;
- the *applier* applies what was handed on (waiting for the store as long as it takes), and every
  ``sweep_every`` seconds applies pending events whose SID has been recorded since, logs the
  ones pending longer than ``stale_after`` (with SID and age), and forgets applied events
  older than ``keep``; it also calls ``after_opt_out`` (the server's: cancel what Twilio's
  scheduler holds for people who opted out, which needs the gateway the worker does not have),
  after applying a STOP (at once, or with the next sweep when it ran less than ``sweep_every``
  ago: it reads the store's scheduled messages) and at every sweep (a failed cancel is tried
  again; with no opt-out to handle it costs one lookup).

A request is answered once its event is stored (or fails: the route answers 503 so Twilio
retries). With ``inbox_wait`` above 0 it first waits up to that many seconds for the event to be
applied, unless the applier has been stuck for a quarter of that already (the store's write lock
is held by a long bulk write).
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from campaign_sdk._store import engine_of
from campaign_sdk import service
from campaign_sdk.inbox import apply_pending
from campaign_sdk.inbox._apply import apply, marks, result_of
from campaign_sdk.inbox._store import KINDS, Stored, inbox_for
from campaign_sdk.models import InboundKind

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
                 stale_after: dt.timedelta = dt.timedelta(minutes=15), keep: dt.timedelta = dt.timedelta(days=7),
                 after_opt_out: Callable[[], Any] | None = None) -> None:
        self.sessions = sessions
        self.after_opt_out = after_opt_out
        self.inbox = inbox_for(engine_of(sessions))
        self.sweep_every, self.stale_after, self.keep = sweep_every, stale_after, keep
        self._incoming: queue.SimpleQueue[Ticket | dict[int, tuple[str, str | None]] | None] = queue.SimpleQueue()
        self._stored: queue.SimpleQueue[list[Ticket] | None] = queue.SimpleQueue()
        self._closing = threading.Event()
        self._threads = [threading.Thread(target=self._keep, name="campaign-sdk-inbox-keeper", daemon=True),
                         threading.Thread(target=self._apply, name="campaign-sdk-inbox-applier", daemon=True)]
        self._last_sweep = 0.0
        self._last_opt_out = 0.0  # when after_opt_out last ran
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
        """Store ``tickets`` (and write ``marks``) and hand them to the applier; returns the
        states still to write (when the inbox could not be written)."""
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
        if ok:
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
                    done = self._apply_tickets(tickets)
                    if done:
                        self._incoming.put(done)
                    if any(t.kind == "reply" and service.classify_inbound(t.event.get("body")) is InboundKind.OPT_OUT
                           for t in tickets) and time.monotonic() - self._last_opt_out >= self.sweep_every:
                        self._opted_out()  # else at the next sweep: one scan per sweep_every at most
                if time.monotonic() - self._last_sweep >= self.sweep_every:
                    self.sweep()
            finally:
                self._busy_since = None
            if None in batch:
                return

    def _apply_tickets(self, tickets: list[Ticket]) -> dict[int, tuple[str, str | None]]:
        """Apply and answer ``tickets``; returns the states for the inbox."""
        stored = [t.stored.result() for t in tickets]
        try:
            outcomes = apply(self.sessions, self.inbox, stored, mark=False)
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

    def _opted_out(self) -> None:
        if self.after_opt_out is None:
            return
        self._last_opt_out = time.monotonic()
        try:
            self.after_opt_out()
        except Exception as exc:  # tried again at the next sweep
            log.warning("canceling the scheduled messages of people who opted out failed (%s); retrying in %.0f s",
                        type(exc).__name__, self.sweep_every)

    def sweep(self) -> None:
        """Apply what became applicable, report what waits too long, forget old applied events."""
        self._last_sweep = time.monotonic()
        self._opted_out()
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
