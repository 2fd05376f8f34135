"""Recording what happens to messages: status callbacks, inbound replies, conversions.

Every recorder is idempotent: feeding the same events twice, or in another order, leaves the store
exactly as feeding them once in order would.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaign_sdk.facts import errors, statuses
from campaign_sdk.phones import normalize_phone
from campaign_sdk.models import (
    ConversationUser,
    Conversion,
    InboundKind,
    InboundMessage,
    MessageStatus,
    OutboundMessage,
    SyncState,
    utcnow,
)

OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})
# Set (a sync_state row) in the transaction that opts someone out: a message Twilio's scheduler
# holds for them must be canceled by the SDK (Twilio does not:
# facts.scheduling.OPT_OUT_CANCELS_SCHEDULED), which needs a gateway the recorders do not have;
# the next call that has one sweeps (sending._cancel.cancel_opted_out) and clears it.
OPT_OUT_SWEEP_KEY = "opt_out:cancel_scheduled"

log = logging.getLogger("campaign_sdk")


@dataclass(frozen=True)
class RecordResult:
    """What a recorder did: ``applied`` changed the store, ``ignored`` were duplicates or stale,
    ``unmatched`` refer to nothing we know (e.g. a status for an unknown SID), with reasons;
    ``unknown`` lists statuses this SDK does not know (``{sid, status}``, stored verbatim).
    ``pending``: of the unmatched, how many the inbox keeps, to apply once their SID is recorded.
    ``outcomes``: per event, in order, "applied", "ignored" or "unmatched".

    Frozen: a result is what happened; ``a + b`` is the result of both, in that order.
    """

    applied: int = 0
    ignored: int = 0
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    unknown: list[dict[str, Any]] = field(default_factory=list)
    pending: int = 0
    outcomes: list[str] = field(default_factory=list, repr=False)

    def __add__(self, other: RecordResult) -> RecordResult:
        return RecordResult(
            applied=self.applied + other.applied, ignored=self.ignored + other.ignored,
            unmatched=[*self.unmatched, *other.unmatched], unknown=[*self.unknown, *other.unknown],
            pending=self.pending + other.pending, outcomes=[*self.outcomes, *other.outcomes],
        )

    def __repr__(self) -> str:
        return (
            f"<RecordResult applied={self.applied} ignored={self.ignored} "
            f"unmatched={len(self.unmatched)}" + (f" unknown={len(self.unknown)}" if self.unknown else "")
            + (f" pending={self.pending}" if self.pending else "") + ">"
        )


def hold_write_lock(session: Session) -> None:
    """On SQLite, take the store's write lock before a recorder reads what it will change.

    pysqlite opens a transaction only at the first INSERT / UPDATE, so a recorder's SELECT would
    run outside it: two writers (two threads of the server's inbox worker, a server and a
    ``sync()``) both read ``sent``, one commits ``read``, and the other then writes its stale
    decision over it, moving the status backwards. ``BEGIN IMMEDIATE`` makes the read and the
    write one transaction that writers take in turn (waiting ``busy_timeout`` for the lock). A
    transaction that has written already holds the lock; PostgreSQL uses ``FOR UPDATE``.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def classify_inbound(body: str | None) -> InboundKind:
    """STOP-family keywords opt out, START-family opt in, HELP / INFO ask for help; anything
    else is a reply. Like Twilio, a keyword counts only as the whole message (case-insensitive,
    surrounding spaces and trailing punctuation ignored)."""
    word = (body or "").strip().rstrip(".!").strip().upper()
    if word in OPT_OUT_KEYWORDS:
        return InboundKind.OPT_OUT
    if word in OPT_IN_KEYWORDS:
        return InboundKind.OPT_IN
    if word in HELP_KEYWORDS:
        return InboundKind.HELP
    return InboundKind.REPLY


def ensure_users(session: Session, phones: Iterable[str]) -> dict[str, int]:
    """Map E.164 numbers to conversation user ids, creating the users that do not exist yet."""
    wanted = sorted(set(phones))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = session.execute(
            sa.select(ConversationUser.phone_number, ConversationUser.id).where(
                ConversationUser.phone_number.in_(chunk)
            )
        )
        found.update({phone: user_id for phone, user_id in rows})
    new = [{"phone_number": p, "created_at": utcnow()} for p in wanted if p not in found]
    if new:
        session.execute(sa.insert(ConversationUser), new)
        return ensure_users(session, wanted)
    return found


