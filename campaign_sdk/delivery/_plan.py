"""Build a campaign's delivery plan set-wise in DuckDB (on the analytics mirror of the store).

Steps, each a DuckDB statement over all leads: the send path's skip reasons; zones
(:mod:`._zones`); send moments per distinct (zones, country) computed in Python
(:mod:`._windows`) and joined back; frequency caps against the messages table; WhatsApp's
messaging limit (a rank over the send moments, the overflow moved by whole days); expiry; the
customer-service window for free-form messages; then the rendered message, SMS segments and cost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from campaign_sdk.delivery._frame import PLAN_COLUMNS, DeliveryPlan
from campaign_sdk.delivery._policy import DeliveryPolicy
from campaign_sdk.delivery._reasons import REASONS, SKIP
from campaign_sdk.delivery._schedule import Schedule, scheduler_sql
from campaign_sdk.delivery._segments import segment_sql, sms_segments
from campaign_sdk.delivery._windows import earliest_local, local_target, next_allowed
from campaign_sdk.delivery._zones import resolve_zones
from campaign_sdk.facts.delivery import MESSAGING_LIMIT_WINDOW, SERVICE_WINDOW

MIRROR_TABLES = ("campaigns", "users", "leads", "messages", "replies")
INVALID_NUMBER_CODES = (21211, 21614, 63024)  # as service.INVALID_NUMBER_CODES
# a message that counts toward caps and limits: it may have reached the person
_COUNTS = ("NOT (m.sid IS NULL AND m.error_code IS NOT NULL) "
           "AND m.status NOT IN ('failed', 'undelivered', 'canceled')")
_SKIPS = "(" + ", ".join(f"'{r}'" for r in SKIP) + ")"


@dataclass(frozen=True)
class PlanSpec:
    """Everything a plan needs besides the store."""

    campaign_id: int
    category: str  # marketing / service: the policy's categories
    price_category: str  # marketing / utility / authentication / service: the price table's
    channel: str
    message_sql: str  # rendering expression over the column ``cv``
    required: Sequence[str]
    policy: DeliveryPolicy
    schedule: Schedule
    now: dt.datetime  # aware UTC
    expires_at: dt.datetime | None
    messaging_tier: int | None
    freeform: bool
    twilio_scheduling: bool
    prices: Callable[[list[str]], tuple[pd.DataFrame, str]]


def _naive(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _aware(value: Any) -> dt.datetime:
    return pd.Timestamp(value).tz_localize("UTC").to_pydatetime()


def _base(con: duckdb.DuckDBPyConnection, spec: PlanSpec) -> None:
    missing = " OR ".join(
        f"trim(coalesce(json_extract_string(l.custom_variables, '$.\"{k}\"'), '')) = ''" for k in spec.required
    ) or "false"
    codes = ", ".join(map(str, INVALID_NUMBER_CODES))
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE plan_base AS
        SELECT l.id AS lead_id, l.user_id, u.phone_number AS phone, l.custom_variables AS cv,
               json_extract_string(l.custom_variables, '$.timezone') AS tz_override,
               CASE WHEN l.removed_at IS NOT NULL THEN 'removed'
                    WHEN u.opted_out_at IS NOT NULL THEN 'opted_out'
                    WHEN s.state = 3 THEN 'already_messaged'
                    WHEN s.state = 2 THEN 'failed_before'
                    WHEN s.state = 1 THEN 'unresolved'
                    WHEN bad.user_id IS NOT NULL OR u.phone_number NOT LIKE '+%' THEN 'invalid_number'
                    WHEN {missing} THEN 'missing_variables' END AS store_reason
        FROM leads l JOIN users u ON u.id = l.user_id
        LEFT JOIN (SELECT lead_id, max(CASE WHEN sid IS NOT NULL THEN 3 WHEN error_code IS NOT NULL THEN 2
                                            ELSE 1 END) AS state
                   FROM messages WHERE campaign_id = $c GROUP BY lead_id) s ON s.lead_id = l.id
        LEFT JOIN (SELECT DISTINCT user_id FROM messages WHERE error_code IN ({codes})) bad
               ON bad.user_id = l.user_id
        WHERE l.campaign_id = $c
    """, {"c": spec.campaign_id})


