"""The plan's shown columns, from small tables: zone, country and local time per lead (by index
into the zone keys and the (zone key, moment) pairs), and the cost, priced per country."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from campaign_sdk.delivery._spec import PlanSpec


def _codes(frame: pd.DataFrame, column: str, values: pd.Series) -> pd.Categorical:
    """``values[frame[column]]`` (index -1: missing) as a Categorical, without a per-row lookup."""
    cats = pd.Index(values.dropna().unique())
    per_index = cats.get_indexer(values)  # -1 where the value is missing
    idx = frame[column].to_numpy()
    return pd.Categorical.from_codes(_take(idx, per_index, -1), categories=cats)


def decorate(frame: pd.DataFrame, spec: PlanSpec, keys: pd.DataFrame, places: pd.DataFrame,
             prices: pd.DataFrame) -> pd.DataFrame:
    """Zone, country and local-time columns from their small tables; prices and their reasons
    (``frame``'s ``live`` column, dropped: the lead is sent or deferred)."""
    live = frame.pop("live").to_numpy(bool)
    frame["country"] = _codes(frame, "kidx", keys["country"])
    frame["zones"] = _codes(frame, "kidx", keys["zones"])
    frame["ambiguous"] = _take(frame.pop("kidx").to_numpy(), keys["ambiguous"].fillna(False).to_numpy(bool), False)
    frame["zone"] = _codes(frame, "lidx", places["zone"])
    local = places["local_send_time"].to_numpy("datetime64[us]")
    frame["local_send_time"] = _take(frame.pop("lidx").to_numpy(), local, np.datetime64("NaT", "us"))
    _price(frame, spec, prices, live)
    return frame


def _take(idx: np.ndarray, values: np.ndarray, missing: Any) -> np.ndarray:
    """``values[idx]``, ``missing`` where ``idx`` is -1 (one gather: -1 picks the appended value)."""
    return np.append(values, np.array([missing], dtype=values.dtype))[idx]


def _price(frame: pd.DataFrame, spec: PlanSpec, prices: pd.DataFrame, live: np.ndarray) -> None:
    """Cost = price (per segment on SMS) of the lead's country; computed per country, not per lead."""
    table = prices[prices["channel"] == spec.channel]
    exact = table[table["category"] == spec.price_category].set_index("country")
    anyc = table[table["category"] == "*"].set_index("country")
    countries = pd.Series(frame["country"].cat.categories)
    price = countries.map(exact["price"]).astype(float).fillna(countries.map(anyc["price"]).astype(float)).to_numpy()
    currency = countries.map(exact["currency"]).astype(object).fillna(countries.map(anyc["currency"]).astype(object))
    codes = frame["country"].cat.codes.to_numpy()
    live_mask = live
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
