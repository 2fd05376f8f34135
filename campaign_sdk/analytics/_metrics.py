"""Metrics, lead facts, funnel and reply times as DataFrames, computed by DuckDB on the mirror."""

from __future__ import annotations

import datetime as dt
import numbers
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeAlias

import duckdb
import pandas as pd
import sqlalchemy as sa

from campaign_sdk._enums import LeadStatus, MessageStatus
from campaign_sdk._exceptions import AnalyticsError
from campaign_sdk.analytics import _definitions as d
from campaign_sdk.analytics._mirror import VIEWS, mirror_for
from campaign_sdk.analytics._stats import wilson_interval
from campaign_sdk.models import DeferredSend

Window: TypeAlias = str | dt.timedelta | pd.Timedelta
Moment: TypeAlias = str | dt.datetime | dt.date | pd.Timestamp | None

_WINDOW = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(d|h|m|s|w)\s*$", re.IGNORECASE)
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
_METRIC_TABLES = ("campaigns", "leads", "messages", "replies", "conversions")
_RESERVED = {"campaign_id", "campaign", "metric", "value", "numerator", "denominator", "low", "high",
             "top_errors", *d.COUNTS, *d.RATES}
TOP_ERRORS = 3


def parse_window(window: Window) -> dt.timedelta:
    """``"7d"``, ``"36h"``, ``"2w"``, ``"90m"``, ``"30s"`` or a timedelta -> timedelta (> 0).

    >>> parse_window("36h")
    datetime.timedelta(days=1, seconds=43200)
    """
    if isinstance(window, str):
        match = _WINDOW.match(window)
        if match is None:
            raise AnalyticsError(
                f"window {window!r} is not understood; write it like '7d', '36h', '2w', '90m' "
                "or pass a datetime.timedelta"
            )
        window = dt.timedelta(**{_UNITS[match.group(2).lower()]: float(match.group(1))})
    if isinstance(window, numbers.Number):  # pandas would read it as nanoseconds
        raise AnalyticsError(
            f"window {window!r} has no unit; write it like '24h', '7d', '90m' or pass a datetime.timedelta"
            f" (for {window!r} seconds: '{window}s')"
        )
    try:
        window = pd.Timedelta(window).to_pytimedelta()
    except (TypeError, ValueError):
        raise AnalyticsError(f"window {window!r} is not a duration; write it like '7d'") from None
    if window <= dt.timedelta(0):
        raise AnalyticsError(f"a window must be positive, got {window}")
    return window


def _micros(window: Window) -> int:
    return parse_window(window) // dt.timedelta(microseconds=1)


def _moment(value: Moment, name: str) -> dt.datetime | None:
    """A period bound as naive UTC (naive input is taken as UTC)."""
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise AnalyticsError(f"{name}={value!r} is not a date or time; write it like '2026-01-31'") from None
    if stamp is pd.NaT:
        raise AnalyticsError(f"{name} must be a date or time, not NaT")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.to_pydatetime()


def _group(by: str | None) -> str | None:
    if by is None:
        return None
    if not isinstance(by, str) or not by.strip():
        raise AnalyticsError(
            f"by={by!r} is not a group; use 'day', 'week', 'campaign_type', 'variant' or a custom variable name"
        )
    if by in _RESERVED:
        raise AnalyticsError(f"by={by!r} is the name of a metrics column; rename that custom variable")
    if '"' in by or "\\" in by:
        raise AnalyticsError(f"by={by!r}: a custom variable name cannot contain quotes or backslashes")
    return by


def _run(
    sql: str, params: Mapping[str, Any], tables: Iterable[str] = _METRIC_TABLES, *, engine: sa.Engine
) -> pd.DataFrame:
    used = {k: v for k, v in params.items() if f"${k}" in sql}
    with mirror_for(engine).reading(tables) as con:
        return con.execute(sql, used).df()


