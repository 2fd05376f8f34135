"""``DeliveryPlan``: the plan's DataFrame (one row per lead) with ``summary()``."""

from __future__ import annotations

from typing import Any

import pandas as pd

from campaign_sdk.delivery._reasons import REASONS

PLAN_COLUMNS = [
    "lead_id", "phone_number", "country", "variant", "action", "reason", "detail", "zones", "ambiguous",
    "zone", "local_send_time", "send_at", "scheduler", "message", "sms_encoding", "sms_segments",
    "cost", "currency", "cost_reason",
]
SUMMARY_KEYS = ["action", "reason", "local_hour", "country"]


class DeliveryPlan(pd.DataFrame):
    """What a send will do, one row per lead (a pandas DataFrame).

    Columns: ``variant`` (the experiment arm, if any), ``action`` (send / defer / skip /
    holdout), ``reason`` (None for a plain send; see
    ``campaign_sdk.delivery.REASONS``), ``detail``, ``zones`` (the recipient's possible zones,
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

    def summary(self) -> pd.DataFrame:
        """Totals by action, reason, local hour and country: ``leads``, ``cost`` (summed where
        known), ``unpriced`` (leads sent or deferred whose cost is unknown) and ``currency``.

        >>> DeliveryPlan(columns=PLAN_COLUMNS).summary().columns.tolist()
        ['action', 'reason', 'local_hour', 'country', 'leads', 'cost', 'unpriced', 'currency', 'meaning']
        """
        frame = pd.DataFrame(self)
        hours = pd.to_datetime(frame["local_send_time"]).dt.hour.astype("Int64")
        frame = frame.assign(
            local_hour=hours, action=frame["action"].astype(object), reason=frame["reason"].astype(object),
            country=frame["country"].astype(object),
            unpriced=frame["cost"].isna() & frame["action"].isin(["send", "defer"]),
            currency=frame["currency"].astype(object),
        )
        grouped = frame.groupby(SUMMARY_KEYS, dropna=False, sort=True)
        out = grouped.agg(
            leads=("lead_id", "size"), cost=("cost", lambda c: c.sum(min_count=1)),
            unpriced=("unpriced", "sum"),
            currency=("currency", lambda c: ",".join(sorted({str(v) for v in c.dropna()})) or None),
        ).reset_index()
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
