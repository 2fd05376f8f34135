"""Where the inbox lives, and its rows: stored before anything else happens, changed only by state.

A SQLite file store gets its inbox in a database of its own beside it (``<store>.inbox``, WAL,
``synchronous=FULL``): a long write on the store (a million-lead load holds its write lock for
seconds) cannot block a webhook from being stored. Any other store (PostgreSQL, an in-memory
SQLite database) keeps it in its ``inbox_events`` table (migration 0007), written in a short
transaction of its own.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from campaign_sdk.analytics._store import sqlite_path
from campaign_sdk.models import InboxEvent, utcnow

INBOX_SUFFIX = ".inbox"
KINDS = ("status", "reply")
_T = cast(sa.Table, InboxEvent.__table__)


@dataclass(frozen=True)
class Stored:
    """One event as the inbox holds it. ``duplicate``: an identical event was stored before
    (this one was not stored again); ``state`` and ``note`` are then the earlier one's."""

    id: int
    kind: str
    sid: str
    event: dict[str, Any]
    received_at: dt.datetime
    duplicate: bool = False
    state: str = "pending"
    note: str | None = None


def dedupe_key(kind: str, event: Mapping[str, Any]) -> str:
    """The same event (a Twilio retry, a row recorded twice) always has the same key."""
    text = json.dumps([kind, {k: v for k, v in event.items() if v is not None}], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class Inbox:
    """The inbox of one store. Use :func:`inbox_for`."""

    def __init__(self, engine: sa.Engine, *, shared: bool) -> None:
        self.engine = engine
        self.shared = shared  # the inbox is a table of the store itself
        self.path = None if shared else engine.url.database

    def add(self, kind: str, events: Sequence[Mapping[str, Any]], *, source: str,
            marks: Mapping[int, tuple[str, str | None]] | None = None) -> list[Stored]:
        """Store ``events`` (one transaction; identical events once) and return them in order;
        ``marks`` (see :meth:`mark`) are written in the same transaction."""
        now = utcnow()
        rows: list[dict[str, Any]] = []
        seen: dict[str, int] = {}
        keys: list[str] = []
        for event in events:
            clean = {k: _plain(v) for k, v in event.items()}
            key = dedupe_key(kind, clean)
            keys.append(key)
            if key not in seen:
                seen[key] = len(rows)
                rows.append({"kind": kind, "source": source, "dedupe_key": key, "sid": str(clean.get("sid", "")),
                             "payload": clean, "state": "pending", "attempts": 0, "received_at": now})
        if not rows and not marks:
            return []
        insert = (postgresql if self.engine.dialect.name == "postgresql" else sqlite).insert(_T)
        statement = insert.on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(_T.c.id, _T.c.dedupe_key)
        with self.engine.begin() as connection:
            if self.engine.dialect.name == "postgresql":  # answer 503 rather than wait behind a lock
                connection.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            elif not self.shared:  # stored means on disk, power loss included
                connection.exec_driver_sql("PRAGMA synchronous=FULL")
            if marks:
                self.mark(marks, connection=connection)
            if not rows:
                return []
            new = {key: id_ for id_, key in connection.execute(statement, rows)}
            old = {}
            missing = [r["dedupe_key"] for r in rows if r["dedupe_key"] not in new]
            for start in range(0, len(missing), 500):
                old.update({r.dedupe_key: r for r in connection.execute(
                    sa.select(_T).where(_T.c.dedupe_key.in_(missing[start:start + 500])))})
        stored = []
        for row in rows:
            key = row["dedupe_key"]
            if key in new:
                stored.append(Stored(new[key], kind, row["sid"], row["payload"], now))
            else:
                earlier = old[key]
                stored.append(Stored(earlier.id, kind, earlier.sid, dict(earlier.payload), _aware(earlier.received_at),
                                     duplicate=True, state=earlier.state, note=earlier.note))
        return [stored[seen[key]] for key in keys]  # in the caller's order, repeats included

    @staticmethod
    def table() -> sa.Table:
        return _T

    def pending(self, *, sids: Iterable[str] | None = None, limit: int = 5000,
                older_than: dt.timedelta | None = None, connection: sa.Connection | None = None) -> list[Stored]:
        """Pending events (oldest first), for ``sids`` only when given."""
        query = sa.select(_T).where(_T.c.state == "pending").order_by(_T.c.id).limit(limit)
        if older_than is not None:
            query = query.where(_T.c.received_at <= utcnow() - older_than)
        wanted = None if sids is None else sorted(set(sids))
        rows: list[Any] = []
        with contextlib.nullcontext(connection) if connection is not None else self.engine.connect() as conn:
            if wanted is None:
                rows = list(conn.execute(query))
            elif wanted and conn.scalar(sa.select(_T.c.id).where(_T.c.state == "pending").limit(1)) is not None:
                # (a send asks after every batch of SIDs it records: while nothing is pending,
                # one indexed probe answers instead of a lookup of every SID)
                for start in range(0, len(wanted), 500):
                    rows += conn.execute(query.where(_T.c.sid.in_(wanted[start:start + 500])))
        return [Stored(r.id, r.kind, r.sid, dict(r.payload), _aware(r.received_at), state=r.state, note=r.note)
                for r in rows]

    def mark(self, outcomes: Mapping[int, tuple[str, str | None]], connection: sa.Connection | None = None) -> None:
        """Set each event's ``(state, note)``; a pending one counts another attempt."""
        if not outcomes:
            return
        now = utcnow()
        groups: dict[tuple[str, str | None], list[int]] = {}
        for id_, state_note in outcomes.items():
            groups.setdefault(state_note, []).append(id_)
        statements = [
            sa.update(_T).where(_T.c.id.in_(ids[start:start + 500]), _T.c.state != "applied")
            .values(state=state, note=note, applied_at=now if state == "applied" else None,
                    attempts=_T.c.attempts + 1)
            for (state, note), ids in groups.items() for start in range(0, len(ids), 500)
        ]
        if connection is not None:
            for statement in statements:
                connection.execute(statement)
            return
        with self.engine.begin() as own:
            if not self.shared:  # a state lost to a power cut only means applying again (idempotent)
                own.exec_driver_sql("PRAGMA synchronous=NORMAL")
            for statement in statements:
                own.execute(statement)

    def states(self, ids: Iterable[int]) -> dict[int, str]:
        wanted = list(ids)
        found: dict[int, str] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), 500):
                found.update(connection.execute(
                    sa.select(_T.c.id, _T.c.state).where(_T.c.id.in_(wanted[start:start + 500]))).tuples())
        return found

    def prune(self, *, keep: dt.timedelta) -> int:
        """Forget applied events older than ``keep`` (pending and failed ones are never dropped)."""
        with self.engine.begin() as connection:
            done = connection.execute(sa.delete(_T).where(_T.c.state == "applied",
                                                          _T.c.applied_at < utcnow() - keep))
        return int(done.rowcount or 0)

    def close(self) -> None:
        if not self.shared:
            self.engine.dispose()


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _plain(value: Any) -> Any:
    """JSON-safe event values (times as ISO 8601 in UTC)."""
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