def _rows_and_users(
    session: Session, events: Iterable[Mapping[str, Any]], phone_key: str
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The events as dicts with ``phone_key`` in E.164, and the user id of every number."""
    rows = [dict(e) for e in events]
    for row in rows:
        row[phone_key] = normalize_phone(row[phone_key])
    return rows, ensure_users(session, (row[phone_key] for row in rows))


def record_statuses(session: Session, events: Iterable[Mapping[str, Any]]) -> RecordResult:
    """Apply message status events ``{sid, status, timestamp?, error_code?}``.

    The one order of ``facts.statuses`` decides: a status never moves a message backwards
    (``delivered`` after ``read`` stays ``read``), but its timestamp is kept (``delivered_at`` is
    filled in even when ``read`` came first). Nothing changes a ``canceled`` message; a message
    that becomes ``canceled`` frees its lead (its send key is cleared: a new send may message the
    lead again). A ``scheduled`` message that moves on was sent by Twilio's scheduler: its
    ``created_at`` becomes that moment (the touch time the metrics attribute replies to). A message
    that moves on from ``failed`` / ``undelivered`` to a delivery (a late receipt) loses the
    error. A status the SDK does not know is kept verbatim in ``unknown_status`` (``status``
    stays the latest known one), logged, and listed in :attr:`RecordResult.unknown`; it never
    stops the batch.
    """
    unmatched: list[dict[str, Any]] = []
    unknown: list[dict[str, Any]] = []
    outcomes: list[str] = []
    events = list(events)
    sids = sorted({str(e["sid"]) for e in events})
    if sids:
        hold_write_lock(session)
    messages: dict[str, OutboundMessage] = {}
    message: OutboundMessage | None
    for start in range(0, len(sids), 500):
        chunk = sids[start : start + 500]
        # FOR UPDATE: two concurrent recorders must not both read "delivered" and then one of
        # them write back an older status (PostgreSQL; on SQLite, hold_write_lock above)
        for message in session.scalars(
            sa.select(OutboundMessage)
            .where(OutboundMessage.sid.in_(chunk))
            .order_by(OutboundMessage.id)
            .with_for_update()
        ):
            messages[message.sid or ""] = message
    for event in events:
        sid = str(event["sid"])
        raw = str(event.get("status") or "").strip().lower()
        found = messages.get(sid)
        if found is None:
            unmatched.append({"sid": sid, "status": raw, "reason": "unknown_sid"})
            outcomes.append("unmatched")
            continue
        if statuses.is_known(raw):
            changed = _apply_status(found, MessageStatus(raw), _as_time(event.get("timestamp")),
                                    event.get("error_code"))
        else:
            log_unknown_status(sid, raw)
            unknown.append({"sid": sid, "status": raw})
            changed = not found.status.absorbing and found.unknown_status != raw[: statuses.MAX_LENGTH]
            if changed:
                found.unknown_status = raw[: statuses.MAX_LENGTH]
        outcomes.append("applied" if changed else "ignored")
    session.flush()
    return RecordResult(applied=outcomes.count("applied"), ignored=outcomes.count("ignored"),
                        unmatched=unmatched, unknown=unknown, outcomes=outcomes)


def _apply_status(message: OutboundMessage, status: MessageStatus, at: dt.datetime, code: Any) -> bool:
    if message.status.absorbing:  # canceled: it was never sent, nothing later is true of it
        return False
    changed = _fill_status_time(message, status, at)
    if status.rank > message.status.rank:
        if status is MessageStatus.CANCELED:
            message.dedupe_key = None  # it never went out: its lead may be sent again
        elif message.status is MessageStatus.SCHEDULED:
            message.created_at = at  # Twilio's scheduler sent it: it touches the person from now on
        message.status, message.status_at, message.unknown_status = status, at, None
        if not status.not_received and message.error_kind is not None:  # a late delivery receipt
            message.error_code = message.error_kind = message.error_message = None
        changed = True
    if status.not_received and code not in (None, "") and message.status is status and message.error_code is None:
        message.error_code = int(code)
        message.error_kind = errors.kind_of_code(int(code)).value
        changed = True
    return changed


def log_unknown_status(sid: str, status: str) -> None:
    """Say that Twilio reported a status this SDK does not know (it is stored verbatim)."""
    log.warning(
        "message %s has status %r, which this version of campaign_sdk does not know (known: %s); "
        "it is stored verbatim in unknown_status and the known status is kept", sid, status,
        ", ".join(statuses.ORDER),
    )


def _fill_status_time(message: OutboundMessage, status: MessageStatus, at: dt.datetime) -> bool:
    column = status.fact.time_column
    if column is None or getattr(message, column) is not None:
        return False
    setattr(message, column, at)
    return True


def record_replies(session: Session, events: Iterable[Mapping[str, Any]]) -> RecordResult:
    """Store inbound messages ``{sid, from, body, received_at?, button_payload?}`` (idempotent by
    sid) and apply STOP / START keywords to the user's opt-out state.

    Opt-out state follows the user's latest keyword by ``received_at``, so out-of-order delivery
    of a STOP and a START ends in the right state.
    """
    outcomes: list[str] = []
    events = list(events)
    if events:
        hold_write_lock(session)
    rows, users = _rows_and_users(session, events, "from")
    touched: set[int] = set()
    for row in rows:
        sid = str(row["sid"])
        if session.scalar(sa.select(InboundMessage.id).where(InboundMessage.sid == sid)):
            outcomes.append("ignored")
            continue
        kind = classify_inbound(row.get("body"))
        session.add(
            InboundMessage(
                sid=sid,
                user_id=users[row["from"]],
                body=_text(row.get("body")) or "",
                button_payload=_text(row.get("button_payload")) or None,
                kind=kind,
                received_at=_as_time(row.get("received_at")),
            )
        )
        outcomes.append("applied")
        if kind in (InboundKind.OPT_OUT, InboundKind.OPT_IN):
            touched.add(users[row["from"]])
    session.flush()
    opted_out = [user_id for user_id in touched if _refresh_opt_out(session, user_id)]
    if opted_out:
        flag_opt_out(session)
    session.flush()
    return RecordResult(applied=outcomes.count("applied"), ignored=outcomes.count("ignored"), outcomes=outcomes)


def flag_opt_out(session: Session) -> None:
    """Note in the store that someone opted out: their scheduled messages are to be canceled
    (:data:`OPT_OUT_SWEEP_KEY`); a new value each time, so a sweep that read an older one does
    not clear it."""
    session.merge(SyncState(key=OPT_OUT_SWEEP_KEY, value=utcnow().isoformat()))


def _refresh_opt_out(session: Session, user_id: int) -> bool:
    """Set the user's opt-out state from their latest keyword; True when they are opted out."""
    latest = session.execute(
        sa.select(InboundMessage.kind, InboundMessage.body, InboundMessage.received_at)
        .where(
            InboundMessage.user_id == user_id,
            InboundMessage.kind.in_([InboundKind.OPT_OUT, InboundKind.OPT_IN]),
        )
        .order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc())
        .limit(1)
    ).one()
    user = session.get_one(ConversationUser, user_id)
    if latest.kind is InboundKind.OPT_OUT:
        user.opted_out_at = latest.received_at
        user.opt_out_keyword = latest.body.strip().upper()[:20]
        return True
    user.opted_out_at = None
    user.opt_out_keyword = None
    return False


