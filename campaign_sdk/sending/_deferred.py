"""Deferred sends in the store: held until due, claimed by one worker at a time.

A row of ``deferred_sends`` is one lead's message waiting for its moment. A worker *claims* due
rows (``claimed_by`` = its token, ``claimed_until`` = a lease it keeps refreshing); on PostgreSQL
the claim reads ``FOR UPDATE SKIP LOCKED``, so concurrent workers take disjoint rows, and on both
engines the claim is a conditional UPDATE, so a row is never claimed twice. The message itself is
then sent exactly like ``send()`` sends: an intent row committed first (its unique ``dedupe_key``
allows one message per lead and campaign), Twilio's answer recorded after. The deferred row is
deleted in the transaction that records the answer; a claim whose worker died (lease expired,
or its process is gone on this host) is taken over by another worker, which reconciles an open
intent against Twilio's message list before it sends anything. A row keeps the channel and the
sender (Messaging Service SID or From number) of the send that deferred it: a worker claims only
its own channel's and sender's rows, and those deferred before they were kept (NULL).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import socket
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from campaign_sdk._store import RawTable, raw_table
from campaign_sdk.models import Campaign, CampaignLead, DeferredSend, OutboundMessage, utcnow
from campaign_sdk.sending._lease import LeaseLost, _alive


def defer(session: Session, campaign_id: int, rows: Sequence[Mapping[str, Any]], *, channel: str | None = None,
          sender: str | None = None, local_time: str | None = None) -> int:
    """Store ``{lead_id, user_id, due_at, reason}`` rows (and ``not_before``, the moment asked for
    them: see :func:`held_rows`) planned for ``channel`` from ``sender``
    (the deferring gateway's, :func:`sender_of`: a worker sends only its own channel's and its own
    sender's rows) by a send scheduled at ``local_time`` (if it was: a due row whose moment the
    policy forbids by then moves to that time of the next allowed day); a lead already deferred
    keeps its row."""
    if not rows:
        return 0
    now = utcnow()
    if (raw := raw_table(session, _DEFERRED)) is not None:
        # many rows per INSERT straight through the DBAPI (the Core's processing of each row's
        # parameters costs more than the insert itself; an executemany steps the driver per row)
        due_at, created, not_before = raw.bind("due_at"), raw.bind("created_at")(now), raw.bind("not_before")
        params = [(campaign_id, r["lead_id"], r["user_id"], due_at(r["due_at"]), r["reason"], created, channel, sender,
                   local_time, not_before(r.get("not_before"))) for r in rows]
        done = raw.many_rows(session.connection(), "defer", params, functools.partial(_defer_sql, raw))
        return sum(int(getattr(result, "rowcount", 0) or 0) for result in done)
    values = [{"campaign_id": campaign_id, "lead_id": r["lead_id"], "user_id": r["user_id"], "due_at": r["due_at"],
               "reason": r["reason"], "created_at": now, "channel": channel, "sender": sender, "local_time": local_time,
               "not_before": r.get("not_before")}
              for r in rows]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(DeferredSend).on_conflict_do_nothing(index_elements=["campaign_id", "lead_id"])
    result = session.execute(statement, values)
    return int(getattr(result, "rowcount", 0) or 0)


_DEFERRED = cast(sa.Table, DeferredSend.__table__)
_DEFER_COLUMNS = ("campaign_id", "lead_id", "user_id", "due_at", "reason", "created_at", "channel", "sender", "local_time",
                  "not_before")


def sender_of(gateway: object) -> str | None:
    """The sender a gateway sends from (its ``sender``: a Messaging Service SID or a From number,
    the sandbox's own service), which its deferred rows keep and its worker claims by; None for a
    gateway that names none (its rows are any sender's, and its worker claims any sender's)."""
    sender = getattr(gateway, "sender", None)
    return str(sender) if sender else None


def _defer_sql(raw: RawTable, rows: int) -> str:
    return (f"INSERT INTO {raw.name} ({raw.columns(_DEFER_COLUMNS)}) {raw.values(len(_DEFER_COLUMNS), rows)} "
            f"ON CONFLICT ({raw.columns(('campaign_id', 'lead_id'))}) DO NOTHING")


def deferred_leads(session: Session, campaign_id: int, lead_ids: Iterable[int]) -> set[int]:
    """The leads among ``lead_ids`` that have a deferred message (they belong to the worker).

    A send asks this for each batch of leads it scans, in lead order: ids close together are
    looked up as one range of the (campaign, lead) index, others by an IN list, both through
    the Core (an ORM query with an IN list of hundreds of ids costs a few times more)."""
    wanted = sorted(set(lead_ids))
    found: set[int] = set()
    lead = DeferredSend.lead_id
    for start in range(0, len(wanted), 900):
        chunk = wanted[start:start + 900]
        dense = chunk[-1] - chunk[0] < 4 * len(chunk)
        query = sa.select(lead).where(DeferredSend.campaign_id == campaign_id,
                                      lead.between(chunk[0], chunk[-1]) if dense else lead.in_(chunk))
        held = session.connection().execute(query).scalars()
        found.update(held if not dense else set(held).intersection(chunk))
    return found


def waiting(session: Session, campaign_id: int | None = None, *, until: dt.datetime | None = None,
            channel: str | None = None, sender: str | None = None) -> tuple[int, dt.datetime | None]:
    """How many messages wait (of one campaign, or all) and when the next one is due
    (``until``: only those due by then, e.g. the campaign's ``expires_at``; ``channel`` and
    ``sender``: only those a worker on that channel, of that sender, sends, see :func:`claim_due`)."""
    query = sa.select(sa.func.count(), sa.func.min(DeferredSend.due_at)).where(*_on(channel, sender))
    if campaign_id is not None:
        query = query.where(DeferredSend.campaign_id == campaign_id)
    if until is not None:
        query = query.where(DeferredSend.due_at <= until)
    count, due = session.execute(query).one()
    return int(count or 0), due


# The reasons of a deferred row the policy decided (quiet hours, the messaging tier), not the
# user's at= / local_time= alone: see held_rows.
POLICY_DEFERRALS = ("quiet_hours", "messaging_tier")


def _free(now: dt.datetime) -> sa.ColumnElement[bool]:
    """A row no worker holds a claim on (a claimed row is the worker's: it settles it itself)."""
    return sa.or_(DeferredSend.claimed_until.is_(None), DeferredSend.claimed_until < now)


def _takeable(now: dt.datetime) -> sa.ColumnElement[bool]:
    return sa.and_(_free(now), DeferredSend.reason.in_(POLICY_DEFERRALS), DeferredSend.local_time.is_(None),
                   sa.or_(DeferredSend.not_before.is_(None), DeferredSend.not_before <= now))


def held_rows(session: Session, campaign_id: int, lead_ids: Sequence[int], *,
              now: dt.datetime) -> dict[int, tuple[str, bool]]:
    """The deferred rows of ``lead_ids``: each lead's row reason, and whether a send may take the
    lead back now (:func:`release`): the policy deferred it (quiet hours, the messaging tier), no
    ``local_time`` was asked, its ``not_before`` (the send's ``at=``, an old SendAt) has passed
    and no worker holds a claim on it."""
    found: dict[int, tuple[str, bool]] = {}
    takeable = sa.case((_takeable(now), True), else_=False)
    for start in range(0, len(lead_ids), 900):
        chunk = list(lead_ids[start:start + 900])
        for lead, reason, free in session.execute(sa.select(DeferredSend.lead_id, DeferredSend.reason, takeable).where(
                DeferredSend.campaign_id == campaign_id, DeferredSend.lead_id.in_(chunk))):
            found[lead] = (reason, bool(free))
    return found


def _delete(session: Session, campaign_id: int, lead_ids: Sequence[int], where: sa.ColumnElement[bool]) -> list[int]:
    deleted: list[int] = []
    for start in range(0, len(lead_ids), 900):
        chunk = list(lead_ids[start:start + 900])
        deleted += session.scalars(sa.delete(DeferredSend).where(
            DeferredSend.campaign_id == campaign_id, DeferredSend.lead_id.in_(chunk), where,
        ).returning(DeferredSend.lead_id).execution_options(synchronize_session=False)).all()
    return deleted


def release(session: Session, campaign_id: int, lead_ids: Sequence[int], *, now: dt.datetime) -> list[int]:
    """Delete the rows of ``lead_ids`` that :func:`held_rows` calls takeable, in the transaction
    that writes the leads' intents (the message is the send's from then on: no worker can claim
    it); returns the leads released. A row a worker claimed in between stays the worker's."""
    return _delete(session, campaign_id, lead_ids, _takeable(now))


def drop_unclaimed(session: Session, campaign_id: int, lead_ids: Sequence[int], *, now: dt.datetime,
                   reason: str) -> list[int]:
    """Delete the deferred rows of ``lead_ids`` that no worker holds a claim on and mark their
    leads skipped for ``reason``; returns the leads dropped."""
    dropped = _delete(session, campaign_id, lead_ids, _free(now))
    mark_skipped(session, campaign_id, [(lead, reason) for lead in dropped], now=now)
    return dropped


# Reasons a lead's own state shows already (its status is removed or opted_out, or it has a
# message: already_messaged, failed_before, unresolved): no skip mark is written for them.
UNMARKED = frozenset({"removed", "opted_out", "already_messaged", "failed_before", "unresolved", "unplanned"})


def mark_skipped(session: Session, campaign_id: int, skipped: Iterable[tuple[int, str]], *,
                 now: dt.datetime) -> None:
    """Record on each ``(lead_id, reason)`` lead that a send dropped it without a message
    (``campaign_leads.skip_reason`` / ``skipped_at``: its status reads ``skipped``). A lead marked
    for the same reason already keeps its first ``skipped_at``, unless it has had a message since
    (a canceled one: dropped again after it). Reasons in :data:`UNMARKED` are left alone."""
    by_reason: dict[str, list[int]] = {}
    for lead_id, reason in skipped:
        if reason not in UNMARKED:
            by_reason.setdefault(reason, []).append(int(lead_id))
    lead = CampaignLead
    for reason, leads in by_reason.items():
        since = (sa.select(sa.func.max(OutboundMessage.created_at))
                 .where(OutboundMessage.campaign_id == campaign_id, OutboundMessage.lead_id == lead.id)
                 .scalar_subquery())
        changed = sa.or_(lead.skip_reason.is_distinct_from(reason), lead.skipped_at < since)
        for start in range(0, len(leads), 900):
            session.execute(
                sa.update(lead).where(lead.campaign_id == campaign_id, lead.id.in_(leads[start:start + 900]), changed)
                .values(skip_reason=reason, skipped_at=now).execution_options(synchronize_session=False))


def worker_token() -> str:
    """A worker's identity: host and pid (to see on this host that it died) and a random part."""
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:12]}"


