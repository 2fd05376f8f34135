"""The plan's shown columns, from small tables: zone, country and local time per lead (by index
into the zone keys and the (zone key, moment) pairs), and the cost, priced per country (on
WhatsApp by the category Meta bills: nothing for a non-template message, nor for a utility
template inside the person's customer-service window)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from campaign_sdk.delivery._spec import IN_SERVICE_WINDOW, PlanSpec
from campaign_sdk.facts.delivery import (
    WHATSAPP_FREE_IN_SERVICE_WINDOW,
    WHATSAPP_NON_TEMPLATE_CATEGORY,
)

_FREE_REASON = {
    True: "billed as service: Meta bills nothing for a non-template message",
    False: "billed as service: Meta bills nothing for a utility template inside the customer-service window",
}


def free_sql(spec: PlanSpec) -> str | None:
    """The SQL test (on a plan row ``r``: ``user_id``, ``send_at``) of a message Meta bills as a
    ``service`` message: every free-form one (sent only inside the window), and a utility template
    arriving inside the person's 24-hour customer-service window (their latest inbound message
    at most 24 h before ``send_at``); None where no message is (SMS, marketing, authentication)."""
    if spec.channel != "whatsapp":
        return None
    if spec.freeform:
        return "true"
    if spec.price_category not in WHATSAPP_FREE_IN_SERVICE_WINDOW:
        return None
    return IN_SERVICE_WINDOW


def _codes(frame: pd.DataFrame, column: str, values: pd.Series) -> pd.Categorical:
    """``values[frame[column]]`` (index -1: missing) as a Categorical, without a per-row lookup."""
    cats = pd.Index(values.dropna().unique())
    per_index = cats.get_indexer(values)  # -1 where the value is missing
    idx = frame[column].to_numpy()
    return pd.Categorical.from_codes(gather(idx, per_index, -1), categories=cats)


def decorate(frame: pd.DataFrame, spec: PlanSpec, keys: pd.DataFrame, places: pd.DataFrame,
             prices: pd.DataFrame) -> pd.DataFrame:
    """Zone, country and local-time columns from their small tables; prices and their reasons
    (``frame``'s ``live`` column, dropped: the lead is sent or deferred)."""
    live = frame.pop("live").to_numpy(bool)
    frame["country"] = _codes(frame, "kidx", keys["country"])
    frame["zones"] = _codes(frame, "kidx", keys["zones"])
    frame["ambiguous"] = gather(frame.pop("kidx").to_numpy(), keys["ambiguous"].fillna(False).to_numpy(bool), False)
    frame["zone"] = _codes(frame, "lidx", places["zone"])
    local = places["local_send_time"].to_numpy("datetime64[us]")
    frame["local_send_time"] = gather(frame.pop("lidx").to_numpy(), local, np.datetime64("NaT", "us"))
    _price(frame, spec, prices, live)
    return frame


def gather(idx: np.ndarray, values: np.ndarray, missing: Any) -> np.ndarray:
    """``values[idx]``, ``missing`` where ``idx`` is -1 (one gather: -1 picks the appended value)."""
    return np.append(values, np.array([missing], dtype=values.dtype))[idx]


def _price(frame: pd.DataFrame, spec: PlanSpec, prices: pd.DataFrame, live: np.ndarray) -> None:
    """Cost = price (per segment on SMS) of the lead's country; computed per country, not per lead.
    A WhatsApp message Meta bills as ``service`` (``frame``'s ``free`` column, dropped) costs the
    table's ``service`` price of the country, nothing where the table has none."""
    free = frame.pop("free").to_numpy(bool) if "free" in frame.columns else np.zeros(len(frame), bool)
    table = prices[prices["channel"] == spec.channel]
    exact = table[table["category"] == spec.price_category].set_index("country")
    anyc = table[table["category"] == "*"].set_index("country")
    service = table[table["category"] == WHATSAPP_NON_TEMPLATE_CATEGORY].set_index("country")
    countries = pd.Series(frame["country"].cat.categories)
    price = countries.map(exact["price"]).astype(float).fillna(countries.map(anyc["price"]).astype(float)).to_numpy()
    currency = countries.map(exact["currency"]).astype(object).fillna(countries.map(anyc["currency"]).astype(object))
    free_price = countries.map(service["price"]).astype(float).fillna(0.0).to_numpy()
    codes = frame["country"].cat.codes.to_numpy()
    some_free = bool(free.any())  # else the free prices and currencies are not gathered at all
    per_lead = gather(codes, price, np.nan)
    if some_free:
        per_lead = np.where(free & (codes >= 0), gather(codes, free_price, np.nan), per_lead)
    units = frame["sms_segments"].to_numpy(float) if spec.channel == "sms" else 1.0
    frame["cost"] = np.where(live, per_lead * units, np.nan)
    free_currency = countries.map(service["currency"]).astype(object).fillna(currency)
    money = pd.Index(pd.concat([currency, free_currency[free_price > 0]]).dropna().unique())
    money_codes = gather(codes, money.get_indexer(currency), -1)
    if some_free:
        money_codes = np.where(free, gather(codes, money.get_indexer(free_currency), -1), money_codes)
    frame["currency"] = pd.Categorical.from_codes(np.where(live, money_codes, -1), categories=money)
    # a table's ``note`` (Twilio's: an assumed sender type, why there is no price) is its leads' reason
    notes = countries.map(anyc["note"]) if "note" in anyc.columns else pd.Series(None, index=countries.index)
    reasons = pd.Index([*(n if isinstance(n, str) else
                          f"no price for {c} / {spec.channel} / {spec.price_category} in the price table"
                          for c, n in zip(countries, notes, strict=True)),
                        "no country known for the number", _FREE_REASON[spec.freeform]])
    reason_codes = np.where(codes >= 0, codes, len(countries))
    missing = live & np.isnan(per_lead)
    noted = gather(codes, notes.map(lambda n: isinstance(n, str)).to_numpy(bool), False)
    reason_codes = np.where(free & ~missing, len(countries) + 1, np.where(missing | noted, reason_codes, -1))
    unique = reasons.unique()  # one note may be every country's
    reason_codes = gather(reason_codes, unique.get_indexer(reasons), -1)
    frame["cost_reason"] = pd.Categorical.from_codes(np.where(live, reason_codes, -1), categories=unique)
