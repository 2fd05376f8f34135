"""Build a campaign's delivery plan set-wise in DuckDB (on the analytics mirror of the store).

One table of lead size is made, ``plan_base``: the send path's skip reasons, the per-lead content
checks and the shown values (one JSON parse per lead). Then zones (:mod:`._zones`, cached per
person) and send moments per distinct zone key, computed in Python (:mod:`._spec`,
:mod:`._windows`); the limits (:mod:`._limits`) read the timed rows as one SQL relation and
leave small tables; the final query applies them and renders the message, SMS segments
(:mod:`._render`) in one pass, and cost is priced per country. Python work is per zone key or
per group of numbers, never per lead.
"""

from __future__ import annotations

import contextlib
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from campaign_sdk.delivery import _limits
from campaign_sdk.delivery._frame import PLAN_COLUMNS, DeliveryPlan
from campaign_sdk.delivery._render import (
    LeadTemplate,
    arm_sql,
    blank_sql,
    features_sql,
    literal_size,
    message_sql,
    reason_sql,
    segments_sql,
    shown_sql,
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
_TEMP = ("plan_base", "plan_zones", "_plan_phone", "_plan_deep", "_zone_new", "_zone_found", *_limits.TEMP)


# the detail of an invalid ``timezone`` value (SQL over the lead's ``tz_override``)
_BAD_ZONE = "concat('timezone ''', tz_override, ''' is not an IANA zone name (e.g. ''America/New_York'')')"


def _columns(spec: PlanSpec) -> dict[str, str]:
    """Each message key's shown value column in ``plan_base`` (:func:`shown_sql`)."""
    keys = dict.fromkeys(k for _, t in spec.templates for k in t.keys)
    return {k: f"s{i}" for i, k in enumerate(keys)}


def _base(con: duckdb.DuckDBPyConnection, spec: PlanSpec, cache: str) -> None:
    slots = spec.slots
    paths = "[" + ", ".join(f"'$.\"{k}\"'" for k in slots) + "]"
    raw = {k: f"r{i}" for i, k in enumerate(slots[:-1])}
    blank = {k: f"b{i}" for i, k in enumerate(slots[:-1])}
    checked = dict.fromkeys(k for _, t in spec.templates for k in (*t.required, *t.keys))
    # each value once; blank tested once per value, for both the checks and the shown value
    values = "".join(f", vals[{i + 1}] AS {raw[k]}" for i, k in enumerate(slots[:-1]))
    blanks = "".join(f", {blank_sql(raw[k])} AS {blank[k]}" for k in checked)
    shown = "".join(f", {shown_sql(k, raw[k], blank[k])} AS {c}" for k, c in _columns(spec).items())
    skip = arm_sql(spec.arms, "l.variant", lambda x: "NULL" if isinstance(x, LeadTemplate) else f"'{x}'")
    content = arm_sql(spec.templates, "variant", lambda t: reason_sql(t, raw, blank))
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE plan_base AS
        SELECT lead_id, user_id, phone, variant, place, tz_override {shown},
               coalesce(store_reason, {content}) AS store_reason
        FROM (SELECT * {blanks} FROM (
        SELECT lead_id, user_id, phone, variant, place, store_reason,
               nullif(trim(vals[{len(slots)}]), '') AS tz_override {values}
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
            WHERE l.campaign_id = $c)))
    """, {"c": spec.campaign_id})


def _rows(zkey: str) -> str:
    """SQL of the timed plan rows: every ``plan_base`` column, the zone key, the planned moment
    (``_plan_times``) and the reason so far. The limits and the final query read it as a
    relation: nothing of lead size is materialised after ``plan_base``."""
    return f"""SELECT b.*, t.zkey, t.send_at,
               CASE WHEN b.store_reason IS NOT NULL THEN b.store_reason
                    WHEN t.zkey IS NULL THEN 'invalid_number'
                    ELSE t.time_reason END AS reason
        FROM plan_base b
        LEFT JOIN _zone_overrides o ON o.name = b.tz_override
        LEFT JOIN _plan_times t ON t.zkey = {zkey.format(t="b")}"""


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


def _finish(con: duckdb.DuckDBPyConnection, spec: PlanSpec, keys: pd.DataFrame, pairs: pd.DataFrame,
            rows: str, params: dict[str, object]) -> tuple[pd.DataFrame, str]:
    countries = [c for c in keys["country"].dropna().unique().tolist()]
    prices, source = spec.prices(countries)
    places = _locals(keys, pairs)
    con.register("_plan_locals", places.assign(lidx=range(len(places)))[["zkey", "send_at", "lidx"]])
    con.register("_plan_kidx", pd.DataFrame({"zkey": keys["zkey"], "kidx": range(len(keys))}))
    cols = {k: f"r.{c}" for k, c in _columns(spec).items()}
    message = arm_sql(spec.templates, "r.variant", lambda t: message_sql(t, cols, shown=True))
    values = arm_sql(spec.templates, "r.variant", lambda t: values_sql(t, cols, shown=True))
    sizes = [arm_sql(spec.templates, "r.variant", lambda t, i=i: str(literal_size(t)[i]).lower()) for i in range(4)]
    is_gsm, chars, doubles = size_sql("vv", *(f"lit{i}" for i in range(4)))
    encoding, segments, exact = segments_sql("is_gsm", "chars", "doubles")
    skip = f"coalesce(r.reason IN {SKIPS}, false)"
    query = f"""
        WITH joined AS (
            SELECT r.lead_id, r.phone, r.variant, r.tz_override, r.reason, r.send_at, coalesce(k.kidx, -1) AS kidx,
                   {skip} AS skipped, CASE WHEN skipped THEN -1 ELSE coalesce(loc.lidx, -1) END AS lidx,
                   {message} AS message, {values} AS vv,
                   {", ".join(f"{x} AS lit{i}" for i, x in enumerate(sizes))}
            FROM ({rows}) r
            LEFT JOIN _plan_kidx k ON k.zkey = r.zkey
            LEFT JOIN _plan_locals loc ON loc.zkey = r.zkey AND loc.send_at = r.send_at),
        featured AS (SELECT *, {features_sql("vv")} FROM joined),
        sized AS (
            SELECT lead_id, phone, variant, reason, send_at, kidx, lidx, skipped,
                   CASE WHEN reason = 'invalid_timezone' THEN {_BAD_ZONE} END AS detail,
                   message, {is_gsm} AS is_gsm, {chars} AS chars, {doubles} AS doubles FROM featured)
        SELECT lead_id, phone AS phone_number, kidx, lidx, reason,
               CASE WHEN reason IN ('holdout', 'global_holdout') THEN 'holdout' WHEN skipped THEN 'skip'
                    WHEN send_at > $now THEN 'defer' ELSE 'send' END AS action, variant,
               CASE WHEN skipped THEN NULL ELSE send_at END AS send_at,
               CASE WHEN skipped THEN NULL ELSE {scheduler_sql("send_at", twilio=spec.twilio_scheduling, reason="reason")} END AS scheduler,
               message, {encoding} AS sms_encoding, {segments} AS sms_segments, {exact} AS exact,
               detail
        FROM sized
    """
    large = con.execute("SELECT current_setting('arrow_large_buffer_size')").fetchall()[0][0]
    con.execute("SET arrow_large_buffer_size = true")  # pandas' strings are large_string: no cast
    try:
        table = _by_lead(con.sql(query, params={"now": naive(spec.now), **params}).to_arrow_table())
    finally:
        con.execute(f"SET arrow_large_buffer_size = {bool(large)}")
    for name in ("_plan_locals", "_plan_kidx"):
        con.unregister(name)
    frame = table.to_pandas()
    _recount(frame)
    return _decorate(frame, spec, keys, places, prices), source


def _by_lead(table: pa.Table) -> pa.Table:
    """``table`` in lead order, without an ORDER BY that would make DuckDB sort the wide rows:
    DuckDB's threads return the rows in blocks (row groups), each in lead order, so the sorted
    table is those blocks in another order, put together from zero-copy slices. (Rows in no
    such order would be gathered one by one.)"""
    ids = table.column("lead_id").to_numpy()
    order = np.argsort(ids, kind="stable")  # a merge sort: quick on a few sorted runs
    rank = np.empty_like(order)
    rank[order] = np.arange(len(ids))
    starts = np.r_[0, np.flatnonzero(np.diff(rank) != 1) + 1]
    if len(starts) == 1:
        return table
    if len(starts) > 4096:
        return table.take(pa.array(order))
    ends = np.r_[starts[1:], len(ids)]
    return pa.concat_tables([table.slice(starts[i], ends[i] - starts[i]) for i in np.argsort(rank[starts])])


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
    views = ["_zone_overrides", "_plan_times", "_tier_moved"]
    try:
        _base(con, spec, zone_cache.prepare(con))
        zone_cache.fill(con, "plan_base")
        keys, zkey = zone_cache.zone_keys(con, "plan_base")
        times = moments(keys, spec)
        con.register("_plan_times", times[["zkey", "send_at", "time_reason"]])
        rows = _rows(zkey)
        if _limits.caps(con, spec, rows):
            rows = _limits.capped_step(rows)
        pairs = times[["zkey", "send_at"]]
        tiered = _limits.tier(con, spec, keys, rows)
        if tiered is not None:
            con.register("_tier_moved", tiered.moved)
            rows = _limits.tier_step(rows, tiered)
            pairs = pd.concat([pairs, tiered.moved[["zkey", "send_at"]]])
        rows, params = _limits.stale_step(spec, rows)
        frame, source = _finish(con, spec, keys, pairs, rows, params)
    finally:
        for table in _TEMP:
            con.execute(f"DROP TABLE IF EXISTS {table}")
        for view in views:
            with contextlib.suppress(duckdb.Error):
                con.unregister(view)
    frame["send_at"] = pd.to_datetime(frame["send_at"]).dt.tz_localize("UTC")
    plan = DeliveryPlan(frame[PLAN_COLUMNS])
    plan.attrs.update(campaign_id=spec.campaign_id, now=spec.now, price_source=source)
    return plan