def _params(
    campaign_ids: Iterable[int] | None, reply_window: Window, attribution_window: Window,
    start: Moment = None, end: Moment = None, by: str | None = None,
) -> dict[str, Any]:
    ids = None if campaign_ids is None else [int(i) for i in campaign_ids]
    return {
        "campaign_ids": ids,
        "reply_us": _micros(reply_window),
        "attribution_us": _micros(attribution_window),
        "start": _moment(start, "start"),
        "end": _moment(end, "end"),
        "group_path": None if by is None else f'$."{by}"',
    }


def campaign_metrics(
    engine: sa.Engine,
    *,
    campaign_ids: Iterable[int] | None = None,
    by: str | None = None,
    reply_window: Window = d.DEFAULT_WINDOW,
    attribution_window: Window = d.DEFAULT_WINDOW,
    start: Moment = None,
    end: Moment = None,
) -> pd.DataFrame:
    """Counts and rates per campaign (x ``by`` group), every rate with its 95% Wilson interval
    (``<rate>_low`` / ``<rate>_high``) and ``top_errors``. One pass over the mirror."""
    by = _group(by)
    params = _params(campaign_ids, reply_window, attribution_window, start, end, by)
    if params["start"] and params["end"] and params["start"] >= params["end"]:
        raise AnalyticsError(f"start ({params['start']}) must be before end ({params['end']})")
    facts = d.lead_facts_sql(
        campaigns=params["campaign_ids"] is not None,
        period=params["start"] is not None or params["end"] is not None,
    )
    counts = _run(d.counts_sql(facts, by), params, engine=engine)
    wide = add_rates(counts.drop(columns="errors").rename(columns={"grp": by} if by else {}))
    wide["top_errors"] = [_top_errors(e) for e in counts["errors"]]
    return wide


def _top_errors(errors: Any) -> str | None:
    """``"63016: 12, 30008: 5"``: the most frequent error codes of not-received leads."""
    if not isinstance(errors, Mapping) or not errors:
        return None
    ranked = sorted(errors.items(), key=lambda item: (-item[1], item[0]))[:TOP_ERRORS]
    return ", ".join(f"{int(code)}: {int(n)}" for code, n in ranked)


def add_rates(counts: pd.DataFrame) -> pd.DataFrame:
    """Add every rate in :data:`RATES` (percent; NaN for a zero denominator) and its interval."""
    frame = counts.copy()
    for column in d.COUNTS:
        frame[column] = frame[column].astype("int64")
    for rate, (numerator, denominator) in d.RATES.items():
        n = frame[denominator].astype("float64")
        frame[rate] = (frame[numerator] / n.where(n > 0)) * 100
        frame[f"{rate}_low"], frame[f"{rate}_high"] = wilson_interval(frame[numerator], frame[denominator])
    return frame


def to_long(wide: pd.DataFrame, id_columns: Iterable[str] | None = None) -> pd.DataFrame:
    """Tidy form: one row per campaign x group x metric with value, numerator, denominator,
    low and high (counts have only a value)."""
    derived = {*d.COUNTS, *d.RATES, "top_errors"} | {f"{r}_{s}" for r in d.RATES for s in ("low", "high")}
    ids = list(id_columns) if id_columns is not None else [c for c in wide.columns if c not in derived]
    rows = [wide[ids].assign(metric=count, value=wide[count].astype("float64")) for count in d.COUNTS]
    for rate, (numerator, denominator) in d.RATES.items():
        rows.append(
            wide[ids].assign(
                metric=rate, value=wide[rate], numerator=wide[numerator].astype("float64"),
                denominator=wide[denominator].astype("float64"), low=wide[f"{rate}_low"],
                high=wide[f"{rate}_high"],
            )
        )
    columns = [*ids, "metric", "value", "numerator", "denominator", "low", "high"]
    return pd.concat(rows, ignore_index=True).reindex(columns=columns)