def _moments(keys: pd.DataFrame, spec: PlanSpec, proposed: pd.Series | None = None) -> pd.DataFrame:
    """Send moment, shown zone and local time, and the reason for each (zones, country,
    zone_problem[, proposed]) row of ``keys``."""
    sched, now = spec.schedule, spec.now
    out = []
    for i, (zones, country, problem) in enumerate(keys[["zones", "country", "zone_problem"]].itertuples(index=False)):
        country = None if pd.isna(country) else country
        problem = None if pd.isna(problem) else problem
        window = spec.policy.window_for(spec.category, country)
        start = _aware(proposed.iloc[i]) if proposed is not None else (sched.at or now)
        if problem == "invalid_timezone" or (problem == "unknown_timezone" and (window or sched.local_time)):
            out.append((None, None, None, problem))
            continue
        names = tuple(zones.split(",")) if isinstance(zones, str) and problem is None else ("UTC",)
        if sched.local_time and proposed is None:
            start = local_target(names, sched.local_time, now)
        moment = next_allowed(names, window, start)
        if moment is None:
            out.append((None, None, None, "no_common_window"))
            continue
        shown, local = earliest_local(names, moment) if problem is None else (None, None)
        reason = "quiet_hours" if moment > start else ("scheduled" if moment > now else None)
        out.append((_naive(moment), shown, local, reason))
    frame = pd.DataFrame(out, columns=["send_at", "zone", "local_send_time", "time_reason"])
    frame["send_at"] = pd.to_datetime(frame["send_at"])
    frame["local_send_time"] = pd.to_datetime(frame["local_send_time"])
    return pd.concat([keys.reset_index(drop=True), frame], axis=1)


def _timed(con: duckdb.DuckDBPyConnection, spec: PlanSpec) -> None:
    keys = con.execute("SELECT DISTINCT zones, country, zone_problem FROM plan_zones").df()
    con.register("_plan_times", _moments(keys, spec))
    con.execute("""
        CREATE OR REPLACE TEMP TABLE plan_rows AS
        SELECT b.lead_id, b.user_id, b.phone, b.cv, b.tz_override, z.zones, z.country,
               coalesce(z.ambiguous, false) AS ambiguous, z.zone_problem, t.zone, t.local_send_time,
               t.send_at,
               CASE WHEN b.store_reason IS NOT NULL THEN b.store_reason
                    WHEN z.lead_id IS NULL THEN 'invalid_number'
                    ELSE t.time_reason END AS reason
        FROM plan_base b
        LEFT JOIN plan_zones z ON z.lead_id = b.lead_id
        LEFT JOIN _plan_times t ON t.zones IS NOT DISTINCT FROM z.zones AND t.country IS NOT DISTINCT FROM z.country
                              AND t.zone_problem IS NOT DISTINCT FROM z.zone_problem
    """)
    con.unregister("_plan_times")


def _caps(con: duckdb.DuckDBPyConnection, spec: PlanSpec) -> None:
    caps = spec.policy.caps_for(spec.category)
    if not caps:
        return
    longest = max(cap.per for cap in caps)
    over = " OR ".join(
        f"count(*) FILTER (WHERE m.t > r.send_at - to_microseconds({cap.per // dt.timedelta(microseconds=1)}))"
        f" + 1 > {cap.limit}"
        for cap in caps
    )
    con.execute(f"""
        UPDATE plan_rows SET reason = 'frequency_cap' WHERE lead_id IN (
            SELECT r.lead_id FROM plan_rows r
            JOIN (SELECT m.user_id, coalesce(m.sent_at, m.created_at) AS t FROM messages m
                  JOIN campaigns c ON c.id = m.campaign_id
                  WHERE c.campaign_type = 'marketing' AND {_COUNTS}
                    AND coalesce(m.sent_at, m.created_at) > $since) m ON m.user_id = r.user_id
            WHERE (r.reason IS NULL OR r.reason NOT IN {_SKIPS}) AND r.send_at IS NOT NULL
            GROUP BY r.lead_id HAVING {over})
    """, {"since": _naive(spec.now - longest)})