_INBOXES: weakref.WeakKeyDictionary[sa.Engine, Inbox] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def inbox_for(engine: sa.Engine) -> Inbox:
    """The inbox of the store behind ``engine`` (opened, and on SQLite created, on first use).
    Its writes use the engine's default isolation, whatever options ``engine`` carries."""
    engine = getattr(engine, "_proxied", engine)  # an engine with execution options
    with _LOCK:
        inbox = _INBOXES.get(engine)
        if inbox is None:
            inbox = _INBOXES[engine] = _open(engine)
            weakref.finalize(engine, inbox.close)
        return inbox


def close_inbox(engine: sa.Engine) -> None:
    engine = getattr(engine, "_proxied", engine)
    with _LOCK:
        inbox = _INBOXES.pop(engine, None)
    if inbox is not None:
        inbox.close()


def _open(engine: sa.Engine) -> Inbox:
    path = sqlite_path(engine)
    if path is None:
        return Inbox(engine, shared=True)
    own = sa.create_engine(f"sqlite:///{path}{INBOX_SUFFIX}")
    sa.event.listen(own, "connect", _pragmas)
    with own.begin() as connection:  # IF NOT EXISTS: several processes may open it at once
        connection.execute(sa.schema.CreateTable(_T, if_not_exists=True))
        for index in _T.indexes:
            connection.execute(sa.schema.CreateIndex(index, if_not_exists=True))
    return Inbox(own, shared=False)


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=2000")
    cursor.close()