def lead_facts(
    engine: sa.Engine,
    *,
    campaign_ids: Iterable[int] | None = None,
    reply_window: Window = d.DEFAULT_WINDOW,
    attribution_window: Window = d.DEFAULT_WINDOW,
) -> pd.DataFrame:
    """One row per (not removed) lead with its message, funnel flags, phone number,
    ``lead_status`` (:class:`~campaign_sdk.LeadStatus`: pending, skipped, deferred, scheduled,
    queued, sent, delivered, read, replied, not_received, opted_out) and what explains a lead
    without a message yet: ``reason`` (deferred: quiet_hours, scheduled, messaging_tier; skipped:
    expired, frequency_cap, ...), ``due_at`` (deferred: when the worker sends it; scheduled: the
    SendAt Twilio holds it for) and ``skipped_at``. Times are naive UTC."""
    params = _params(campaign_ids, reply_window, attribution_window)
    facts = d.lead_facts_sql(campaigns=params["campaign_ids"] is not None)
    sql = f"""
SELECT f.*, u.phone_number, u.opted_out_at AS user_opted_out_at
FROM ({facts}) f LEFT JOIN users u ON u.id = f.user_id
ORDER BY f.lead_id
"""
    frame = _run(sql, params, (*_METRIC_TABLES, "users"), engine=engine)
    frame = frame.merge(_held(engine, params["campaign_ids"]), on="lead_id", how="left")
    frame["lead_status"] = _lead_status(frame)
    return _explained(frame)


def _held(engine: sa.Engine, campaign_ids: list[int] | None) -> pd.DataFrame:
    """The leads the local worker holds (``deferred_sends``, read from the store: the worker's
    working table is not mirrored) with ``held_until`` (naive UTC) and ``held_for`` (the reason)."""
    table = DeferredSend.__table__
    query = sa.select(table.c.lead_id, table.c.due_at, table.c.reason)
    chunks = [None] if campaign_ids is None else [campaign_ids[i:i + 900] for i in range(0, len(campaign_ids), 900)]
    rows: list[Any] = []
    with engine.connect() as connection:
        for chunk in chunks:
            rows += connection.execute(query if chunk is None else query.where(table.c.campaign_id.in_(chunk))).all()
    held = pd.DataFrame(rows, columns=["lead_id", "held_until", "held_for"])
    held["lead_id"] = held["lead_id"].astype("int64")
    held["held_until"] = pd.to_datetime(held["held_until"], utc=True).dt.tz_localize(None).astype("datetime64[us]")
    return held.astype({"held_for": "object"})


def _lead_status(frame: pd.DataFrame) -> pd.Series:
    """See :class:`~campaign_sdk.LeadStatus`: each step below overrides the ones before."""
    message = frame["message_status"]
    live = message.notna() & (message != MessageStatus.CANCELED.value)  # a canceled message freed its lead
    status = pd.Series(LeadStatus.PENDING.value, index=frame.index, dtype="object")
    # a drop the lead's (canceled) message came after is superseded by it
    skipped = frame["skip_reason"].notna() & (frame["sent_at"].isna() | (frame["skipped_at"] >= frame["sent_at"]))
    status[skipped.to_numpy()] = LeadStatus.SKIPPED.value
    status[frame["held_until"].notna().to_numpy()] = LeadStatus.DEFERRED.value
    status[live.to_numpy()] = LeadStatus.QUEUED.value
    status[(message == MessageStatus.SCHEDULED.value).to_numpy()] = LeadStatus.SCHEDULED.value
    for flag, value in (
        ("is_sent", LeadStatus.SENT),
        ("is_delivered", LeadStatus.DELIVERED),
        ("is_read", LeadStatus.READ),
        ("is_not_received", LeadStatus.NOT_RECEIVED),
        ("is_replied", LeadStatus.REPLIED),
    ):
        status[frame[flag].astype(bool).to_numpy()] = value.value
    opted_out = frame["is_opted_out"].astype(bool) | frame["user_opted_out_at"].notna()
    status[opted_out.to_numpy()] = LeadStatus.OPTED_OUT.value
    return status


