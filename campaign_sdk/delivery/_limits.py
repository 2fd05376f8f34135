"""Limits applied to the timed plan rows: frequency caps, WhatsApp's messaging limit, expiry and
the customer-service window. Each is one or two DuckDB statements over ``plan_rows``."""

from __future__ import annotations

import duckdb
import pandas as pd

from campaign_sdk.delivery._spec import COUNTS, LIVE, US, PlanSpec, moments, naive
from campaign_sdk.facts.delivery import MESSAGING_LIMIT_WINDOW, SERVICE_WINDOW


def caps(con: duckdb.DuckDBPyConnection, spec: PlanSpec) -> None:
    """Skip (``frequency_cap``) leads whose person would exceed a cap at the send moment: a cap
    of ``limit`` per ``per`` allows the send when fewer than ``limit`` counted marketing messages
    (any campaign) fall in ``(send_at - per, send_at]``."""
    chosen = spec.policy.caps_for(spec.category)
    if not chosen:
        return
    longest = max(cap.per for cap in chosen)
    over = " OR ".join(
        f"count(*) FILTER (WHERE m.t > r.send_at - to_microseconds({cap.per // US})) + 1 > {cap.limit}"
        for cap in chosen
    )
    con.execute(f"""
        UPDATE plan_rows SET reason = 'frequency_cap' WHERE lead_id IN (
            SELECT r.lead_id FROM plan_rows r
            JOIN (SELECT m.user_id, coalesce(m.sent_at, m.created_at) AS t FROM messages m
                  JOIN campaigns c ON c.id = m.campaign_id
                  WHERE c.campaign_type = 'marketing' AND {COUNTS}
                    AND coalesce(m.sent_at, m.created_at) > $since) m ON m.user_id = r.user_id
            WHERE {LIVE.format(t="r")} AND r.send_at IS NOT NULL
            GROUP BY r.lead_id HAVING {over})
    """, {"since": naive(spec.now - longest)})


def tier(con: duckdb.DuckDBPyConnection, spec: PlanSpec, keys: pd.DataFrame) -> pd.DataFrame | None:
    """WhatsApp's messaging limit: by send moment, the first (limit - people messaged in the last
    24 h) leads go as planned and each next ``limit`` one day later, where the send window then
    applies again (``messaging_tier``). People inside an open customer-service window do not
    count. Conservative: yesterday's sends are taken to hold their share for the whole day.
    Returns the moved (zkey, send_at) moments, or None."""
    limit = spec.messaging_tier
    if not limit or spec.channel != "whatsapp":
        return None
    day, window = MESSAGING_LIMIT_WINDOW // US, SERVICE_WINDOW // US
    now = {"now": naive(spec.now)}
    used = con.execute(f"""
        SELECT count(DISTINCT m.user_id) FROM messages m
        WHERE {COUNTS} AND coalesce(m.sent_at, m.created_at) > $now - to_microseconds({day})
    """, now).fetchall()[0][0]
    first = max(limit - int(used), 0)
    # eligible rows in send order (send_at, lead_id): rank r goes in batch 0 (as planned) below
    # ``first``, else 1 + (r - first) // limit days later. Ranks are counted per send moment (a
    # small table); only moments that straddle a batch boundary number their own rows.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _tier_rows AS
        SELECT r.lead_id, r.zkey, r.send_at FROM plan_rows r
        LEFT JOIN (SELECT user_id, max(received_at) AS last_in FROM replies GROUP BY user_id) q ON q.user_id = r.user_id
        WHERE {LIVE.format(t="r")} AND r.send_at IS NOT NULL
          AND (q.last_in IS NULL OR q.last_in + to_microseconds({window}) < r.send_at)
    """)
    batch = f"CASE WHEN {{rank}} < {first} THEN 0 ELSE 1 + ({{rank}} - {first}) // {limit} END"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _tier_groups AS
        SELECT send_at, start, {batch.format(rank="start")} AS lo, {batch.format(rank="start + n - 1")} AS hi
        FROM (SELECT send_at, n, sum(n) OVER (ORDER BY send_at) - n AS start
              FROM (SELECT send_at, count(*) AS n FROM _tier_rows GROUP BY send_at))
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _tier_over AS
        SELECT r.lead_id, r.zkey, g.lo AS batch FROM _tier_rows r JOIN _tier_groups g ON g.send_at = r.send_at
        WHERE g.lo = g.hi AND g.lo > 0
        UNION ALL
        SELECT lead_id, zkey, {batch.format(rank="start + i")} FROM (
            SELECT r.lead_id, r.zkey, g.start, row_number() OVER (PARTITION BY r.send_at ORDER BY r.lead_id) - 1 AS i
            FROM _tier_rows r JOIN _tier_groups g ON g.send_at = r.send_at WHERE g.lo < g.hi)
        WHERE {batch.format(rank="start + i")} > 0
    """)
    con.execute("DROP TABLE _tier_rows")
    con.execute("DROP TABLE _tier_groups")
    moves = con.execute("""
        SELECT DISTINCT o.zkey, o.batch, greatest(t.send_at, $now + to_microseconds($day) * o.batch) AS proposed
        FROM (SELECT DISTINCT zkey, batch FROM _tier_over) o
        JOIN (SELECT DISTINCT zkey, send_at FROM plan_rows WHERE send_at IS NOT NULL) t ON t.zkey = o.zkey
    """, {**now, "day": day}).df()
    if moves.empty:
        con.execute("DROP TABLE _tier_over")
        return None
    merged = moves.merge(keys, on="zkey", how="left")
    moved = moments(merged, spec, proposed=list(merged["proposed"]))
    con.register("_tier_moved", moved[["zkey", "batch", "send_at", "time_reason"]])
    con.execute("""
        CREATE OR REPLACE TEMP TABLE plan_rows AS
        SELECT r.lead_id, r.user_id, r.zkey, coalesce(m.send_at, r.send_at) AS send_at,
               CASE WHEN m.zkey IS NULL THEN r.reason WHEN m.time_reason = 'no_common_window' THEN m.time_reason
                    ELSE 'messaging_tier' END AS reason
        FROM plan_rows r LEFT JOIN _tier_over o ON o.lead_id = r.lead_id
        LEFT JOIN _tier_moved m ON m.zkey = o.zkey AND m.batch = o.batch
    """)
    con.unregister("_tier_moved")
    con.execute("DROP TABLE _tier_over")
    return moved[["zkey", "send_at"]]


def stale(con: duckdb.DuckDBPyConnection, spec: PlanSpec) -> None:
    """Skip what would arrive after the campaign's ``expires_at`` (``expired``) and free-form
    messages outside the person's 24-hour customer-service window (``outside_service_window``)."""
    live = LIVE.format(t="plan_rows")
    if spec.expires_at is not None:
        con.execute(f"UPDATE plan_rows SET reason = 'expired' WHERE {live} AND send_at > $e",
                    {"e": naive(spec.expires_at)})
    if spec.freeform:
        window = SERVICE_WINDOW // US
        con.execute(f"""
            UPDATE plan_rows SET reason = 'outside_service_window' WHERE {live} AND NOT EXISTS (
                SELECT 1 FROM replies q WHERE q.user_id = plan_rows.user_id AND q.received_at <= plan_rows.send_at
                  AND q.received_at + to_microseconds({window}) >= plan_rows.send_at)
        """)
