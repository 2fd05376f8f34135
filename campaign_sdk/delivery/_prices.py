"""Price tables a user passes: country x channel x category -> price per message (per segment on SMS).

>>> price_table([{"country": "US", "channel": "sms", "price": 0.0079, "currency": "usd"}])
  country channel category   price currency
0      US     sms        *  0.0079      USD
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import pandas as pd
import phonenumbers

from campaign_sdk._exceptions import DeliveryPolicyError
from campaign_sdk.gateways._pricing import PRICE_COLUMNS

PriceInput: TypeAlias = pd.DataFrame | Sequence[Mapping[str, Any]]
ANY = "*"


def price_table(data: PriceInput) -> pd.DataFrame:
    """Check and normalise a price table (a DataFrame or a list of dicts) with the columns
    ``country`` (ISO region), ``channel`` (sms / whatsapp / ...), ``price``, ``currency`` and,
    optionally, ``category`` (marketing / utility / service ...; missing or ``*``: any). Every
    bad row is reported at once."""
    frame = pd.DataFrame(data).copy() if not isinstance(data, pd.DataFrame) else data.copy()
    missing = [c for c in ("country", "channel", "price", "currency") if c not in frame.columns]
    if missing:
        raise DeliveryPolicyError(
            f"the price table lacks the column(s) {missing}; it needs country, channel, price, "
            "currency (and optionally category), one row per country x channel x category"
        )
    if "category" not in frame.columns:
        frame["category"] = ANY
    frame = frame[PRICE_COLUMNS].reset_index(drop=True)
    given = frame.astype(object)  # the values as written, for the messages
    frame["country"] = frame["country"].astype("string").str.strip().str.upper()
    frame["channel"] = frame["channel"].astype("string").str.strip().str.lower()
    frame["category"] = frame["category"].astype("string").fillna(ANY).str.strip().str.lower().replace("", ANY)
    frame["currency"] = frame["currency"].astype("string").str.strip().str.upper()
    price = pd.to_numeric(frame["price"], errors="coerce")
    problems = []
    for i, row in frame.iterrows():
        if row["country"] not in phonenumbers.SUPPORTED_REGIONS:
            problems.append(f"row {i}: country {given.at[i, 'country']!r} is not an ISO region such as 'US'")
        if pd.isna(row["channel"]) or not row["channel"]:
            problems.append(f"row {i}: no channel (sms, whatsapp, ...)")
        if pd.isna(price[i]) or price[i] < 0:
            problems.append(f"row {i}: price {given.at[i, 'price']!r} is not a number >= 0")
        if pd.isna(row["currency"]) or len(str(row["currency"])) != 3:
            problems.append(f"row {i}: currency {given.at[i, 'currency']!r} is not an ISO 4217 code such as 'USD'")
    duplicated = frame.duplicated(["country", "channel", "category"], keep=False)
    problems += [f"row {i}: a second price for {tuple(frame.loc[i, ['country', 'channel', 'category']])}"
                 for i in frame.index[duplicated]]
    if problems:
        shown = "\n".join(f"  - {p}" for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise DeliveryPolicyError(f"the price table has {len(problems)} problem(s):\n{shown}{more}")
    frame["price"] = price.astype(float)
    return frame.astype({c: object for c in ("country", "channel", "category", "currency")})