def _explained(frame: pd.DataFrame) -> pd.DataFrame:
    """``reason``, ``due_at`` and ``skipped_at`` of the deferred, scheduled and skipped leads
    (missing for the others), in place of the stored marks they come from."""
    status = frame["lead_status"]
    deferred, skipped = status == LeadStatus.DEFERRED.value, status == LeadStatus.SKIPPED.value
    scheduled = status == LeadStatus.SCHEDULED.value
    frame["reason"] = frame["held_for"].where(deferred, frame["skip_reason"].where(skipped)).astype("object")
    frame["due_at"] = frame["held_until"].where(deferred, frame["scheduled_for"].where(scheduled))
    frame["skipped_at"] = frame["skipped_at"].where(skipped)
    frame["reason"] = frame["reason"].where(frame["reason"].notna(), None)
    return frame.drop(columns=["held_until", "held_for", "skip_reason"])


def funnel(
    engine: sa.Engine,
    *,
    campaign_ids: Iterable[int] | None = None,
    reply_window: Window = d.DEFAULT_WINDOW,
    attribution_window: Window = d.DEFAULT_WINDOW,
    by: str | None = None,
) -> pd.DataFrame:
    """sent -> delivered -> read -> replied -> converted per campaign (x ``by`` group, e.g.
    ``"variant"``, as in :func:`campaign_metrics`): ``leads`` at each step,
    ``step_rate`` (% of the step before; sent: % of total_leads) with its Wilson interval, and
    ``rate_of_sent``. Replies and conversions do not need a read receipt, so their step rate
    may exceed 100 (then it has no interval)."""
    wide = campaign_metrics(
        engine, campaign_ids=campaign_ids, reply_window=reply_window, attribution_window=attribution_window, by=by
    )
    ids = ["campaign_id", "campaign", *([by] if by else [])]
    rows = []
    for _, row in wide.iterrows():
        previous = int(row["total_leads"])
        for step, column in d.FUNNEL.items():
            leads = int(row[column])
            rows.append({**{k: row[k] for k in ids}, "step": step,
                         "leads": leads, "previous": previous, "sent": int(row["messages_sent"])})
            previous = leads
    frame = pd.DataFrame(rows, columns=[*ids, "step", "leads", "previous", "sent"])
    prev = frame["previous"].astype("float64")
    frame["step_rate"] = frame["leads"] / prev.where(prev > 0) * 100
    low, high = wilson_interval(frame["leads"].clip(upper=frame["previous"]), frame["previous"])
    valid = frame["leads"] <= frame["previous"]
    frame["step_rate_low"], frame["step_rate_high"] = low.where(valid), high.where(valid)
    sent = frame["sent"].astype("float64")
    frame["rate_of_sent"] = frame["leads"] / sent.where(sent > 0) * 100
    return frame.drop(columns=["previous", "sent"])


def reply_times(
    engine: sa.Engine, *, campaign_ids: Iterable[int] | None = None, reply_window: Window = d.DEFAULT_WINDOW
) -> pd.DataFrame:
    """One row per replied lead: the touch its first reply is attributed to (``touched_at``),
    ``first_reply_at`` and ``time_to_reply``. ``describe()`` it or plot its histogram."""
    params = _params(campaign_ids, reply_window, d.DEFAULT_WINDOW)
    facts = d.lead_facts_sql(campaigns=params["campaign_ids"] is not None)
    sql = f"""
SELECT f.campaign_id, c.name AS campaign, f.lead_id, f.user_id, f.variant, f.replied_touch_at AS touched_at,
       f.first_reply_at, f.first_reply_at - f.replied_touch_at AS time_to_reply
FROM ({facts}) f JOIN campaigns c ON c.id = f.campaign_id
WHERE f.is_replied
ORDER BY f.campaign_id, time_to_reply, f.lead_id
"""
    frame = _run(sql, params, engine=engine)
    frame["time_to_reply"] = pd.to_timedelta(frame["time_to_reply"])
    return frame


def sql(engine: sa.Engine, query: str, params: Mapping[str, Any] | Sequence[Any] | None = None) -> duckdb.DuckDBPyRelation:
    """A DuckDB relation for ``query`` over the views campaigns, users, leads, messages,
    replies and conversions (refreshed first); compose it further or call ``.df()``."""
    mirror = mirror_for(engine)
    with mirror.reading(tuple(VIEWS)) as con:
        return con.cursor().sql(query, params=params)
