"""The metric definitions in plain Python, read straight from the store with SQLAlchemy: an
independent implementation the DuckDB path is checked against."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from campaign_sdk.models import Campaign, CampaignLead, Conversion, InboundMessage, OutboundMessage

SENT = {"sent", "delivered", "read"}
COUNTS = ("total_leads", "messages_sent", "delivered", "read", "not_received", "attempted", "messages_replied",
          "opted_out", "converted")


def _rows(session: Any, table: Any) -> list[Any]:
    return list(session.execute(sa.select(table.__table__)).mappings())


def reference(session: Any, reply_window: dt.timedelta, attribution_window: dt.timedelta) -> dict[str, Any]:
    """``{"campaigns": {id: {count: n}}, "leads": {lead_id: flags}}`` for every campaign."""
    campaigns = _rows(session, Campaign)
    leads = _rows(session, CampaignLead)
    messages = _rows(session, OutboundMessage)
    inbound = _rows(session, InboundMessage)
    conversions = _rows(session, Conversion)

    latest: dict[int, Any] = {}
    for m in messages:
        current = latest.get(m["lead_id"])
        if current is None or (m["created_at"], m["id"]) > (current["created_at"], current["id"]):
            latest[m["lead_id"]] = m
    touches: dict[int, list[Any]] = defaultdict(list)
    for m in messages:
        if str(m["status"]) in SENT:
            touches[m["user_id"]].append(m)

    def last_touch(user_id: int, when: dt.datetime, window: dt.timedelta) -> int | None:
        before = [t for t in touches[user_id] if t["created_at"] <= when]
        if not before:
            return None
        touch = max(before, key=lambda t: (t["created_at"], t["id"]))
        return touch["lead_id"] if when - touch["created_at"] <= window else None

    replied, opted_out, converted = set(), set(), set()
    for message in inbound:
        lead = last_touch(message["user_id"], message["received_at"], reply_window)
        if lead is not None and str(message["kind"]) == "reply":
            replied.add(lead)
        if lead is not None and str(message["kind"]) == "opt_out":
            opted_out.add(lead)
    for conversion in conversions:
        lead = last_touch(conversion["user_id"], conversion["occurred_at"], attribution_window)
        if lead is not None:
            converted.add(lead)

    per_campaign = {c["id"]: dict.fromkeys(COUNTS, 0) for c in campaigns}
    per_lead = {}
    for lead in leads:
        if lead["removed_at"] is not None:
            continue
        status = str(latest[lead["id"]]["status"]) if lead["id"] in latest else None
        sent = status in SENT
        flags = {
            "total_leads": True,
            "messages_sent": sent,
            "delivered": status in ("delivered", "read"),
            "read": status == "read",
            "not_received": status in ("failed", "undelivered"),
            "attempted": sent or status in ("failed", "undelivered"),
            "messages_replied": sent and lead["id"] in replied,
            "opted_out": sent and lead["id"] in opted_out,
            "converted": sent and lead["id"] in converted,
        }
        per_lead[lead["id"]] = flags
        for name, flag in flags.items():
            per_campaign[lead["campaign_id"]][name] += int(flag)
    return {"campaigns": per_campaign, "leads": per_lead}
