"""WhatsApp's messaging limit (``messaging_tier`` of the new policy, else the gateway's) applied
to the messages Twilio's scheduler holds, when a policy changes (:mod:`._reschedule`).

Twilio sends a held message at its SendAt whatever the limit says by then, so the held messages
are the plan's rows here, ranked by the plan's own rule (:func:`campaign_sdk.delivery._limits.rank_tier`,
the one definition): by SendAt, the first (limit - people counted in the 24 h around now) go
as held, each next ``limit`` one day after the batch before; people counted already in the
24 h before the moment, or inside their customer-service window, take no new slot. Counted, as
in the plan: the store's WhatsApp messages (sent, or held at their SendAt) except the held
messages under review, which are the rows (and those pulled back already, which are canceled).
A message beyond the limit is deferred to its batch's moment (its SendAt plus k days, then the
first moment the policy's window allows there; ``messaging_tier``), later, never earlier; one
that could then only arrive after ``expires_at`` is skipped ``expired``, one without a common
allowed minute ``no_common_window``, as the plan skips them.

The campaigns are ranked one after the other (by id, as plans are, one campaign each): each
counts the other campaigns' held messages it is not pulling back, so the people reached stay
within the limit and a person held by two campaigns takes one slot.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import duckdb
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from campaign_sdk.delivery import _limits, utc
from campaign_sdk.facts.delivery import MESSAGING_LIMIT_CHANNEL, MESSAGING_LIMIT_WINDOW, SERVICE_WINDOW
from campaign_sdk.gateways import Gateway
from campaign_sdk.models import InboundMessage, OutboundMessage
from campaign_sdk.sending._trigger_rules import ARRIVES

if TYPE_CHECKING:
    from campaign_sdk.sending._reschedule import Verdict, _Held

REASON = "messaging_tier"
# what the rule reads of the store (the analytics mirror's ``messages`` and ``replies`` columns)
_MESSAGES = (("id", "BIGINT"), ("user_id", "BIGINT"), ("sid", "VARCHAR"), ("error_code", "BIGINT"), ("status", "VARCHAR"),
             ("channel", "VARCHAR"), ("sent_at", "TIMESTAMP"), ("scheduled_for", "TIMESTAMP"), ("created_at", "TIMESTAMP"))
_REPLIES = (("user_id", "BIGINT"), ("received_at", "TIMESTAMP"))
_ROWS = "SELECT lead_id, user_id, 0 AS zkey, send_at, NULL::VARCHAR AS reason, TRUE AS live FROM _held_rows"


def limit_of(held: _Held, gateway: Gateway) -> int | None:
    """The messaging limit a held message is under (the policy's, else the gateway's), None when
    none applies to it (no limit, or not sent over WhatsApp: an SMS is not counted)."""
    if (held.channel or MESSAGING_LIMIT_CHANNEL) != MESSAGING_LIMIT_CHANNEL:
        return None
    return held.policy.messaging_tier or gateway.messaging_tier or None


def tiered(sessions: sessionmaker[Session], gateway: Gateway, held: Sequence[_Held], pulled: dict[str, Verdict],
           allowed: Callable[[_Held, dt.datetime], Verdict]) -> dict[str, Verdict]:
    """The held messages (not ``pulled`` back already) the messaging limit moves, with their new
    moment (see the module). ``allowed(held, start)``: the first moment from ``start`` its policy
    allows, or (None, why)."""
    rows = [h for h in held if h.sid not in pulled and h.send_at is not None and limit_of(h, gateway)]
    if not rows:
        return {}
    now = utc(gateway.now())
    by_campaign: dict[int, list[_Held]] = defaultdict(list)
    for h in rows:
        by_campaign[h.campaign_id].append(h)
    found: dict[str, Verdict] = {}
    con = duckdb.connect()
    try:
        _load(con, sessions, now)
        for campaign_id in sorted(by_campaign):
            mine = by_campaign[campaign_id]
            # counted: the store's messages but this campaign's held ones (the rows) and those pulled back
            gone = [h.id for h in held if h.campaign_id == campaign_id or h.sid in pulled or h.sid in found]
            con.execute("CREATE OR REPLACE TABLE messages AS SELECT * FROM _store_messages WHERE NOT list_contains($gone, id)",
                        {"gone": gone})
            limit = limit_of(mine[0], gateway)
            assert limit is not None
            for h, batch in _batches(con, mine, limit, now):
                assert h.send_at is not None
                moment, why = allowed(h, h.send_at + batch * MESSAGING_LIMIT_WINDOW)
                found[h.sid] = (moment, REASON) if moment is not None else (None, why)
    finally:
        con.close()
    return found


def _load(con: duckdb.DuckDBPyConnection, sessions: sessionmaker[Session], now: dt.datetime) -> None:
    """Copy what the rule reads from the store to ``con``: the messages arriving within 24 h of
    ``now`` (``_store_messages``; the rule counts no other) and the replies that can open a
    service window then (``replies``)."""
    m, q = OutboundMessage, InboundMessage
    start, end = (now - MESSAGING_LIMIT_WINDOW).replace(tzinfo=None), (now + MESSAGING_LIMIT_WINDOW).replace(tzinfo=None)
    with sessions() as session:
        messages = session.execute(
            sa.select(m.id, m.user_id, m.sid, m.error_code, m.status, m.channel, m.sent_at, m.scheduled_for, m.created_at)
            .where(ARRIVES > start, ARRIVES < end)).all()
        replies = session.execute(sa.select(q.user_id, q.received_at)
                                  .where(q.received_at > start - SERVICE_WINDOW)).all()
    _table(con, "_store_messages", _MESSAGES, [(*r[:4], None if r[4] is None else str(r[4]), *r[5:]) for r in messages])
    _table(con, "replies", _REPLIES, [tuple(r) for r in replies])


def _table(con: duckdb.DuckDBPyConnection, name: str, columns: tuple[tuple[str, str], ...], rows: list[tuple]) -> None:
    """Create ``name`` on ``con`` with ``columns`` (name, DuckDB type) and ``rows`` (timestamps
    naive UTC or aware), through one frame (not a row at a time)."""
    con.execute(f"CREATE TABLE {name} ({', '.join(f'{c} {t}' for c, t in columns)})")
    if not rows:
        return
    frame = pd.DataFrame.from_records(rows, columns=[c for c, _ in columns])
    for column, kind in columns:
        if kind == "TIMESTAMP":
            frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_convert(None)
    con.register("_found", frame)
    try:
        con.execute(f"INSERT INTO {name} SELECT {', '.join(f'CAST({c} AS {t})' for c, t in columns)} FROM _found")
    finally:
        con.unregister("_found")


def _naive(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else utc(moment).replace(tzinfo=None)


def _batches(con: duckdb.DuckDBPyConnection, rows: list[_Held], limit: int,
             now: dt.datetime) -> list[tuple[_Held, int]]:
    """The rows the rule puts in a later batch (k > 0: k days later), by the plan's rule."""
    by_id = {h.id: h for h in rows}
    frame = pd.DataFrame({"lead_id": [h.id for h in rows], "user_id": [h.user_id for h in rows],
                          "send_at": [_naive(h.send_at) for h in rows]})
    con.register("_held_rows", frame.astype({"lead_id": "int64", "user_id": "int64", "send_at": "datetime64[us]"}))
    try:
        ranked = _limits.rank_tier(con, limit, now, _ROWS)
        later = con.execute(f"SELECT lead_id, tier_batch FROM ({_limits.batched(_ROWS, ranked)}) "
                            "WHERE tier_batch > 0 ORDER BY lead_id").fetchall()
    finally:
        con.unregister("_held_rows")
    return [(by_id[int(i)], int(batch)) for i, batch in later]
