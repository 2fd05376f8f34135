"""Limits applied to the timed plan rows: frequency caps, WhatsApp's messaging limit, expiry and
the customer-service window.

Each limit reads the plan's timed rows as a SQL relation (``rows``: ``lead_id, user_id, zkey,
send_at, reason, live`` as far as the plan got; the plan makes them once, in Arrow) and leaves
either a small table (the capped leads; the messaging-limit batches per send moment) or a SQL
step the plan's final query applies (:func:`tier_step`, :func:`stale_step`). A limit the policy
does not set costs nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import duckdb
import pandas as pd
import sqlalchemy as sa

from campaign_sdk.delivery._policy import FrequencyCap
from campaign_sdk.delivery._spec import ARRIVAL, COUNTS, IN_SERVICE_WINDOW, LIVE, US, PlanSpec, moments, naive
from campaign_sdk.facts.delivery import MESSAGING_LIMIT_CHANNEL, MESSAGING_LIMIT_WINDOW, SERVICE_WINDOW
from campaign_sdk.models import Campaign, CampaignType, DeferredSend

TEMP = ("_plan_capped", "_plan_held", "_tier_used", "_tier_free", "_tier_last_in", "_tier_cells", "_tier_blocks", "_tier_ranked")
# when a counted message reaches the person (``_spec.ARRIVAL``)
ARRIVES = "coalesce(" + ", ".join(f"m.{column}" for column in ARRIVAL) + ")"
# a message WhatsApp's messaging limit counts went over WhatsApp; one recorded before migration
# 0011 has no channel and counts (the store did not say which it was)
ON_WHATSAPP = f"coalesce(m.channel, '{MESSAGING_LIMIT_CHANNEL}') = '{MESSAGING_LIMIT_CHANNEL}'"


def hold(con: duckdb.DuckDBPyConnection, engine: sa.Engine, spec: PlanSpec) -> None:
    """Create ``_plan_held(id, user_id, lead_id, campaign_id, due_at)`` for :func:`caps` (when a
    cap applies and there are any): the store's deferred sends (held by the send worker, not in
    the mirror) of other marketing campaigns due after the longest cap's span before now, and
    this campaign's own rows for the same people."""
    chosen = spec.policy.caps_for(spec.category)
    if not chosen:
        return
    d, c = DeferredSend.__table__, Campaign.__table__
    since = spec.now - max(cap.per for cap in chosen)
    others = (sa.select(d.c.id, d.c.user_id, d.c.lead_id, d.c.campaign_id, d.c.due_at)
              .join(c, c.c.id == d.c.campaign_id)
              .where(c.c.campaign_type == CampaignType.MARKETING, d.c.campaign_id != spec.campaign_id, d.c.due_at > since))
    own = (sa.select(d.c.id, d.c.user_id, d.c.lead_id, d.c.campaign_id, d.c.due_at)
           .where(d.c.campaign_id == spec.campaign_id, d.c.user_id.in_(sa.select(others.subquery().c.user_id))))
    with engine.connect() as connection:
        found = connection.execute(sa.union_all(others, own)).all()
    if not found:
        return
    frame = pd.DataFrame([(*r[:4], naive(r[4])) for r in found],
                         columns=["id", "user_id", "lead_id", "campaign_id", "due_at"])
    frame = frame.astype({"id": "int64", "user_id": "int64", "lead_id": "int64", "campaign_id": "int64",
                          "due_at": "datetime64[us]"})
    con.register("_plan_held_found", frame)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _plan_held AS SELECT * FROM _plan_held_found")
    finally:
        con.unregister("_plan_held_found")


def counted_messages(spec: PlanSpec, held: bool) -> tuple[str, str, str]:
    """The marketing messages a cap counts, for rows ``r`` (``m``: ``user_id``, ``t`` the moment
    it arrives, ``held`` the id of a held deferred send), as SQL: the relation (``$since``: the
    earliest moment a cap looks back to), the join to the lead's own held send and the
    condition that drops the held sends after the lead's own (``held``: ``_plan_held`` exists)."""
    others = f"""UNION ALL SELECT user_id, due_at, id FROM _plan_held WHERE campaign_id <> {int(spec.campaign_id)}""" if held else ""
    counted = f"""(SELECT m.user_id, {ARRIVES} AS t, NULL::BIGINT AS held FROM messages m
              JOIN campaigns c ON c.id = m.campaign_id
              WHERE c.campaign_type = 'marketing' AND {COUNTS}
                AND {ARRIVES} > $since {others})"""
    own = f"LEFT JOIN _plan_held o ON o.lead_id = r.lead_id AND o.campaign_id = {int(spec.campaign_id)}" if held else ""
    return counted, own, "AND (m.held IS NULL OR o.id IS NULL OR m.held < o.id)" if held else ""


