"""Applying stored events to the store with the service's idempotent recorders.

Every path goes through here: webhooks, ``client.record_statuses`` / ``record_replies``, the
send engine when it records a SID, ``client.sync()`` and the server's sweep. An event whose SID
is not known yet stays pending (it is applied when the SID is recorded); an event a recorder
refuses (a ``ValueError``: a status or number it cannot use) is marked failed with the reason,
and the rest of its batch is still applied. Applying twice is harmless: the recorders are
idempotent, so a crash between the store's commit and the inbox's leaves the right state.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from campaign_sdk import service
from campaign_sdk.inbox._store import KINDS, Inbox, Stored

RECORDERS: dict[str, Callable[[Session, Sequence[Mapping[str, Any]]], service.RecordResult]] = {
    "status": service.record_statuses,
    "reply": service.record_replies,
}
UNKNOWN_SID = "unknown_sid"
_ATTEMPTS = 6


@dataclass(frozen=True)
class Outcome:
    """What applying one event did: ``state`` pending / applied / failed; ``changed`` whether
    it changed the store (False: a duplicate or a stale status)."""

    state: str
    changed: bool = False
    note: str | None = None
    unknown: str | None = None  # a status the SDK does not know, stored verbatim by the recorder


def recorder_event(stored: Stored) -> dict[str, Any]:
    """The recorder's input: the stored event, timed when it was received if it has no time."""
    event = dict(stored.event)
    key = "timestamp" if stored.kind == "status" else "received_at"
    if event.get(key) is None:
        event[key] = stored.received_at
    return event


def apply_each(session: Session, events: Sequence[Stored]) -> dict[int, Outcome]:
    """Apply ``events`` one by one in the caller's transaction (a refused one is skipped)."""
    outcomes: dict[int, Outcome] = {}
    for stored in events:
        try:
            result = RECORDERS[stored.kind](session, [recorder_event(stored)])
        except ValueError as exc:  # raised while reading the event, before it writes anything
            outcomes[stored.id] = Outcome("failed", note=str(exc)[:500])
            continue
        if result.unmatched:
            outcomes[stored.id] = Outcome("pending", note=UNKNOWN_SID)
        else:
            outcomes[stored.id] = Outcome("applied", changed=result.applied > 0, unknown=_unknown(result, stored))
    return outcomes


def _unknown(result: service.RecordResult, stored: Stored) -> str | None:
    raw = str(stored.event.get("status") or "").strip().lower()
    unknown = getattr(result, "unknown", [])
    return raw if any(u.get("sid") == stored.sid and u.get("status") == raw for u in unknown) else None


def apply_batch(session: Session, events: Sequence[Stored]) -> dict[int, Outcome]:
    """Apply ``events`` with one recorder call per kind, in the caller's transaction (a
    refused event raises ``ValueError``: the caller rolls back and goes one by one)."""
    outcomes: dict[int, Outcome] = {}
    for kind in KINDS:
        group = [e for e in events if e.kind == kind]
        if not group:
            continue
        result = RECORDERS[kind](session, [recorder_event(e) for e in group])
        for stored, outcome in zip(group, result.outcomes, strict=True):
            if outcome == "unmatched":
                outcomes[stored.id] = Outcome("pending", note=UNKNOWN_SID)
            else:
                outcomes[stored.id] = Outcome("applied", changed=outcome == "applied",
                                              unknown=_unknown(result, stored) if result.unknown else None)
    return outcomes


def apply(sessions: sessionmaker[Session], inbox: Inbox, events: Sequence[Stored], *,
          each: bool = False, mark: bool = True, attempts: int = _ATTEMPTS) -> dict[int, Outcome]:
    """Apply ``events`` in one transaction of the store (retried on races between writers),
    then record their states in the inbox (``mark=False``: the caller does, later; an inbox
    kept in the store itself is always marked in the same transaction). A refused event makes
    the batch go one by one (``each``), so it cannot keep the others out."""
    todo = list({e.id: e for e in events if e.state != "applied"}.values())
    if not todo:
        return {}
    outcomes: dict[int, Outcome] = {}
    for attempt in range(attempts):
        try:
            with sessions.begin() as session:
                try:
                    outcomes = apply_each(session, todo) if each else apply_batch(session, todo)
                except ValueError as exc:
                    raise _Refused from exc  # rolls the batch back
                if inbox.shared:  # the same database: the inbox changes commit with the store's
                    inbox.mark(marks(outcomes), connection=session.connection())
            break
        except _Refused:
            return apply(sessions, inbox, todo, each=True, mark=mark, attempts=attempts)
        except (OperationalError, IntegrityError):  # a lost race; the recorders are idempotent
            if attempt == attempts - 1:
                raise
            time.sleep(0.005 * 2**attempt)
    if mark and not inbox.shared:
        inbox.mark(marks(outcomes))
    return outcomes


class _Refused(Exception):
    """A recorder refused an event of a batch applied in one call."""


def marks(outcomes: Mapping[int, Outcome]) -> dict[int, tuple[str, str | None]]:
    return {id_: (o.state, o.note) for id_, o in outcomes.items()}


def result_of(events: Sequence[Stored], outcomes: Mapping[int, Outcome]) -> service.RecordResult:
    """The recorders' kind of answer for ``events``, in order: an event applied before (or
    earlier in the same call) counts as ignored."""
    applied = ignored = pending = 0
    unmatched: list[dict[str, Any]] = []
    unknown: list[dict[str, Any]] = []
    counted: set[int] = set()
    for stored in events:
        outcome = outcomes.get(stored.id)
        if outcome is None or stored.id in counted:
            ignored += 1
            continue
        counted.add(stored.id)
        if outcome.state == "applied":
            applied += outcome.changed
            ignored += not outcome.changed
            if outcome.unknown is not None:
                unknown.append({"sid": stored.sid, "status": outcome.unknown})
        elif outcome.state == "pending":
            pending += 1
            unmatched.append(_unmatched(stored, UNKNOWN_SID))
        else:
            unmatched.append(_unmatched(stored, f"refused: {outcome.note}"))
    return service.RecordResult(applied=applied, ignored=ignored, unmatched=unmatched, unknown=unknown,
                                pending=pending)


def _unmatched(stored: Stored, reason: str) -> dict[str, Any]:
    if stored.kind == "status":
        return {"sid": stored.sid, "status": str(stored.event.get("status", "")).lower(), "reason": reason}
    return {"sid": stored.sid, "reason": reason}
