"""Build a campaign's delivery plan set-wise in DuckDB (on the analytics mirror of the store).

Each step is a DuckDB statement over all leads: the send path's skip reasons and the template
values (one JSON parse per lead); zones (:mod:`._zones`); send moments per distinct zone key,
computed in Python (:mod:`._spec`, :mod:`._windows`) and joined back; the limits
(:mod:`._limits`); then the rendered message, SMS segments and cost (:mod:`._render`).
Python work is per zone key or per group of numbers, never per lead.
"""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pandas as pd

from campaign_sdk.delivery import _limits
from campaign_sdk.delivery._frame import PLAN_COLUMNS, DeliveryPlan
from campaign_sdk.delivery._render import (
    LeadTemplate,
    arm_sql,
    features_sql,
    literal_size,
    message_sql,
    reason_sql,
    segments_sql,
    size_sql,
    values_sql,
)
from campaign_sdk.delivery._schedule import scheduler_sql
from campaign_sdk.delivery._segments import sms_segments
from campaign_sdk.delivery._spec import (
    SKIPS,
    PlanSpec,
    aware,
    moments,
    naive,
    zone_names,
)
from campaign_sdk.delivery._windows import earliest_local
from campaign_sdk.delivery import _zone_cache as zone_cache
from campaign_sdk.facts.errors import ErrorKind

MIRROR_TABLES = ("campaigns", "users", "leads", "messages", "replies")
_TEMP = ("plan_base", "plan_zones", "plan_rows", "_plan_phone", "_plan_deep", "_tier_over", "_tier_groups", "_tier_rows", "_zone_new",
         "_zone_found")


def _columns(spec: PlanSpec) -> dict[str, str]:
    """Each slot's value column in ``plan_base``."""
    return {k: f"v{i}" for i, k in enumerate(spec.slots[:-1])}


def _base(con: duckdb.DuckDBPyConnection, spec: PlanSpec, cache: str) -> None:
    slots = spec.slots
    paths = "[" + ", ".join(f"'$.\"{k}\"'" for k in slots) + "]"
    cols = _columns(spec)
    values = "".join(f", vals[{i + 1}] AS {cols[k]}" for i, k in enumerate(slots[:-1]))
    skip = arm_sql(spec.arms, "l.variant", lambda x: "NULL" if isinstance(x, LeadTemplate) else f"'{x}'")
    arm = arm_sql([(names, i) for i, (names, _) in enumerate(spec.arms)], "variant", str, default="-1")
    raw = {k: f"vals[{i + 1}]" for i, k in enumerate(slots[:-1])}
    content = arm_sql(spec.templates, "variant", lambda t: reason_sql(t, raw))
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE plan_base AS
        SELECT lead_id, user_id, phone, variant, place, {arm} AS arm,
               nullif(trim(vals[{len(slots)}]), '') AS tz_override
               {values},
               coalesce(store_reason, {content}) AS store_reason
        FROM (
            SELECT l.id AS lead_id, l.user_id, u.phone_number AS phone,
                   json_extract_string(l.custom_variables, {paths}) AS vals, l.variant, {zone_cache.PLACE} AS place,
                   CASE WHEN l.removed_at IS NOT NULL THEN 'removed'
                        WHEN {skip} IS NOT NULL THEN {skip}
                        WHEN u.opted_out_at IS NOT NULL THEN 'opted_out'
                        WHEN s.state = 3 THEN 'already_messaged'
                        WHEN s.state = 2 THEN 'failed_before'
                        WHEN s.state = 1 THEN 'unresolved'
                        WHEN bad.user_id IS NOT NULL OR u.phone_number NOT LIKE '+%' THEN 'invalid_number'
                   END AS store_reason
            FROM leads l JOIN users u ON u.id = l.user_id {zone_cache.JOIN.format(schema=cache)}
            LEFT JOIN (SELECT lead_id, max(CASE WHEN sid IS NOT NULL THEN 3
                                                WHEN error_kind IS NOT NULL THEN 2 ELSE 1 END) AS state
                       FROM messages WHERE campaign_id = $c AND status <> 'canceled' GROUP BY lead_id) s
                   ON s.lead_id = l.id
            LEFT JOIN (SELECT DISTINCT user_id FROM messages WHERE error_kind = '{ErrorKind.INVALID_NUMBER.value}') bad
                   ON bad.user_id = l.user_id
            WHERE l.campaign_id = $c)
    """, {"c": spec.campaign_id})


def _timed(con: duckdb.DuckDBPyConnection, spec: PlanSpec, keys: pd.DataFrame, zkey: str) -> pd.DataFrame:
    times = moments(keys, spec)
    con.register("_plan_times", times[["zkey", "send_at", "time_reason"]])
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE plan_rows AS
        SELECT b.lead_id, b.user_id, t.zkey, t.send_at,
               CASE WHEN b.store_reason IS NOT NULL THEN b.store_reason
                    WHEN t.zkey IS NULL THEN 'invalid_number'
                    ELSE t.time_reason END AS reason
        FROM plan_base b
        LEFT JOIN _zone_overrides o ON o.name = b.tz_override
        LEFT JOIN _plan_times t ON t.zkey = {zkey.format(t="b")}
    """)
    con.unregister("_plan_times")
    con.unregister("_zone_overrides")
    return times[["zkey", "send_at"]]


