"""The durable inbox: everything Twilio tells us is stored before it is applied, and kept until it is.

Webhooks (``server``), ``client.record_statuses`` / ``record_replies`` rows, and the send
engine all share one path: :func:`record` stores the events (identical ones once), then applies
them with the service's idempotent recorders. A status for a SID nobody recorded yet stays
*pending* and is applied the moment the SID is recorded (:func:`apply_for_sids`, called by the
send engine in the transaction that stores the SID; :func:`apply_pending`, called by
``client.sync()`` and the server's sweep). Nothing pending is ever dropped:
:func:`pending_events` lists what waits, with its age.

>>> import campaign_sdk as cs
>>> client = cs.CampaignClient("sqlite:///:memory:")
>>> client.record_statuses([{"sid": "SM" + "1" * 32, "status": "delivered"}]).pending
1
>>> list(client.pending_events()["sid"])
['SM11111111111111111111111111111111']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from campaign_sdk._store import engine_of
from campaign_sdk import service
from campaign_sdk.inbox._apply import UNKNOWN_SID, Outcome, apply, apply_each, result_of
from campaign_sdk.inbox._store import INBOX_SUFFIX, KINDS, Inbox, Stored, close_inbox, inbox_for
from campaign_sdk.models import utcnow

__all__ = [
    "INBOX_SUFFIX",
    "KINDS",
    "UNKNOWN_SID",
    "Inbox",
    "Outcome",
    "Stored",
    "apply",
    "apply_for_sids",
    "apply_pending",
    "close_inbox",
    "inbox_for",
    "pending_events",
    "record",
    "result_of",
]


def record(sessions: sessionmaker[Session], kind: str, events: Sequence[Mapping[str, Any]], *,
           source: str) -> service.RecordResult:
    """Store ``events`` of ``kind`` ("status" or "reply") in the inbox, then apply them."""
    inbox = inbox_for(engine_of(sessions))
    stored = inbox.add(kind, events, source=source)
    return result_of(stored, apply(sessions, inbox, stored))


def apply_pending(sessions: sessionmaker[Session], *, sids: Iterable[str] | None = None) -> service.RecordResult:
    """Apply the pending events (for ``sids``, or all) whose SIDs are known by now."""
    inbox = inbox_for(engine_of(sessions))
    result = service.RecordResult()
    after = 0
    while True:
        batch = [e for e in inbox.pending(sids=sids, limit=2000) if e.id > after]
        if not batch:
            return result
        after = batch[-1].id
        known = _known(sessions, [e for e in batch if e.kind == "status"])
        ready = [e for e in batch if e.kind != "status" or e.sid in known]
        part = result_of(ready, apply(sessions, inbox, ready)) if ready else service.RecordResult()
        result += part + service.RecordResult(pending=len(batch) - len(ready))
        if len(batch) < 2000:
            return result


def _known(sessions: sessionmaker[Session], events: list[Stored]) -> set[str]:
    if not events:
        return set()
    with sessions() as session:
        return service.known_sids(session, [e.sid for e in events])


def apply_for_sids(session: Session, sids: Iterable[str]) -> int:
    """Apply, in ``session``'s transaction, the pending events of SIDs it has just recorded
    (the send engine calls this where it stores SIDs). The inbox marks them applied once the
    transaction commits; if it never does, they stay pending. Returns how many were applied."""
    wanted = [s for s in sids if s]
    if not wanted:
        return 0
    engine = session.get_bind()
    inbox = inbox_for(engine if isinstance(engine, sa.Engine) else engine.engine)
    waiting = inbox.pending(sids=wanted, connection=session.connection() if inbox.shared else None)
    if not waiting:
        return 0
    session.flush()
    outcomes = apply_each(session, waiting)  # one by one: a refused event must not undo the caller's work
    marks = {i: (o.state, o.note) for i, o in outcomes.items()}
    if inbox.shared:
        inbox.mark(marks, connection=session.connection())
    else:
        sa.event.listen(session, "after_commit", lambda _s: inbox.mark(marks), once=True)
    return sum(o.state == "applied" for o in outcomes.values())


def pending_events(engine: sa.Engine, *, older_than: dt.timedelta | None = None) -> pd.DataFrame:
    """Events still waiting (for their SID, or after a refusal: ``state`` failed), oldest
    first, with their age; ``older_than`` keeps those waiting at least that long."""
    inbox = inbox_for(engine)
    rows = inbox.pending(older_than=older_than, limit=100_000)
    with inbox.engine.connect() as connection:
        failed = connection.execute(sa.select(Inbox.table()).where(Inbox.table().c.state == "failed")).all()
    now = utcnow()
    records = [{"id": e.id, "kind": e.kind, "sid": e.sid, "status": e.event.get("status"), "state": "pending",
                "note": e.note, "received_at": e.received_at, "age": now - e.received_at} for e in rows]
    records += [{"id": r.id, "kind": r.kind, "sid": r.sid, "status": r.payload.get("status"), "state": "failed",
                 "note": r.note, "received_at": _aware(r.received_at), "age": now - _aware(r.received_at)}
                for r in failed if older_than is None or now - _aware(r.received_at) >= older_than]
    columns = ["id", "kind", "sid", "status", "state", "note", "received_at", "age"]
    return pd.DataFrame(records, columns=columns).sort_values("id", ignore_index=True)


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
