"""Outbound message bookkeeping: who may be sent to, send intents, and their outcomes.

A send writes an *intent* (an outbound message with no SID yet, status ``queued``) and commits it
before the request leaves, then records Twilio's answer: the SID, or the error that rejected the
message. An intent without a SID after a crash may or may not have reached Twilio; the sending
layer reconciles it against Twilio's message list before anything is sent again.
"""

from __future__ import annotations

import datetime as dt
import functools
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaign_sdk._store import RawTable, raw_table
from campaign_sdk.facts import statuses
from campaign_sdk.facts.errors import ErrorKind
from campaign_sdk.models import (
    Campaign,
    CampaignLead,
    ConversationUser,
    MessageStatus,
    OutboundMessage,
    utcnow,
)
from campaign_sdk.service._events import log_unknown_status, mark_opted_out

# The error kind that says the number itself cannot receive (a later send would fail the same way).
INVALID_NUMBER = ErrorKind.INVALID_NUMBER
SKIP_REASONS = (
    "removed", "holdout", "global_holdout", "awaiting_winner", "opted_out", "already_messaged", "failed_before", "unresolved",
    "invalid_number", "missing_variables",
)
_SENT, _FAILED, _INTENT = 3, 2, 1
_MESSAGES = cast(sa.Table, OutboundMessage.__table__)
# A lead's messages that count for it: a canceled one never went out (``record_statuses`` clears
# its dedupe_key), so the lead may be sent again.
_LIVE = OutboundMessage.status != MessageStatus.CANCELED


@dataclass(frozen=True)
class LeadCandidate:
    """A lead with the facts that decide whether a campaign send may message it."""

    lead_id: int
    user_id: int
    phone_number: str
    custom_variables: dict[str, Any]
    removed: bool
    opted_out: bool
    message_state: int | None
    known_invalid: bool
    variant: str | None = None  # the experiment arm (campaign_sdk.experiments decides what it gets)


def dedupe_key(campaign_id: int, lead_id: int) -> str:
    """The unique key of a campaign send's message to one lead (at most one per lead)."""
    return f"send:{campaign_id}:{lead_id}"


def skip_reason(lead: LeadCandidate, required: Sequence[str]) -> str | None:
    """Why a campaign send must not message ``lead`` (one of :data:`SKIP_REASONS`), or None.

    Opted-out users are never messaged; a lead gets at most one message per campaign; a number
    the gateway called invalid (kind ``invalid_number``) is not tried again; a missing variable
    would fail at Twilio (a ``content`` error).
    """
    if lead.removed:
        return "removed"
    if lead.opted_out:
        return "opted_out"
    if lead.message_state == _SENT:
        return "already_messaged"
    if lead.message_state == _FAILED:
        return "failed_before"
    if lead.message_state == _INTENT:
        return "unresolved"
    if lead.known_invalid or not lead.phone_number.startswith("+"):
        return "invalid_number"
    values = lead.custom_variables or {}
    if any(value is None or not str(value).strip() for value in (values.get(name) for name in required)):
        return "missing_variables"
    return None


