"""Campaign metrics computed through DuckDB over the store (definitions in ``_definitions``)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

import duckdb
import pandas as pd
import sqlalchemy as sa

from campaign_sdk._enums import LeadStatus
from campaign_sdk.analytics._definitions import CAMPAIGN_COUNTS_SQL, LEAD_FACTS_SQL, RATES
from campaign_sdk.analytics._stats import wilson_interval
from campaign_sdk.analytics._store import load_store

__all__ = ["RATES", "campaign_metrics", "lead_facts", "parse_window", "to_long", "wilson_interval"]

_WINDOW = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(d|h|m|s|w)\s*$", re.IGNORECASE)
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_window(window: str | dt.timedelta | pd.Timedelta) -> dt.timedelta:
    """``"7d"``, ``"36h"``, ``"2w"``, ``"90m"`` or a timedelta -> timedelta (must be positive)."""
    if isinstance(window, str):
        match = _WINDOW.match(window)
        if match is None:
            raise ValueError(
                f"window {window!r} is not understood; write it like '7d', '36h', '2w' or '90m'"
            )
        window = dt.timedelta(**{_UNITS[match.group(2).lower()]: float(match.group(1))})
    window = pd.Timedelta(window).to_pytimedelta()
    if window <= dt.timedelta(0):
        raise ValueError(f"a window must be positive, got {window}")
    return window


def _facts(
    con: duckdb.DuckDBPyConnection, reply_window: dt.timedelta, attribution_window: dt.timedelta
) -> duckdb.DuckDBPyRelation:
    return con.sql(
        LEAD_FACTS_SQL.replace("$reply_window", f"INTERVAL '{reply_window.total_seconds()} seconds'")
        .replace("$attribution_window", f"INTERVAL '{attribution_window.total_seconds()} seconds'")
    )


def _connect(engine: sa.Engine) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    load_store(engine, con)
    return con


def lead_facts(
    engine: sa.Engine,
    *,
    campaign_ids: Iterable[int] | None = None,
    reply_window: str | dt.timedelta = "7d",
    attribution_window: str | dt.timedelta = "7d",
) -> pd.DataFrame:
    """One row per (not removed) lead with its message status and funnel flags, plus
    ``lead_status`` (pending, queued, sent, delivered, read, replied, not_received, opted_out)."""
    con = _connect(engine)
    try:
        facts = _facts(con, parse_window(reply_window), parse_window(attribution_window))
        frame = facts.df()
    finally:
        con.close()
    if campaign_ids is not None:
        frame = frame[frame["campaign_id"].isin(list(campaign_ids))]
    frame = frame.sort_values("lead_id").reset_index(drop=True)
    frame["lead_status"] = _lead_status(frame)
    return frame


def _lead_status(frame: pd.DataFrame) -> pd.Series:
    status = pd.Series(LeadStatus.PENDING.value, index=frame.index, dtype="object")
    message = frame["message_status"].astype("object")
    status[message.notna()] = LeadStatus.QUEUED.value
    for flag, value in (
        ("is_sent", LeadStatus.SENT),
        ("is_delivered", LeadStatus.DELIVERED),
        ("is_read", LeadStatus.READ),
        ("is_not_received", LeadStatus.NOT_RECEIVED),
        ("is_replied", LeadStatus.REPLIED),
    ):
        status[frame[flag].astype(bool)] = value.value
    opted_out = frame["is_opted_out"].astype(bool) | frame["user_opted_out_at"].notna()
    status[opted_out] = LeadStatus.OPTED_OUT.value
    return status


def campaign_metrics(
    engine: sa.Engine,
    *,
    campaign_ids: Iterable[int] | None = None,
    reply_window: str | dt.timedelta = "7d",
    attribution_window: str | dt.timedelta = "7d",
) -> pd.DataFrame:
    """Counts and rates per campaign, every rate with numerator, denominator and a 95% Wilson
    interval (``<rate>_low`` / ``<rate>_high``). One pass over the store for all campaigns."""
    con = _connect(engine)
    try:
        facts = _facts(con, parse_window(reply_window), parse_window(attribution_window))
        con.register("lead_facts", facts)
        frame = con.sql(CAMPAIGN_COUNTS_SQL).df()
    finally:
        con.close()
    if campaign_ids is not None:
        frame = frame[frame["campaign_id"].isin(list(campaign_ids))].reset_index(drop=True)
    return add_rates(frame)


def add_rates(counts: pd.DataFrame) -> pd.DataFrame:
    """Add every rate in :data:`RATES` (percent; NaN for a zero denominator) and its interval."""
    frame = counts.copy()
    for column in frame.columns:
        if column not in ("campaign_id", "campaign") and pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].astype("int64")
    for rate, (numerator, denominator) in RATES.items():
        n = frame[denominator].astype("float64")
        frame[rate] = (frame[numerator] / n.where(n > 0)) * 100
        frame[f"{rate}_low"], frame[f"{rate}_high"] = wilson_interval(
            frame[numerator], frame[denominator]
        )
    return frame


def to_long(wide: pd.DataFrame, id_columns: Iterable[str] = ("campaign_id", "campaign")) -> pd.DataFrame:
    """Tidy form: one row per campaign x metric with value, numerator, denominator, low, high."""
    ids = [c for c in id_columns if c in wide.columns]
    rows = []
    counts = [c for c in wide.columns if c not in ids and not c.endswith(("_low", "_high")) and c not in RATES]
    for metric in counts:
        rows.append(wide[ids].assign(metric=metric, value=wide[metric].astype("float64")))
    for rate, (numerator, denominator) in RATES.items():
        rows.append(
            wide[ids].assign(
                metric=rate,
                value=wide[rate],
                numerator=wide[numerator].astype("float64"),
                denominator=wide[denominator].astype("float64"),
                low=wide[f"{rate}_low"],
                high=wide[f"{rate}_high"],
            )
        )
    return pd.concat(rows, ignore_index=True)