# A request the dead worker had in flight may still be processed by Twilio after the process died
# (Twilio has the request; nobody reads the answer). Its message must be in Twilio's list before
# another worker reconciles against that list, so a dead worker's claims end this long after its
# death is seen, not at once (without it, a request still being processed was sent again).
TAKEOVER_GRACE = dt.timedelta(seconds=5)


def free_dead_claims(session: Session, now: dt.datetime) -> int:
    """Shorten the claims of workers on this host whose process is gone (SIGKILLed) to
    :data:`TAKEOVER_GRACE` from now (never lengthening one), so another worker takes them over
    once the dead worker's last requests can have reached Twilio's message list."""
    host = socket.gethostname()
    until = now + TAKEOVER_GRACE
    owners = session.scalars(sa.select(DeferredSend.claimed_by).where(
        DeferredSend.claimed_until > until, DeferredSend.claimed_by.like(f"{host}/%")).distinct()).all()
    dead = [o for o in owners if o and not _alive(_pid(o))]
    if not dead:
        return 0
    result = session.execute(sa.update(DeferredSend)
                             .where(DeferredSend.claimed_by.in_(dead), DeferredSend.claimed_until > until)
                             .values(claimed_until=until).execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


def _pid(token: str) -> int:
    try:
        return int(token.split("/")[1])
    except (IndexError, ValueError):
        return 0


def claim_due(session: Session, token: str, *, now: dt.datetime, limit: int, ttl: float,
              channel: str | None = None, sender: str | None = None) -> list[DeferredSend]:
    """Claim up to ``limit`` due messages of enabled campaigns (earliest first) for ``token``;
    with ``channel``, only those planned for it (or deferred before migration 0013: unknown), with
    ``sender``, only those its sends deferred (or deferred before migration 0014: unknown)."""
    free = sa.or_(DeferredSend.claimed_until.is_(None), DeferredSend.claimed_until < now)
    candidates = (
        sa.select(DeferredSend.id)
        .join(Campaign, Campaign.id == DeferredSend.campaign_id)
        .where(DeferredSend.due_at <= now, free, Campaign.enabled.is_not(None), *_on(channel, sender))
        .order_by(DeferredSend.due_at, DeferredSend.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(of=DeferredSend, skip_locked=True)
    ids = list(session.scalars(candidates))
    if not ids:
        return []
    session.execute(
        sa.update(DeferredSend).where(DeferredSend.id.in_(ids), free)
        .values(claimed_by=token, claimed_until=now + dt.timedelta(seconds=ttl))
        .execution_options(synchronize_session=False)
    )
    return list(session.scalars(sa.select(DeferredSend).where(DeferredSend.claimed_by == token)
                                .order_by(DeferredSend.due_at, DeferredSend.id)))


def _on(channel: str | None, sender: str | None = None) -> list[sa.ColumnElement[bool]]:
    """The rows a worker on ``channel`` of ``sender`` sends: theirs, or unknown (NULL: deferred
    before the migration that records it); None: any."""
    return [sa.or_(column == value, column.is_(None))
            for column, value in ((DeferredSend.channel, channel), (DeferredSend.sender, sender)) if value is not None]


def due_elsewhere(session: Session, channel: str, *, now: dt.datetime) -> dict[str, int]:
    """Due messages of enabled campaigns planned for a channel other than ``channel``, by channel
    (a worker on ``channel`` leaves them to a worker on theirs)."""
    query = (
        sa.select(DeferredSend.channel, sa.func.count())
        .join(Campaign, Campaign.id == DeferredSend.campaign_id)
        .where(DeferredSend.due_at <= now, Campaign.enabled.is_not(None), DeferredSend.channel != channel)
        .group_by(DeferredSend.channel).order_by(DeferredSend.channel)
    )
    return {str(name): int(count) for name, count in session.execute(query)}


def due_from_others(session: Session, channel: str, sender: str, *, now: dt.datetime) -> dict[str, int]:
    """Due messages of enabled campaigns on ``channel`` (or of unknown channel) deferred by a
    sender other than ``sender``, by sender (a worker of ``sender`` leaves them to a worker of theirs)."""
    query = (
        sa.select(DeferredSend.sender, sa.func.count())
        .join(Campaign, Campaign.id == DeferredSend.campaign_id)
        .where(DeferredSend.due_at <= now, Campaign.enabled.is_not(None), DeferredSend.sender != sender, *_on(channel))
        .group_by(DeferredSend.sender).order_by(DeferredSend.sender)
    )
    return {str(name): int(count) for name, count in session.execute(query)}


def finish(session: Session, token: str, done: Sequence[int], back: Sequence[int]) -> None:
    """Delete the rows whose message is settled (``done``); un-claim ``back`` (sent again later)."""
    if done:
        session.execute(sa.delete(DeferredSend).where(DeferredSend.id.in_(list(done)), DeferredSend.claimed_by == token)
                        .execution_options(synchronize_session=False))
    if back:
        unclaim(session, token, back)


def unclaim(session: Session, token: str, ids: Sequence[int] | None = None) -> None:
    """Give claimed rows back (all of ``token``'s when ``ids`` is None)."""
    query = sa.update(DeferredSend).where(DeferredSend.claimed_by == token)
    if ids is not None:
        query = query.where(DeferredSend.id.in_(list(ids)))
    session.execute(query.values(claimed_by=None, claimed_until=None).execution_options(synchronize_session=False))


def move(session: Session, token: str, moves: Sequence[tuple[int, dt.datetime, str]]) -> None:
    """Re-defer claimed rows to a later moment (``(id, due_at, reason)``) and un-claim them."""
    for row_id, due_at, reason in moves:
        session.execute(sa.update(DeferredSend).where(DeferredSend.id == row_id, DeferredSend.claimed_by == token)
                        .values(due_at=due_at, reason=reason, claimed_by=None, claimed_until=None)
                        .execution_options(synchronize_session=False))


class Claims:
    """A worker's lease on its claimed rows, refreshed by the writer (the Bookkeeper's ``lease``)."""

    def __init__(self, token: str, ttl: float) -> None:
        self.token = token
        self.ttl = ttl
        self.held = 0  # rows this worker believes it holds

    def heartbeat(self, session: Session) -> None:
        result = session.execute(
            sa.update(DeferredSend).where(DeferredSend.claimed_by == self.token)
            .values(claimed_until=utcnow() + dt.timedelta(seconds=self.ttl))
            .execution_options(synchronize_session=False)
        )
        if int(getattr(result, "rowcount", 0) or 0) < self.held:
            raise LeaseLost(
                f"worker {self.token}: stalled for more than {self.ttl:.0f} s and another worker took over "
                "some of its messages; this one stops"
            )