def lead_candidates(
    session: Session, campaign_id: int, *, after_id: int = 0, limit: int | None = None,
    unsent_only: bool = False,
) -> list[LeadCandidate]:
    """The campaign's leads (by id, after ``after_id``) with their send facts.

    ``unsent_only`` keeps leads that are not removed, not opted out and have no message in this
    campaign yet: the ones a send still has to look at. A ``canceled`` message (a scheduled one
    canceled before Twilio sent it) never went out: it does not count, its lead is sent again.
    """
    state = (
        sa.select(
            sa.func.max(
                sa.case(
                    (OutboundMessage.sid.is_not(None), _SENT),
                    (OutboundMessage.error_kind.is_not(None), _FAILED),
                    else_=_INTENT,
                )
            )
        )
        .where(OutboundMessage.campaign_id == campaign_id, OutboundMessage.lead_id == CampaignLead.id, _LIVE)
        .scalar_subquery()
    )
    invalid = sa.exists().where(
        OutboundMessage.user_id == CampaignLead.user_id,
        OutboundMessage.error_kind == INVALID_NUMBER.value,
    )
    query = (
        sa.select(
            CampaignLead.id, CampaignLead.user_id, ConversationUser.phone_number,
            CampaignLead.custom_variables, CampaignLead.removed_at.is_not(None),
            ConversationUser.opted_out_at.is_not(None), state, invalid, CampaignLead.variant,
        )
        .join(ConversationUser, ConversationUser.id == CampaignLead.user_id)
        .where(_campaign_is(session, campaign_id), CampaignLead.id > after_id)
        .order_by(CampaignLead.id)
    )
    if unsent_only:
        query = query.where(
            CampaignLead.removed_at.is_(None),
            ConversationUser.opted_out_at.is_(None),
            ~sa.exists().where(
                OutboundMessage.campaign_id == campaign_id, OutboundMessage.lead_id == CampaignLead.id, _LIVE
            ),
        )
    if limit is not None:
        query = query.limit(limit)
    # the Core's execution on the session's connection: plain columns, without the ORM's handling
    # of each row (a send pages through every lead with this)
    return [
        LeadCandidate(int(r[0]), int(r[1]), r[2], r[3] or {}, bool(r[4]), bool(r[5]),
                      None if r[6] is None else int(r[6]), bool(r[7]), r[8])
        for r in session.connection().execute(query).all()
    ]


def _campaign_is(session: Session, campaign_id: int) -> sa.ColumnElement[bool]:
    """``campaign_leads.campaign_id = campaign_id``, written on SQLite so that it does not use
    the (campaign_id, user_id) index: SQLite (without statistics) would pick that index, then
    evaluate every remaining lead of the campaign and sort them for each page of ``LIMIT``
    leads (quadratic in the campaign's size); with the primary key, a page reads its leads
    in id order and stops at the limit."""
    if session.get_bind().dialect.name == "sqlite":
        return (CampaignLead.campaign_id + 0) == campaign_id
    return CampaignLead.campaign_id == campaign_id


