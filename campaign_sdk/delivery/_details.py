"""The plan's ``detail`` column: what exactly holds a lead back, for the reasons that need more
than their code (:mod:`._reasons`).

- ``frequency_cap``: which of the policy's caps the send would exceed (``1 per 24h``, whose policy
  it is) and when the person is free again: the first moment after the send moment at which every
  cap counts fewer than its limit of the messages known now (a cap's count only drops when a
  counted message leaves its window, so that moment is one of those departures). Computed in
  DuckDB for the capped leads only (``_plan_capped``, :func:`._limits.caps`), over their people's
  counted messages, and put in place by lead id (the plan's rows are in lead order).
- ``outside_service_window``: when the person's last inbound message before the send moment was
  and when their 24-hour customer-service window closed (or that there is none), and what to do
  (send an approved template): a SQL expression of the plan's final query (:func:`service_sql`).
- ``invalid_timezone``: what is wrong with the lead's ``timezone`` value (:func:`with_details`).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from campaign_sdk.delivery import _limits
from campaign_sdk.delivery._policy import FrequencyCap
from campaign_sdk.delivery._spec import US, PlanSpec, naive
from campaign_sdk.facts.delivery import OUTSIDE_SERVICE_WINDOW_ERROR, SERVICE_WINDOW

# a moment as the detail shows it (UTC, to the minute: rounded up, so never before the moment)
_SHOWN = "strftime(date_trunc('minute', {t} - INTERVAL 1 MICROSECOND) + INTERVAL 1 MINUTE, '%Y-%m-%d %H:%M UTC')"
# the detail of an invalid ``timezone`` value: the text before and after the value
_BAD_ZONE = ("timezone '", "' is not an IANA zone name (e.g. 'America/New_York')")


def span(per: dt.timedelta) -> str:
    """A cap's span as people write it.

    >>> span(dt.timedelta(hours=24)), span(dt.timedelta(days=7)), span(dt.timedelta(minutes=90))
    ('24h', '7d', '90m')
    """
    for unit, size in (("d", dt.timedelta(days=1)), ("h", dt.timedelta(hours=1)), ("m", dt.timedelta(minutes=1))):
        if per % size == dt.timedelta(0) and (unit != "d" or per >= 2 * size):
            return f"{per // size}{unit}"
    return f"{per.total_seconds():g}s"


def cap_name(cap: FrequencyCap) -> str:
    """``1 per 24h``."""
    return f"{cap.limit} per {span(cap.per)}"


def cap_details(con: duckdb.DuckDBPyConnection, spec: PlanSpec) -> pa.Table | None:
    """``lead_id, detail`` (in lead order) of the leads :func:`._limits.caps` capped: the caps
    they would exceed, whose policy (``spec.policy_source``) and when they are free again; None
    when no lead is capped."""
    chosen = spec.policy.caps_for(spec.category)
    if not chosen or not _limits.exists(con, "_plan_capped"):
        return None
    if not con.execute("SELECT count(*) FROM _plan_capped").fetchall()[0][0]:
        return None
    counted, own, condition = _limits.counted_messages(spec, _limits.exists(con, "_plan_held"))
    # the caps the send would exceed, and the candidates for the free moment: each counted
    # message's departure from each cap's window; free: every cap then counts fewer than its
    # limit (the lead's own message is the one more)
    hits = [f"len(list_filter(ts, lambda y: {_limits.within(cap, 'send_at', 'y')})) >= {cap.limit}" for cap in chosen]
    micros = [f"to_microseconds({cap.per // US})" for cap in chosen]
    departures = "flatten([" + ", ".join(f"list_transform(ts, lambda x: x + {p})" for p in micros) + "])"
    free = " AND ".join(f"len(list_filter(ts, lambda y: {_limits.within(cap, 'moment', 'y')})) < {cap.limit}"
                        for cap in chosen)
    names = ", ".join(f"CASE WHEN hit{i} THEN '{cap_name(cap)}' END" for i, cap in enumerate(chosen))
    text = f"""'cap' || CASE WHEN {" + ".join(f"hit{i}::INT" for i in range(len(chosen)))} > 1 THEN 's ' ELSE ' ' END
               || concat_ws(' and ', {names}) || ' reached ({_quoted(spec.policy_source)}): the person is free again from '
               || coalesce({_SHOWN.format(t="free_at")}, 'an unknown moment') || '; send to them again from then'"""
    found = con.sql(f"""
        SELECT lead_id, ({text})::VARCHAR AS detail FROM (
            SELECT lead_id, {", ".join(f"{hit} AS hit{i}" for i, hit in enumerate(hits))},
                   list_min(list_filter({departures}, lambda moment: moment > send_at AND {free})) AS free_at
            FROM (SELECT r.lead_id, r.send_at, list(m.t) AS ts
                  FROM _plan_capped r JOIN {counted} m ON m.user_id = r.user_id {own}
                  WHERE true {condition} GROUP BY r.lead_id, r.send_at))
        ORDER BY lead_id
    """, params={"since": naive(spec.now - max(cap.per for cap in chosen))}).to_arrow_table()
    return found if len(found) else None


def _quoted(text: str) -> str:
    """``text`` inside a SQL string literal."""
    return text.replace("'", "''")


def service_sql(spec: PlanSpec) -> tuple[str, str] | None:
    """The ``outside_service_window`` detail of a plan row ``r`` (``user_id``, ``send_at``,
    ``reason``) as SQL, and the join it reads (the person's last inbound message at or before the
    send moment); None when no message is free-form (no lead gets that reason)."""
    if not spec.freeform:
        return None
    hours = SERVICE_WINDOW // dt.timedelta(hours=1)
    what = f"a free-form WhatsApp message fails outside it ({OUTSIDE_SERVICE_WINDOW_ERROR}): send an approved template instead"
    closed = _SHOWN.format(t=f"q.received_at + to_microseconds({SERVICE_WINDOW // US})")
    detail = f"""CASE WHEN r.reason = 'outside_service_window' THEN
                   CASE WHEN q.received_at IS NULL
                        THEN 'no message from the person on record, so no {hours}-hour customer-service window is open; {what}'
                        ELSE 'their last message was at ' || {_SHOWN.format(t="q.received_at")} || '; their {hours}-hour '
                             || 'customer-service window closed at ' || {closed} || ', before the send moment; {what}'
                   END END"""
    join = "ASOF LEFT JOIN replies q ON q.user_id = r.user_id AND r.send_at >= q.received_at"
    return detail, join


def with_details(table: pa.Table, caps: pa.Table | None) -> pa.Table:
    """``table`` (the plan's rows in lead order, with ``reason``, ``tz_override`` and possibly
    ``detail`` from :func:`service_sql`) with ``detail`` for an invalid ``timezone`` value and
    for the capped leads (``caps``: :func:`cap_details`), put in place in one pass over the
    column; ``tz_override`` dropped."""
    zone = table.column("tz_override")
    at = table.schema.get_field_index("detail")
    detail = table.column(at).combine_chunks().cast(zone.type) if at >= 0 else pa.nulls(len(table), zone.type)
    places, texts = [], []
    bad = pc.fill_null(pc.equal(table.column("reason"), "invalid_timezone"), False).combine_chunks()
    if pc.any(bad).as_py():  # the text is made for those leads only
        values = pc.filter(zone, bad).combine_chunks()  # a few values: the column is not copied whole
        places.append(np.flatnonzero(bad.to_numpy(zero_copy_only=False)))
        texts.append(pc.binary_join_element_wise(*(pa.scalar(p, zone.type) for p in _BAD_ZONE[:1]), values,
                                                 *(pa.scalar(p, zone.type) for p in _BAD_ZONE[1:]),
                                                 pa.scalar("", zone.type), null_handling="replace", null_replacement=""))
    if caps is not None and len(table):  # by lead id: both in lead order
        ids, capped = table.column("lead_id").to_numpy(), caps.column("lead_id").to_numpy()
        where = np.minimum(np.searchsorted(ids, capped), len(ids) - 1)
        found = ids[where] == capped
        places.append(where[found])
        texts.append(pc.filter(caps.column("detail"), pa.array(found)).combine_chunks().cast(zone.type))
    if places:
        where = np.concatenate(places)
        order = np.argsort(where, kind="stable")
        mask = np.zeros(len(table), bool)
        mask[where] = True
        detail = pc.replace_with_mask(detail, pa.array(mask), pa.concat_arrays(texts).take(pa.array(order)))
    table = table.drop_columns(["tz_override"])
    if at >= 0:
        return table.set_column(table.schema.get_field_index("detail"), "detail", detail)
    return table.append_column("detail", detail)
