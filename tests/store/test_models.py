"""Database constraints hold on both engines, whatever code writes to them."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaign_sdk import CampaignClient
from campaign_sdk.models import (
    Campaign,
    CampaignLead,
    ConversationUser,
    MessageStatus,
    OutboundMessage,
    UTCDateTime,
)


def _user(session: Session, phone: str = "+14155552671") -> ConversationUser:
    user = ConversationUser(phone_number=phone)
    session.add(user)
    session.flush()
    return user


def test_one_lead_per_campaign_and_user(client: CampaignClient) -> None:
    campaign = client.create_campaign("C", template="order_confirmation")
    with pytest.raises(sa.exc.IntegrityError), client.transaction() as session:
        user = _user(session)
        session.add_all(
            [CampaignLead(campaign_id=campaign.id, user_id=user.id, custom_variables={}) for _ in range(2)]
        )
        session.flush()


def test_message_sid_is_unique(client: CampaignClient) -> None:
    campaign = client.create_campaign("C", template="order_confirmation")
    with pytest.raises(sa.exc.IntegrityError), client.transaction() as session:
        user = _user(session)
        lead = CampaignLead(campaign_id=campaign.id, user_id=user.id, custom_variables={})
        session.add(lead)
        session.flush()
        for _ in range(2):
            session.add(
                OutboundMessage(
                    sid="SM" + "0" * 32, campaign_id=campaign.id, lead_id=lead.id, user_id=user.id,
                    to_number="whatsapp:+14155552671", status=MessageStatus.SENT,
                )
            )
        session.flush()


def test_enum_columns_reject_unknown_values_in_the_database(client: CampaignClient) -> None:
    with pytest.raises(sa.exc.IntegrityError), client.engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO campaigns (name, campaign_type, status, approval_state, content_type, "
                "content, created_at, updated_at) VALUES ('X', 'spam', 'unsubmitted', 'unsubmitted', "
                "'twilio/text', '{}', :now, :now)"
            ),
            {"now": dt.datetime(2026, 1, 1)},
        )


def test_foreign_keys_are_enforced(client: CampaignClient) -> None:
    with pytest.raises(sa.exc.IntegrityError), client.transaction() as session:
        session.add(CampaignLead(campaign_id=999, user_id=999, custom_variables={}))
        session.flush()


def test_deleting_a_campaign_cascades_to_its_leads(client: CampaignClient) -> None:
    campaign = client.create_campaign("C", template="order_confirmation")
    with client.transaction() as session:
        user = _user(session)
        session.add(CampaignLead(campaign_id=campaign.id, user_id=user.id, custom_variables={}))
    campaign.delete()
    with client.transaction() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(CampaignLead)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(ConversationUser)) == 1


def test_timestamps_come_back_as_aware_utc(client: CampaignClient) -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    campaign = client.create_campaign("C", template="order_confirmation")
    with client.transaction() as session:
        session.get_one(Campaign, campaign.id).enabled = dt.datetime(2026, 3, 1, 13, 0, tzinfo=paris)
    enabled = campaign.enabled
    assert enabled == dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    assert enabled.tzinfo is dt.UTC


def test_naive_datetimes_are_taken_as_utc() -> None:
    column = UTCDateTime()
    dialect = sa.create_engine("sqlite://").dialect
    stored = column.process_bind_param(dt.datetime(2026, 1, 1, 8), dialect)
    assert column.process_result_value(stored, dialect) == dt.datetime(2026, 1, 1, 8, tzinfo=dt.UTC)