def within(cap: FrequencyCap, moment: str, t: str = "m.t") -> str:
    """SQL: the counted message's arrival ``t`` is less than the cap's span before or after ``moment``."""
    span = f"to_microseconds({cap.per // US})"
    return f"{t} > {moment} - {span} AND {t} < {moment} + {span}"


def caps(con: duckdb.DuckDBPyConnection, spec: PlanSpec, rows: str) -> bool:
    """Create ``_plan_capped(lead_id, user_id, send_at)``: the live leads of ``rows`` (its
    ``live`` column: :data:`LIVE` of the row's reason) whose person would exceed a cap at the
    send moment (``frequency_cap``). A cap of ``limit`` per ``per`` allows the send when fewer
    than ``limit`` counted marketing messages (any campaign) arrive less than ``per`` before or
    after ``send_at`` (:data:`ARRIVES`: a message Twilio's scheduler holds counts at its SendAt);
    the other marketing campaigns' deferred sends (``_plan_held``, :func:`hold`) count at their
    ``due_at``, except those held after the lead's own deferred send (the worker then skips them).
    False (no table) when no cap applies."""
    chosen = spec.policy.caps_for(spec.category)
    if not chosen:
        return False
    longest = max(cap.per for cap in chosen)
    hits = [f"count(*) FILTER (WHERE {within(cap, 'r.send_at')}) + 1 > {cap.limit}" for cap in chosen]
    counted, own, condition = counted_messages(spec, exists(con, "_plan_held"))
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _plan_capped AS
        WITH r AS ({rows})
        SELECT r.lead_id, r.user_id, r.send_at FROM r JOIN {counted} m ON m.user_id = r.user_id
        {own}
        WHERE r.live AND r.send_at IS NOT NULL {condition}
        GROUP BY r.lead_id, r.user_id, r.send_at HAVING {" OR ".join(hits)}
    """, {"since": naive(spec.now - longest)})
    return True


def exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether the temp table ``table`` exists on ``con``."""
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = $t",
                            {"t": table}).fetchall()[0][0])


@dataclass(frozen=True)
class Tier:
    """What :func:`tier` found: the moved moments, for :func:`tier_step` and the shown times."""

    moved: pd.DataFrame  # zkey, batch, send_at, time_reason
    window: int | None  # the customer-service window, microseconds (None: no one has replied, none is open)
    limit: int  # the messaging limit (sets the block size)
    used: bool = False  # some leads' people are counted already (``_tier_free``): they take no new slot


def _block(limit: int, lead_id: str) -> str:
    """SQL of the lead's block of ids: blocks a fraction of ``limit`` wide, so that few hold a
    batch boundary."""
    return f"({lead_id} >> {max(0, min(16, (limit // 4).bit_length() - 1))})"


def _eligible(window: int | None, used: bool = False) -> str:
    """SQL: the row ``r`` counts toward the messaging limit: live (its ``live`` column, made
    once with the rows: :data:`LIVE` of its reason), timed, outside an open service window
    (``q``: its person's ``_tier_last_in`` row; ``window`` None: none is open) and (``used``) its
    person not counted already in the 24 hours before its moment (Meta counts unique people:
    ``f``, its ``_tier_free`` row)."""
    live = "r.live AND r.send_at IS NOT NULL" + (" AND f.lead_id IS NULL" if used else "")
    return live if window is None else f"{live} AND (q.last_in IS NULL OR q.last_in + to_microseconds({window}) < r.send_at)"


def _last_in(window: int | None, used: bool = False) -> str:
    """The join of each row ``r`` to its person's last reply (none when no one has replied) and
    (``used``) to its ``_tier_free`` row."""
    replies = "" if window is None else "LEFT JOIN _tier_last_in q ON q.user_id = r.user_id"
    return f"{replies} LEFT JOIN _tier_free f ON f.lead_id = r.lead_id" if used else replies


def _counted(rows: str, window: int | None, used: bool = False) -> str:
    return f"""SELECT r.* FROM ({rows}) r {_last_in(window, used)} WHERE {_eligible(window, used)}"""


def tier_applies(spec: PlanSpec) -> bool:
    """Whether WhatsApp's messaging limit applies to the plan (:func:`tier`)."""
    return bool(spec.messaging_tier) and spec.channel == "whatsapp"