def _locals(keys: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """Shown zone and wall-clock time of each (zone key, send moment) in ``pairs``."""
    zones = dict(zip(keys["zkey"], keys["zones"]))
    rows = []
    for zkey, send_at in pairs.dropna().drop_duplicates().itertuples(index=False):
        names = zones.get(zkey)
        shown = earliest_local(zone_names(names), aware(send_at)) if isinstance(names, str) else (None, None)
        rows.append((zkey, send_at, *shown))
    frame = pd.DataFrame(rows, columns=["zkey", "send_at", "zone", "local_send_time"])
    frame["send_at"] = pd.to_datetime(frame["send_at"]).astype("datetime64[us]")
    frame["local_send_time"] = pd.to_datetime(frame["local_send_time"]).astype("datetime64[us]")
    return frame


def _finish(con: duckdb.DuckDBPyConnection, spec: PlanSpec, keys: pd.DataFrame,
            pairs: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    countries = [c for c in keys["country"].dropna().unique().tolist()]
    prices, source = spec.prices(countries)
    con.register("_prices", prices)
    places = _locals(keys, pairs)
    con.register("_plan_locals", places.assign(lidx=range(len(places)))[["zkey", "send_at", "lidx"]])
    con.register("_plan_kidx", pd.DataFrame({"zkey": keys["zkey"], "kidx": range(len(keys))}))
    cols = {k: f"b.{c}" for k, c in _columns(spec).items()}
    message = arm_sql(spec.templates, "b.variant", lambda t: message_sql(t, cols))
    values = arm_sql(spec.templates, "b.variant", lambda t: values_sql(t, cols))
    sizes = [arm_sql(spec.templates, "b.variant", lambda t, i=i: str(literal_size(t)[i]).lower()) for i in range(4)]
    is_gsm, chars, doubles = size_sql("vv", *(f"lit{i}" for i in range(4)))
    encoding, segments, exact = segments_sql("is_gsm", "chars", "doubles")
    skip = f"coalesce(r.reason IN {SKIPS}, false)"
    query = f"""
        WITH joined AS (
            SELECT b.lead_id, b.phone, b.variant, b.tz_override, r.reason, r.send_at, coalesce(k.kidx, -1) AS kidx,
                   {skip} AS skipped, CASE WHEN skipped THEN -1 ELSE coalesce(loc.lidx, -1) END AS lidx,
                   {message} AS message, {values} AS vv,
                   {", ".join(f"{x} AS lit{i}" for i, x in enumerate(sizes))}
            FROM plan_rows r JOIN plan_base b ON b.lead_id = r.lead_id
            LEFT JOIN _plan_kidx k ON k.zkey = r.zkey
            LEFT JOIN _plan_locals loc ON loc.zkey = r.zkey AND loc.send_at = r.send_at),
        featured AS (SELECT *, {features_sql("vv")} FROM joined),
        sized AS (
            SELECT lead_id, phone, variant, reason, send_at, kidx, lidx, skipped,
                   CASE WHEN reason = 'invalid_timezone' THEN tz_override END AS bad_timezone,
                   message, {is_gsm} AS is_gsm, {chars} AS chars, {doubles} AS doubles FROM featured)
        SELECT lead_id, phone AS phone_number, kidx, lidx, reason,
               CASE WHEN reason IN ('holdout', 'global_holdout') THEN 'holdout' WHEN skipped THEN 'skip'
                    WHEN send_at > $now THEN 'defer' ELSE 'send' END AS action, variant,
               CASE WHEN skipped THEN NULL ELSE send_at END AS send_at,
               CASE WHEN skipped THEN NULL ELSE {scheduler_sql("send_at", twilio=spec.twilio_scheduling, reason="reason")} END AS scheduler,
               message, {encoding} AS sms_encoding, {segments} AS sms_segments, {exact} AS exact,
               bad_timezone
        FROM sized ORDER BY lead_id
    """
    table = con.sql(query, params={"now": naive(spec.now)}).to_arrow_table()
    for name in ("_prices", "_plan_locals", "_plan_kidx"):
        con.unregister(name)
    frame = table.to_pandas()
    _recount(frame)
    return _decorate(frame, spec, keys, places, prices), source


def _codes(frame: pd.DataFrame, column: str, values: pd.Series) -> pd.Categorical:
    """``values[frame[column]]`` (index -1: missing) as a Categorical, without a per-row lookup."""
    cats = pd.Index(values.dropna().unique())
    per_index = cats.get_indexer(values)  # -1 where the value is missing
    idx = frame[column].to_numpy()
    return pd.Categorical.from_codes(np.where(idx >= 0, per_index[idx], -1), categories=cats)


def _decorate(frame: pd.DataFrame, spec: PlanSpec, keys: pd.DataFrame, places: pd.DataFrame,
              prices: pd.DataFrame) -> pd.DataFrame:
    """Zone, country and local-time columns from their small tables; prices and their reasons."""
    live = frame["action"].isin(["send", "defer"])
    frame["country"] = _codes(frame, "kidx", keys["country"])
    frame["zones"] = _codes(frame, "kidx", keys["zones"])
    frame["ambiguous"] = _take(frame.pop("kidx").to_numpy(), keys["ambiguous"].fillna(False).to_numpy(bool), False)
    frame["zone"] = _codes(frame, "lidx", places["zone"])
    local = places["local_send_time"].to_numpy("datetime64[us]")
    frame["local_send_time"] = _take(frame.pop("lidx").to_numpy(), local, np.datetime64("NaT", "us"))
    bad = frame.pop("bad_timezone")
    detail = np.full(len(frame), None, dtype=object)
    rows = np.flatnonzero(bad.notna().to_numpy())  # a few leads: build their text only
    detail[rows] = [f"timezone '{b}' is not an IANA zone name (e.g. 'America/New_York')" for b in bad.iloc[rows]]
    frame["detail"] = detail
    _price(frame, spec, prices, live)
    return frame


def _take(idx: np.ndarray, values: np.ndarray, missing: Any) -> np.ndarray:
    out = np.full(len(idx), missing, dtype=values.dtype)
    ok = idx >= 0
    out[ok] = values[idx[ok]]
    return out


def _price(frame: pd.DataFrame, spec: PlanSpec, prices: pd.DataFrame, live: pd.Series) -> None:
    """Cost = price (per segment on SMS) of the lead's country; computed per country, not per lead."""
    table = prices[prices["channel"] == spec.channel]
    exact = table[table["category"] == spec.price_category].set_index("country")
    anyc = table[table["category"] == "*"].set_index("country")
    countries = pd.Series(frame["country"].cat.categories)
    price = countries.map(exact["price"]).astype(float).fillna(countries.map(anyc["price"]).astype(float)).to_numpy()
    currency = countries.map(exact["currency"]).astype(object).fillna(countries.map(anyc["currency"]).astype(object))
    codes = frame["country"].cat.codes.to_numpy()
    live_mask = live.to_numpy()
    per_lead = _take(codes, price, np.nan)
    units = frame["sms_segments"].to_numpy(float) if spec.channel == "sms" else 1.0
    frame["cost"] = np.where(live_mask, per_lead * units, np.nan)
    money = pd.Index(currency.dropna().unique())
    money_codes = _take(codes, money.get_indexer(currency), -1)
    frame["currency"] = pd.Categorical.from_codes(np.where(live_mask, money_codes, -1), categories=money)
    reasons = pd.Index([*(f"no price for {c} / {spec.channel} / {spec.price_category} in the price table"
                          for c in countries), "no country known for the number"])
    reason_codes = np.where(codes >= 0, codes, len(countries))
    missing = live_mask & np.isnan(per_lead)
    frame["cost_reason"] = pd.Categorical.from_codes(np.where(missing, reason_codes, -1), categories=reasons)


def _recount(frame: pd.DataFrame) -> None:
    """Exact segments for the few texts where a two-unit character may straddle a boundary."""
    inexact = frame.index[~frame.pop("exact").astype(bool)]
    if len(inexact):
        frame.loc[inexact, "sms_segments"] = [sms_segments(m).segments for m in frame.loc[inexact, "message"]]


def build_plan(con: duckdb.DuckDBPyConnection, spec: PlanSpec) -> DeliveryPlan:
    """The plan of ``spec.campaign_id`` on the mirror connection ``con`` (already refreshed)."""
    try:
        _base(con, spec, zone_cache.prepare(con))
        zone_cache.fill(con, "plan_base")
        keys, zkey = zone_cache.zone_keys(con, "plan_base")
        con.register("_plan_keys", keys)
        pairs = _timed(con, spec, keys, zkey)
        _limits.caps(con, spec)
        moved = _limits.tier(con, spec, keys)
        _limits.stale(con, spec)
        frame, source = _finish(con, spec, keys, pd.concat([pairs, moved]) if moved is not None else pairs)
    finally:
        for table in _TEMP:
            con.execute(f"DROP TABLE IF EXISTS {table}")
        con.unregister("_plan_keys")
    frame["send_at"] = pd.to_datetime(frame["send_at"]).dt.tz_localize("UTC")
    plan = DeliveryPlan(frame[PLAN_COLUMNS])
    plan.attrs.update(campaign_id=spec.campaign_id, now=spec.now, price_source=source)
    return plan