def create_intents(session: Session, campaign: Campaign, intents: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert send intents ``{lead_id, user_id, to_number, content_sid, content_variables,
    channel?, dedupe_key?}`` (no SID yet, status queued; ``channel``: the gateway's, ``whatsapp``
    or ``sms``); returns their ids in the same order."""
    if not intents:
        return []
    now = utcnow()
    keys = [i.get("dedupe_key", dedupe_key(campaign.id, i["lead_id"])) for i in intents]
    if None not in keys and len(set(keys)) == len(keys) and (raw := raw_table(session, _MESSAGES)) is not None:
        return _insert_intents(session, raw, campaign.id, intents, keys, now)
    rows = [
        {
            "campaign_id": campaign.id, "lead_id": i["lead_id"], "user_id": i["user_id"],
            "to_number": i["to_number"], "content_sid": i.get("content_sid"),
            "content_variables": dict(i.get("content_variables") or {}),
            "dedupe_key": key, "status": MessageStatus.QUEUED, "created_at": now, "status_at": now,
            "channel": i.get("channel"),
        }
        for i, key in zip(intents, keys, strict=True)
    ]
    # a key missing or repeated: the Core, the ids in the rows' order
    statement = sa.insert(_MESSAGES).returning(_MESSAGES.c.id, sort_by_parameter_order=True)
    return [int(row[0]) for row in session.execute(statement, rows)]


_INTENT_COLUMNS = ("campaign_id", "lead_id", "user_id", "to_number", "content_sid", "content_variables",
                   "dedupe_key", "status", "created_at", "status_at", "channel")


def _insert_intents(session: Session, raw: RawTable, campaign_id: int, intents: Sequence[Mapping[str, Any]],
                    keys: list[str], now: dt.datetime) -> list[int]:
    """The send's path: many rows per INSERT, straight through the DBAPI (:class:`RawTable`);
    the ids come back by dedupe key (unique), as RETURNING does not promise the rows' order."""
    variables = raw.bind("content_variables")
    status, created = raw.bind("status")(MessageStatus.QUEUED), raw.bind("created_at")(now)
    status_at = raw.bind("status_at")(now)
    rows = [
        (campaign_id, i["lead_id"], i["user_id"], i["to_number"], i.get("content_sid"),
         variables(dict(i.get("content_variables") or {})), key, status, created, status_at, i.get("channel"))
        for i, key in zip(intents, keys, strict=True)
    ]
    ids: dict[str, int] = {}
    for returned in raw.many_rows(session.connection(), "intents", rows, functools.partial(_intents_sql, raw)):
        ids.update((str(key), int(id_)) for key, id_ in returned)
    return [ids[key] for key in keys]


def _intents_sql(raw: RawTable, rows: int) -> str:
    return (f"INSERT INTO {raw.name} ({raw.columns(_INTENT_COLUMNS)}) {raw.values(len(_INTENT_COLUMNS), rows)} "
            f"RETURNING {raw.columns(('dedupe_key', 'id'))}")


def record_accepted(session: Session, accepted: Iterable[Mapping[str, Any]]) -> int:
    """Record Twilio's SIDs for intents ``{id, sid, status, at?, created_at?}``; returns how many.

    ``created_at`` is when Twilio accepted the message, on Twilio's clock (the time the metrics
    attribute replies to); without it the intent's own time stays.
    """
    timed: list[dict[str, Any]] = []
    untimed: list[dict[str, Any]] = []
    for a in accepted:
        status, unknown = _status(a.get("status"), a.get("sid"))
        row = {"intent_id": a["id"], "sid": a["sid"], "status": status, "unknown_status": unknown,
               "status_at": a.get("at") or utcnow(), "error_code": None, "error_kind": None}
        if a.get("created_at") is not None:
            row["created_at"] = a["created_at"]
        (timed if "created_at" in row else untimed).append(row)
    raw = raw_table(session, _MESSAGES)
    for rows in (timed, untimed):
        if rows and raw is not None:
            _update_accepted(session, raw, rows, timed=rows is timed)
        elif rows:  # one executemany per set of columns, in Core
            session.execute(sa.update(_MESSAGES).where(_MESSAGES.c.id == sa.bindparam("intent_id")), rows)
    return len(timed) + len(untimed)


def _update_accepted(session: Session, raw: RawTable, rows: list[dict[str, Any]], *, timed: bool) -> None:
    """Straight through the DBAPI (:class:`RawTable`): the Core's processing of each row's
    parameters costs several times the UPDATE itself. On SQLite, one UPDATE ... FROM (VALUES
    ...) of many rows per statement (an executemany steps the driver once per row, each step
    handing the interpreter lock back to the sending threads and waiting to get it again);
    elsewhere one executemany."""
    columns = ("sid", "status", "unknown_status", "status_at", *(("created_at",) if timed else ()))
    status, status_at, created_at = raw.bind("status"), raw.bind("status_at"), raw.bind("created_at")
    times: dict[dt.datetime, Any] = {}  # Twilio's times have a second's precision: many rows share one

    def when(value: dt.datetime) -> Any:
        if (found := times.get(value)) is None:
            found = times[value] = created_at(value)
        return found

    params: list[tuple[Any, ...]]
    if timed:
        params = [(r["intent_id"], r["sid"], status(r["status"]), r["unknown_status"], status_at(r["status_at"]),
                   when(r["created_at"])) for r in rows]
    else:
        params = [(r["intent_id"], r["sid"], status(r["status"]), r["unknown_status"], status_at(r["status_at"]))
                  for r in rows]
    connection = session.connection()
    if raw.dialect.name == "sqlite" and sqlite3.sqlite_version_info >= (3, 33):  # UPDATE FROM: 3.33
        for _ in raw.many_rows(connection, ("accepted from", timed), params,
                               functools.partial(_accepted_from_sql, raw, columns)):
            pass
        return
    sql = raw.cached(("accepted", timed), lambda: (
        f"UPDATE {raw.name} SET {raw.assignments(columns)}, {raw.columns(('error_code',))} = NULL, "
        f"{raw.columns(('error_kind',))} = NULL WHERE {raw.columns(('id',))} = {raw.mark}"))
    connection.exec_driver_sql(sql, [(*row[1:], row[0]) for row in params])


def _accepted_from_sql(raw: RawTable, columns: Sequence[str], rows: int) -> str:
    """SQLite's UPDATE ... FROM (VALUES ...): the VALUES' columns are column1 (the id), column2, ..."""
    sets = ", ".join(f"{raw.columns((name,))} = v.column{n}" for n, name in enumerate(columns, start=2))
    return (f"UPDATE {raw.name} SET {sets}, {raw.columns(('error_code',))} = NULL, "
            f"{raw.columns(('error_kind',))} = NULL FROM ({raw.values(len(columns) + 1, rows)}) AS v "
            f"WHERE {raw.name}.{raw.columns(('id',))} = v.column1")


def record_rejected(session: Session, rejected: Iterable[Mapping[str, Any]]) -> int:
    """Record permanent errors for intents ``{id, user_id, kind, code?, message?, at?}``: the
    message is failed with the error's kind (and Twilio's code, for display); an ``opted_out``
    error opts the user out (they replied STOP)."""
    rows = list(rejected)
    for row in rows:
        at = row.get("at") or utcnow()
        kind = ErrorKind(row.get("kind") or ErrorKind.UNKNOWN)
        session.execute(
            sa.update(OutboundMessage)
            .where(OutboundMessage.id == row["id"])
            .values(status=MessageStatus.FAILED, error_code=row.get("code"), error_kind=kind.value, failed_at=at,
                    status_at=at, error_message=(row.get("message") or None))
            .execution_options(synchronize_session=False)
        )
        if kind is ErrorKind.OPTED_OUT:
            code = row.get("code")
            mark_opted_out(session, row["user_id"], reason=f"error {code}" if code else "opted out", at=at)
    return len(rows)


def release_intents(session: Session, ids: Iterable[int]) -> int:
    """Delete intents that certainly never reached Twilio (their leads become sendable again)."""
    wanted = list(ids)
    if not wanted:
        return 0
    result = session.execute(
        sa.delete(OutboundMessage)
        .where(OutboundMessage.id.in_(wanted), OutboundMessage.sid.is_(None))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def open_intents(session: Session, campaign_id: int) -> list[OutboundMessage]:
    """The campaign's intents with no SID and no error: their outcome is unknown."""
    return list(
        session.scalars(
            sa.select(OutboundMessage)
            .where(
                OutboundMessage.campaign_id == campaign_id,
                OutboundMessage.sid.is_(None),
                OutboundMessage.error_kind.is_(None),
            )
            .order_by(OutboundMessage.id)
        )
    )


def known_sids(session: Session, sids: Iterable[str]) -> set[str]:
    """The SIDs among ``sids`` already recorded on an outbound message."""
    wanted = sorted(set(sids))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(session.scalars(sa.select(OutboundMessage.sid).where(OutboundMessage.sid.in_(chunk))))
    return found


def oldest_unsettled(session: Session, *, since: dt.datetime) -> dt.datetime | None:
    """When the oldest message created after ``since`` that may still change status was created
    (anything not in ``facts.statuses.SETTLED``), for status syncs."""
    settled = statuses.SETTLED
    return session.scalar(
        sa.select(sa.func.min(OutboundMessage.created_at)).where(
            OutboundMessage.sid.is_not(None),
            OutboundMessage.created_at >= since,
            OutboundMessage.status.not_in(settled),
        )
    )


def _status(value: Any, sid: Any) -> tuple[MessageStatus, str | None]:
    """The known status of Twilio's answer, and the raw status when the SDK does not know it
    (then the intent's initial status stays, with a warning)."""
    raw = str(value or statuses.INITIAL).lower()
    if statuses.is_known(raw):
        return MessageStatus(raw), None
    log_unknown_status(str(sid), raw)
    return MessageStatus(statuses.INITIAL), raw[: statuses.MAX_LENGTH]