def tier(con: duckdb.DuckDBPyConnection, spec: PlanSpec, keys: pd.DataFrame, rows: str) -> Tier | None:
    """WhatsApp's messaging limit (``rows`` with ``live``: :data:`LIVE` of the row's reason;
    :func:`tier_step` reads the same rows): by send moment, the first (limit - people counted in
    the 24 h around now) leads go as planned and each next ``limit`` one day after the batch
    before (a lead of batch k at its planned moment plus k days, so ``local_time`` stays), where
    the send window then applies again (``messaging_tier``). People inside an open
    customer-service window do not count, nor do people counted already in the 24 h before the
    moment (Meta counts unique people). Counted: the store's WhatsApp messages (:data:`ON_WHATSAPP`:
    an SMS is not counted) arriving (:data:`ARRIVES`) within 24 h of now, to a person whose service
    window was not open then. Conservative: yesterday's sends are taken to hold their share for the
    whole day.

    The batches are found per block of leads (``_tier_blocks``) and, in the blocks that straddle
    a batch boundary, per lead (``_tier_ranked``: lead, batch > 0). None when no limit applies
    or nothing moves."""
    limit = spec.messaging_tier
    if not limit or not tier_applies(spec):
        return None
    ranked = rank_tier(con, limit, spec.now, rows)
    day = MESSAGING_LIMIT_WINDOW // US
    moves = con.execute("""
        SELECT DISTINCT o.zkey, o.batch, t.send_at + to_microseconds($day) * o.batch AS proposed
        FROM (SELECT c.zkey, g.lo AS batch FROM _tier_cells c JOIN _tier_blocks g ON g.send_at = c.send_at AND g.blk = c.blk
              WHERE g.lo = g.hi AND g.lo > 0
              UNION SELECT DISTINCT zkey, batch FROM _tier_ranked) o
        JOIN (SELECT DISTINCT zkey, send_at FROM _tier_cells) t ON t.zkey = o.zkey
    """, {"day": day}).df()
    if moves.empty:
        return None
    merged = moves.merge(keys, on="zkey", how="left")
    moved = moments(merged, spec, proposed=list(merged["proposed"]))
    return replace(ranked, moved=moved[["zkey", "batch", "send_at", "time_reason"]])


def rank_tier(con: duckdb.DuckDBPyConnection, limit: int, now: dt.datetime, rows: str) -> Tier:
    """The counting and ranking of :func:`tier` (the one definition of WhatsApp's messaging limit,
    also applied to the messages Twilio's scheduler holds when a policy changes:
    ``sending._reschedule_tier``): the people counted in the 24 h around ``now`` (the store's
    ``messages`` and ``replies`` on ``con``) and the temp tables that give each row of ``rows``
    its batch (:func:`batched`: 0 as planned, k: k days later; ``rows`` with ``live``, as in
    :func:`tier`). ``moved`` is left empty."""
    day, service = MESSAGING_LIMIT_WINDOW // US, SERVICE_WINDOW // US
    at = {"now": naive(now)}
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _tier_used AS
        SELECT m.user_id, min(m.t) AS lo, max(m.t) AS hi FROM (
            SELECT m.user_id, {ARRIVES} AS t FROM messages m
            WHERE {COUNTS} AND {ON_WHATSAPP} AND {ARRIVES} > $now - to_microseconds({day}) AND {ARRIVES} < $now + to_microseconds({day})) m
        WHERE NOT EXISTS (SELECT 1 FROM replies q WHERE q.user_id = m.user_id AND q.received_at <= m.t
                            AND q.received_at + to_microseconds({service}) >= m.t)
        GROUP BY m.user_id
    """, at)
    used = con.execute("SELECT count(*) FROM _tier_used").fetchall()[0][0]
    first = max(limit - int(used), 0)
    # the leads whose person is counted already in the 24 h up to their moment (by the first or
    # the last of their counted messages): no new slot
    since = f"r.send_at - to_microseconds({day})"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _tier_free AS
        SELECT r.lead_id FROM ({rows}) r JOIN _tier_used u ON u.user_id = r.user_id
        WHERE r.live AND r.send_at IS NOT NULL
          AND ((u.lo > {since} AND u.lo <= r.send_at) OR (u.hi > {since} AND u.hi <= r.send_at))
    """)
    free = bool(used) and con.execute("SELECT count(*) FROM _tier_free").fetchall()[0][0] > 0
    con.execute("CREATE OR REPLACE TEMP TABLE _tier_last_in AS "
                "SELECT user_id, max(received_at) AS last_in FROM replies GROUP BY user_id")
    replied = con.execute("SELECT count(*) FROM _tier_last_in").fetchall()[0][0]
    window = service if replied else None
    counted = _counted(rows, window, free)
    # eligible rows in send order (send_at, lead_id): rank r goes in batch 0 (as planned) below
    # ``first``, else 1 + (r - first) // limit days later. Rows are counted per cell (send
    # moment x block of lead ids x zone key; a small table); the blocks (send moment x block)
    # get their first rank from those counts, and only a block that straddles a batch boundary
    # numbers its own rows (a sort of a few blocks, not of every row).
    batch = f"CASE WHEN {{rank}} < {first} THEN 0 ELSE 1 + ({{rank}} - {first}) // {limit} END"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _tier_cells AS
        SELECT send_at, {_block(limit, "lead_id")} AS blk, zkey, count(*) AS n
        FROM ({counted}) GROUP BY ALL
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _tier_blocks AS
        SELECT send_at, blk, {batch.format(rank="start")} AS lo, {batch.format(rank="start + n - 1")} AS hi, start
        FROM (SELECT send_at, blk, n, (sum(n) OVER (ORDER BY send_at, blk))::BIGINT - n AS start
              FROM (SELECT send_at, blk, sum(n)::BIGINT AS n FROM _tier_cells GROUP BY send_at, blk))
    """)
    rank = "row_number() OVER (PARTITION BY e.send_at, g.blk ORDER BY e.lead_id) - 1"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _tier_ranked AS
        SELECT lead_id, zkey, batch FROM (
            SELECT e.lead_id, e.zkey, {batch.format(rank=f"g.start + {rank}")} AS batch
            FROM ({counted}) e
            JOIN (SELECT * FROM _tier_blocks WHERE lo < hi) g ON g.send_at = e.send_at AND g.blk = {_block(limit, "e.lead_id")})
        WHERE batch > 0
    """)
    return Tier(pd.DataFrame(), window, limit, free)