def _tier(con: duckdb.DuckDBPyConnection, spec: PlanSpec) -> None:
    tier = spec.messaging_tier
    if not tier or spec.channel != "whatsapp":
        return
    day = MESSAGING_LIMIT_WINDOW // dt.timedelta(microseconds=1)
    window = SERVICE_WINDOW // dt.timedelta(microseconds=1)
    used = con.execute(f"""
        SELECT count(DISTINCT m.user_id) FROM messages m
        WHERE {_COUNTS} AND coalesce(m.sent_at, m.created_at) > $now - to_microseconds({day})
    """, {"now": _naive(spec.now)}).fetchone()[0]
    first = max(tier - int(used), 0)
    over = con.execute(f"""
        WITH counted AS (
            SELECT r.lead_id, r.zones, r.country, r.zone_problem, r.send_at,
                   row_number() OVER (ORDER BY r.send_at, r.lead_id) - 1 AS rank
            FROM plan_rows r
            LEFT JOIN (SELECT user_id, max(received_at) AS last_in FROM replies GROUP BY user_id) q
                   ON q.user_id = r.user_id
            WHERE (r.reason IS NULL OR r.reason NOT IN {_SKIPS}) AND r.send_at IS NOT NULL
              AND (q.last_in IS NULL OR q.last_in + to_microseconds({window}) < r.send_at))
        SELECT lead_id, zones, country, zone_problem,
               greatest(send_at, $now + to_microseconds({day}) * (1 + (rank - {first}) // {tier})) AS proposed
        FROM counted WHERE rank >= {first}
    """, {"now": _naive(spec.now)}).df()
    if over.empty:
        return
    keys = over[["zones", "country", "zone_problem", "proposed"]].drop_duplicates().reset_index(drop=True)
    moved = _moments(keys[["zones", "country", "zone_problem"]], spec, proposed=keys["proposed"])
    moved["proposed"] = keys["proposed"]
    con.register("_tier_over", over)
    con.register("_tier_moved", moved)
    con.execute("""
        UPDATE plan_rows SET send_at = m.send_at, zone = m.zone, local_send_time = m.local_send_time,
               reason = coalesce(CASE WHEN m.time_reason IN ('no_common_window') THEN m.time_reason END,
                                 'messaging_tier')
        FROM _tier_over o JOIN _tier_moved m ON m.zones IS NOT DISTINCT FROM o.zones
             AND m.country IS NOT DISTINCT FROM o.country AND m.zone_problem IS NOT DISTINCT FROM o.zone_problem
             AND m.proposed = o.proposed
        WHERE plan_rows.lead_id = o.lead_id
    """)
    con.unregister("_tier_over")
    con.unregister("_tier_moved")


def _stale(con: duckdb.DuckDBPyConnection, spec: PlanSpec) -> None:
    live = f"(reason IS NULL OR reason NOT IN {_SKIPS})"
    if spec.expires_at is not None:
        con.execute(f"UPDATE plan_rows SET reason = 'expired' WHERE {live} AND send_at > $e",
                    {"e": _naive(spec.expires_at)})
    if spec.freeform:
        window = SERVICE_WINDOW // dt.timedelta(microseconds=1)
        con.execute(f"""
            UPDATE plan_rows SET reason = 'outside_service_window' WHERE {live} AND NOT EXISTS (
                SELECT 1 FROM replies q WHERE q.user_id = plan_rows.user_id AND q.received_at <= plan_rows.send_at
                  AND q.received_at + to_microseconds({window}) >= plan_rows.send_at)
        """)