def mark_opted_out(session: Session, user_id: int, *, reason: str, at: dt.datetime | None = None) -> None:
    """Opt a user out without an inbound keyword (e.g. an ``opted_out`` error on send)."""
    user = session.get_one(ConversationUser, user_id)
    if user.opted_out_at is None:
        user.opted_out_at = at or utcnow()
        user.opt_out_keyword = reason[:20]
        flag_opt_out(session)
    session.flush()


def record_conversions(session: Session, events: Iterable[Mapping[str, Any]]) -> RecordResult:
    """Store conversions ``{external_id, phone_number, occurred_at?, value?}``, idempotent by
    ``external_id`` (a repeated id is ignored, whatever its other fields)."""
    applied = ignored = 0
    events = list(events)
    if events:
        hold_write_lock(session)
    rows, users = _rows_and_users(session, events, "phone_number")
    seen: set[str] = set()
    for row in rows:
        external_id = str(row["external_id"])
        exists = session.scalar(sa.select(Conversion.id).where(Conversion.external_id == external_id))
        if exists or external_id in seen:
            ignored += 1
            continue
        seen.add(external_id)
        value = row.get("value")
        session.add(
            Conversion(
                external_id=external_id,
                user_id=users[row["phone_number"]],
                occurred_at=_as_time(row.get("occurred_at")),
                value=None if value is None or value != value else float(value),
            )
        )
        applied += 1
    session.flush()
    return RecordResult(applied=applied, ignored=ignored)


def _text(value: Any) -> str | None:
    """A message text as stored: a NUL character (which PostgreSQL text cannot hold, and no
    person types) becomes U+FFFD, the replacement character, so the message is kept, not refused."""
    return None if value is None else str(value).replace("\x00", "\ufffd")


def _as_time(value: Any) -> dt.datetime:
    """Event times: None means now; strings are ISO 8601; naive values are UTC."""
    if value is None or (isinstance(value, float) and value != value):
        return utcnow()
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        raise ValueError(f"{value!r} is not a timestamp")
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
