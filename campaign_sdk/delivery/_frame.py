"""``DeliveryPlan``: the plan's DataFrame (one row per lead) with ``summary()``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from campaign_sdk._exceptions import InvalidArgumentError
from campaign_sdk.delivery._reasons import REASONS

PLAN_COLUMNS = [
    "lead_id", "phone_number", "country", "variant", "action", "reason", "detail", "zones", "ambiguous",
    "zone", "local_send_time", "send_at", "scheduler", "message", "sms_encoding", "sms_segments",
    "cost", "currency", "cost_reason",
]
SUMMARY_KEYS = ["action", "reason", "local_hour", "country"]


def _text(column: pd.Series) -> bool:
    """A text column: grouped as plain values (a Categorical would group by every category, seen
    or not; a missing value is one group)."""
    return isinstance(column.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(column.dtype)



class DeliveryPlan(pd.DataFrame):
    """What a send will do, one row per lead (a pandas DataFrame).

    Columns: ``variant`` (the experiment arm, if any), ``action`` (send / defer / skip /
    holdout), ``reason`` (None for a plain send; see
    ``campaign_sdk.delivery.REASONS``), ``detail`` (what exactly holds the lead back:
    which frequency cap and when the person is free again, when their customer-service window
    closed, what is wrong with a ``timezone`` value), ``zones`` (the recipient's possible zones,
    comma-joined), ``ambiguous`` (the number spans several zones), ``zone`` and
    ``local_send_time`` (wall clock there; for an ambiguous number the zone where it is earliest),
    ``send_at`` (UTC), ``scheduler`` (now / twilio / worker), ``message``, ``sms_encoding``,
    ``sms_segments``, ``cost`` (on WhatsApp by the category Meta bills: nothing for a
    non-template message or a utility template inside the customer-service window), ``currency``
    and ``cost_reason`` (why a cost is unknown, or why it is nothing, or what it assumes: e.g. the
    sender's number type that keys Twilio's SMS price).
    ``attrs`` holds ``campaign_id``, ``now``, ``price_source``, ``problems`` (campaign-level
    reasons a send is refused now, e.g. not approved) and ``warnings`` (what Twilio or Meta will
    likely do to messages the plan sends, e.g. Meta's pause on WhatsApp marketing templates to US
    numbers; no lead is held back for them).
    """

    _metadata: list[str] = []

    @property
    def _constructor(self) -> Any:
        return DeliveryPlan

    def summary(self, by: str | Sequence[str] | None = None) -> pd.DataFrame:
        """Totals per group: ``leads``, ``cost`` (summed where known), ``unpriced`` (leads sent or
        deferred whose cost is unknown) and ``currency``. By default the groups are action, reason,
        local hour and country, with each reason's ``meaning``; ``by`` names other groups: one
        column or several, among the plan's columns and ``local_hour`` (the hour of
        ``local_send_time``); a reason's ``meaning`` is added whenever ``reason`` is one of them.

        >>> DeliveryPlan(columns=PLAN_COLUMNS).summary().columns.tolist()
        ['action', 'reason', 'local_hour', 'country', 'leads', 'cost', 'unpriced', 'currency', 'meaning']
        >>> plan = DeliveryPlan({"lead_id": [1, 2, 3], "action": ["send", "defer", "skip"],
        ...     "country": ["US", "US", "DE"], "local_send_time": pd.to_datetime(["2026-07-01 09:00"] * 2 + [None]),
        ...     "cost": [0.025, 0.025, None], "currency": ["USD", "USD", None]})
        >>> plan.summary(by="country")
          country  leads  cost  unpriced currency
        0      DE      1   NaN         0      NaN
        1      US      2  0.05         0      USD
        >>> plan.summary(by=["action", "local_hour"])[["action", "local_hour", "leads"]]
          action  local_hour  leads
        0  defer           9      1
        1   send           9      1
        2   skip        <NA>      1
        >>> plan.summary(by="city")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        campaign_sdk._exceptions.InvalidArgumentError: summary(by=['city']): 'city' is not a column of the plan; ...
        """
        keys = SUMMARY_KEYS if by is None else [by] if isinstance(by, str) else list(by)
        allowed = [*dict.fromkeys([*PLAN_COLUMNS, *self.columns, "local_hour"])]
        wrong = [k for k in keys if not isinstance(k, str) or k not in allowed]
        if wrong or not keys or len(set(keys)) < len(keys):
            what = (f"{wrong[0]!r} is not a column of the plan" if wrong else
                    "name at least one column" if not keys else "a column is named twice")
            raise InvalidArgumentError(f"summary(by={keys!r}): {what}; group by any of: {', '.join(allowed)}")
        frame = pd.DataFrame(self)
        hours = pd.to_datetime(frame["local_send_time"]).dt.hour.astype("Int64")
        frame = frame.assign(
            local_hour=hours, unpriced=frame["cost"].isna() & frame["action"].isin(["send", "defer"]),
            currency=frame["currency"].astype(object),
            **{k: frame[k].astype(object) for k in keys if k != "local_hour" and _text(frame[k])},
        )
        grouped = frame.groupby(keys, dropna=False, sort=True)
        out = grouped.agg(
            leads=("lead_id", "size"), cost=("cost", lambda c: c.sum(min_count=1)),
            unpriced=("unpriced", "sum"),
            currency=("currency", lambda c: ",".join(sorted({str(v) for v in c.dropna()})) or None),
        ).reset_index()
        if "reason" in keys:
            out["meaning"] = out["reason"].map(REASONS)
        return pd.DataFrame(out)

    def hour_chart(self, *, title: str | None = None) -> Any:
        """The send-time histogram by local hour (a matplotlib Figure; see :meth:`by_hour`)."""
        from campaign_sdk.delivery._chart import send_time_chart

        return send_time_chart(self, title=title)

    def by_hour(self) -> pd.DataFrame:
        """Leads to send or defer per local hour of arrival (for a send-time histogram)."""
        live = self[self["action"].isin(["send", "defer"])]
        hours = pd.to_datetime(live["local_send_time"]).dt.hour.astype("Int64")
        counts = hours.value_counts().reindex(range(24), fill_value=0).rename_axis("local_hour")
        return counts.rename("leads").reset_index()