def _finish(con: duckdb.DuckDBPyConnection, spec: PlanSpec) -> tuple[pd.DataFrame, str]:
    countries = [c for (c,) in con.execute(
        f"SELECT DISTINCT country FROM plan_rows WHERE country IS NOT NULL AND (reason IS NULL OR reason NOT IN {_SKIPS})"
    ).fetchall()]
    prices, source = spec.prices(countries)
    con.register("_prices", prices)
    first, second = segment_sql("message")
    details = " ".join(
        f"WHEN '{code}' THEN '{text.replace(chr(39), chr(39) * 2)}'" for code, text in REASONS.items()
    )
    per_segment = "CASE WHEN $channel = 'sms' THEN segments ELSE 1 END"
    frame = con.execute(f"""
        WITH rendered AS (
            SELECT r.*, {spec.message_sql} AS message FROM plan_rows r),
        counted AS (SELECT *, {first} FROM rendered),
        segmented AS (SELECT *, {second} FROM counted),
        priced AS (
            SELECT s.*, coalesce(e.price, a.price) AS price, coalesce(e.currency, a.currency) AS currency_
            FROM segmented s
            LEFT JOIN _prices e ON e.country = s.country AND e.channel = $channel AND e.category = $category
            LEFT JOIN _prices a ON a.country = s.country AND a.channel = $channel AND a.category = '*')
        SELECT lead_id, phone AS phone_number, country,
               CASE WHEN reason IN {_SKIPS} THEN 'skip' WHEN send_at > $now THEN 'defer' ELSE 'send' END AS action,
               reason,
               CASE WHEN reason = 'invalid_timezone' THEN 'timezone ' || tz_override || ': ' || CASE reason {details} END
                    ELSE CASE reason {details} END END AS detail,
               zones, ambiguous, zone,
               CASE WHEN reason IN {_SKIPS} THEN NULL ELSE local_send_time END AS local_send_time,
               CASE WHEN reason IN {_SKIPS} THEN NULL ELSE send_at END AS send_at,
               CASE WHEN reason IN {_SKIPS} THEN NULL ELSE {scheduler_sql("send_at", twilio=spec.twilio_scheduling)} END
                   AS scheduler,
               message, encoding AS sms_encoding, segments AS sms_segments, exact,
               CASE WHEN reason IN {_SKIPS} THEN NULL ELSE price * {per_segment} END AS cost,
               CASE WHEN reason IN {_SKIPS} THEN NULL ELSE currency_ END AS currency,
               CASE WHEN reason IN {_SKIPS} OR price IS NOT NULL THEN NULL
                    WHEN country IS NULL THEN 'no country known for the number'
                    ELSE 'no price for ' || country || ' / ' || $channel || ' / ' || $category || ' in the price table'
               END AS cost_reason
        FROM priced ORDER BY lead_id
    """, {"channel": spec.channel, "category": spec.price_category, "now": _naive(spec.now)}).df()
    con.unregister("_prices")
    _recount(frame, spec)
    return frame, source


def _recount(frame: pd.DataFrame, spec: PlanSpec) -> None:
    """Exact segments for the few texts where a two-unit character may straddle a boundary."""
    inexact = frame.index[~frame.pop("exact").astype(bool)]
    if not len(inexact):
        return
    old = frame.loc[inexact, "sms_segments"].astype(float)
    new = pd.Series([sms_segments(m).segments for m in frame.loc[inexact, "message"]], index=inexact)
    frame.loc[inexact, "sms_segments"] = new
    if spec.channel == "sms":
        frame.loc[inexact, "cost"] = frame.loc[inexact, "cost"] / old * new


def build_plan(con: duckdb.DuckDBPyConnection, spec: PlanSpec) -> DeliveryPlan:
    """The plan of ``spec.campaign_id`` on the mirror connection ``con`` (already refreshed)."""
    _base(con, spec)
    resolve_zones(con, "plan_base")
    _timed(con, spec)
    _caps(con, spec)
    _tier(con, spec)
    _stale(con, spec)
    frame, source = _finish(con, spec)
    for table in ("plan_base", "plan_zones", "plan_rows", "_plan_phone"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    frame["send_at"] = pd.to_datetime(frame["send_at"]).dt.tz_localize("UTC")
    frame["ambiguous"] = frame["ambiguous"].astype(bool)
    plan = DeliveryPlan(frame[PLAN_COLUMNS])
    plan.attrs.update(campaign_id=spec.campaign_id, now=spec.now, price_source=source)
    return plan