def tier_step(rows: str, found: Tier) -> str:
    """``rows`` with the moves of :func:`tier` (``_tier_moved`` registered from ``found.moved``
    with ``midx``, its row number): a moved lead gets its batch's moment and ``messaging_tier``
    (``no_common_window`` where the later day has no allowed minute), and ``tier_row``, its row
    of ``found.moved`` (NULL: not moved)."""
    return f"""SELECT r.* EXCLUDE (tier_batch) REPLACE (coalesce(m.send_at, r.send_at) AS send_at,
                   CASE WHEN m.zkey IS NULL THEN r.reason WHEN m.time_reason = 'no_common_window' THEN m.time_reason
                        ELSE 'messaging_tier' END AS reason), m.midx AS tier_row
        FROM ({batched(rows, found)}) r
        LEFT JOIN _tier_moved m ON m.zkey = r.zkey AND m.batch = r.tier_batch"""


def batched(rows: str, found: Tier) -> str:
    """``rows`` with ``tier_batch``, the batch :func:`rank_tier` gave each (NULL or 0: as planned;
    k: k days later)."""
    return f"""SELECT r.*, CASE WHEN {_eligible(found.window, found.used)}
                               THEN coalesce(k.batch, CASE WHEN g.lo = g.hi AND g.lo > 0 THEN g.lo END) END AS tier_batch
              FROM ({rows}) r {_last_in(found.window, found.used)}
              LEFT JOIN _tier_blocks g ON g.send_at = r.send_at AND g.blk = {_block(found.limit, "r.lead_id")}
              LEFT JOIN _tier_ranked k ON k.lead_id = r.lead_id"""


def stale_step(spec: PlanSpec, rows: str) -> tuple[str, dict[str, object]]:
    """``rows`` with ``expired`` for what would arrive after the campaign's ``expires_at``, and
    ``outside_service_window`` for free-form messages outside the person's 24-hour
    customer-service window; and the parameters it needs."""
    whens: list[str] = []
    params: dict[str, object] = {}
    live = LIVE.format(t="r")
    if spec.expires_at is not None:
        whens.append(f"WHEN {live} AND r.send_at > $expires THEN 'expired'")
        params["expires"] = naive(spec.expires_at)
    if spec.freeform:
        whens.append(f"WHEN {live} AND NOT {IN_SERVICE_WINDOW} THEN 'outside_service_window'")
    if not whens:
        return rows, params
    return f"SELECT r.* REPLACE (CASE {' '.join(whens)} ELSE r.reason END AS reason) FROM ({rows}) r", params
