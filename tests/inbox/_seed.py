"""Stores with campaign messages whose SIDs are recorded now or later (as a send records them)."""

from __future__ import annotations

import itertools

import pandas as pd
import sqlalchemy as sa

from campaign_sdk import CampaignClient
from campaign_sdk.models import Campaign, CampaignLead, ConversationUser, OutboundMessage
from campaign_sdk.sending._books import Outcome, apply_outcomes

_names = itertools.count(1)


def seed_intents(client: CampaignClient, n: int, *, first_phone: int = 5000) -> list[tuple[int, int, str]]:
    """A campaign with ``n`` leads and one send intent each (no SID yet): ``(intent, user, sid)``
    with the SID Twilio will give each message."""
    phones = [f"+1415555{first_phone + i:04d}" for i in range(n)]
    campaign = client.create_campaign(f"Inbox {next(_names)}", template="order_confirmation")
    campaign.add_leads(pd.DataFrame({"phone_number": phones, "lead_name": "A", "order_id": "1"}))
    with client.transaction() as session:
        row = session.get_one(Campaign, campaign.id)
        leads = session.execute(
            sa.select(CampaignLead.id, CampaignLead.user_id, ConversationUser.phone_number)
            .join(ConversationUser, ConversationUser.id == CampaignLead.user_id)
            .where(CampaignLead.campaign_id == campaign.id).order_by(CampaignLead.id)
        ).all()
        from campaign_sdk import service

        ids = service.create_intents(session, row, [
            {"lead_id": lead, "user_id": user, "to_number": f"whatsapp:{phone}"} for lead, user, phone in leads
        ])
    return [(intent, user, f"SM{campaign.id:04d}{intent:028d}") for intent, (_, user, _) in zip(ids, leads)]


def record_sids(client: CampaignClient, intents: list[tuple[int, int, str]]) -> None:
    """Record the SIDs exactly where the send engine does (its bookkeeper's write)."""
    with client.transaction() as session:
        apply_outcomes(session, [Outcome(intent, user, "accepted", sid=sid, status="accepted")
                                 for intent, user, sid in intents])


def message_state(client: CampaignClient, sids: list[str]) -> dict[str, tuple]:
    """Per SID: status, error code, and which status times are set."""
    with client.engine.connect() as connection:
        rows = connection.execute(
            sa.select(OutboundMessage.sid, OutboundMessage.status, OutboundMessage.error_code,
                      OutboundMessage.sent_at.is_not(None), OutboundMessage.delivered_at.is_not(None),
                      OutboundMessage.read_at.is_not(None), OutboundMessage.failed_at.is_not(None))
            .where(OutboundMessage.sid.in_(sids))
        ).all()
    return {r[0]: (str(r[1]), r[2], *r[3:]) for r in rows}
