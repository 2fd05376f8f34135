"""Building analytics scenarios through the public API.

Outbound messages are inserted with SQLAlchemy (``campaign_sdk.models.OutboundMessage``) as a
send would leave them (status ``accepted``, a SID); statuses, replies and conversions then go
through ``client.record_statuses`` / ``record_replies`` / ``record_conversions``.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pandas as pd
import sqlalchemy as sa

from campaign_sdk import Campaign, CampaignClient, TwilioTextContext
from campaign_sdk.models import CampaignLead, ConversationUser, MessageStatus, OutboundMessage

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday
_sids = itertools.count(1)


def at(days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> dt.datetime:
    """T0 plus an offset."""
    return T0 + dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def campaign(client: CampaignClient, name: str, phones: list[str], *, campaign_type: str = "marketing",
             variables: dict[str, list[str]] | None = None) -> Campaign:
    """A campaign with one lead per phone number (custom variables by column)."""
    created = client.create_campaign(
        name, campaign_type=campaign_type, content=TwilioTextContext(body="Hello there, news for you this week!")
    )
    frame = pd.DataFrame({"phone_number": phones, **(variables or {})})
    report = created.add_leads(frame)
    assert report.rejected.empty, report.rejected
    return created


def send(client: CampaignClient, target: Campaign, phone: str, when: dt.datetime, *statuses: str,
         error_code: int | None = None) -> str:
    """Insert the campaign's message to ``phone`` (created ``when``) and apply ``statuses`` in
    the order given, one second apart, through ``record_statuses``. Returns the SID."""
    sid = f"SM{next(_sids):032x}"
    with client.transaction() as session:
        user_id = session.scalar(sa.select(ConversationUser.id).where(ConversationUser.phone_number == phone))
        lead_id = session.scalar(
            sa.select(CampaignLead.id).where(CampaignLead.campaign_id == target.id, CampaignLead.user_id == user_id)
        )
        assert lead_id is not None, f"{phone} is not a lead of {target.id}"
        session.add(OutboundMessage(
            sid=sid, campaign_id=target.id, lead_id=lead_id, user_id=user_id, to_number=f"whatsapp:{phone}",
            status=MessageStatus.ACCEPTED, created_at=when, status_at=when,
        ))
    if statuses:
        client.record_statuses([
            {"sid": sid, "status": s, "timestamp": when + dt.timedelta(seconds=i + 1),
             "error_code": error_code if s in ("failed", "undelivered") else None}
            for i, s in enumerate(statuses)
        ])
    return sid


def reply(client: CampaignClient, phone: str, when: dt.datetime, body: str = "Yes please") -> None:
    client.record_replies([{"sid": f"IN{next(_sids):032x}", "from": phone, "body": body, "received_at": when}])


def convert(client: CampaignClient, phone: str, when: dt.datetime, external_id: str | None = None) -> None:
    client.record_conversions([{
        "external_id": external_id or f"order-{next(_sids)}", "phone_number": phone, "occurred_at": when,
        "value": 10.0,
    }])


def row(frame: pd.DataFrame, name: str) -> pd.Series:
    """The one row of ``frame`` whose campaign is ``name``."""
    rows = frame[frame["campaign"] == name]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def counts(frame: pd.DataFrame, name: str) -> dict[str, int]:
    """The count columns of a campaign's row, as plain ints."""
    r = row(frame, name)
    keys = ["total_leads", "messages_sent", "delivered", "read", "not_received", "attempted", "messages_replied",
            "opted_out", "converted"]
    return {k: int(r[k]) for k in keys}
