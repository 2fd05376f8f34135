"""WhatsApp's messaging limit counts the people messaged on WhatsApp, not by SMS (issue 13): each
message stores its channel (migration 0011), and plan(), send()'s decisions and trigger() count
only WhatsApp ones (before, every message in the store counted). A message recorded before 0011
has no channel and still counts.

A store with SMS messages to 4 people and WhatsApp messages to 2, a limit of 3 people per 24 h:
one new person may go now, not none. The real twilio-python client over HTTP to the local Twilio
server, on its simulated clock.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from campaign_sdk import Campaign, CampaignClient, DeliveryPolicy
from campaign_sdk.models import OutboundMessage
from campaign_sdk.sending import TriggerRefused
from campaign_sdk.testing import TwilioTestServer


from .conftest import FAST_RETRY, approve, gateway_for, leads_frame

START = dt.datetime.now(dt.UTC).replace(microsecond=0)
ANY_HOUR = DeliveryPolicy(window=None)
SMS_PEOPLE, WHATSAPP_PEOPLE, LIMIT = 4, 2, 3


def _client(url: str, server: TwilioTestServer, channel: str) -> CampaignClient:
    gateway = gateway_for(server, channel=channel, messaging_tier=LIMIT if channel == "whatsapp" else None)
    client = CampaignClient(url, gateway=gateway)
    client.delivery_policy = ANY_HOUR
    return client


@pytest.fixture
def whatsapp(migrated_url: str, twilio_server: TwilioTestServer) -> Iterator[CampaignClient]:
    """A WhatsApp sender that may reach 3 people per 24 h, on a store that already messaged 4
    people by SMS and 2 on WhatsApp (other people: none of them is counted twice)."""
    with _client(migrated_url, twilio_server, "whatsapp") as client:
        chats = _campaign(client, twilio_server, "Chats", WHATSAPP_PEOPLE, start=100)
        assert chats.send(progress=False, retry=FAST_RETRY).sent == WHATSAPP_PEOPLE
        texts = _campaign(client, twilio_server, "Texts", SMS_PEOPLE, start=0)
        with _client(migrated_url, twilio_server, "sms") as sms:  # the same campaign's template, by SMS
            assert sms.campaign(texts.id).send(progress=False, retry=FAST_RETRY).sent == SMS_PEOPLE
        yield client


def _campaign(client: CampaignClient, server: TwilioTestServer, name: str, count: int, *, start: int,
              campaign_type: str = "marketing") -> Campaign:
    campaign = client.create_campaign(name, template="order_confirmation", campaign_type=campaign_type)
    if count:
        campaign.add_leads(leads_frame(count, start=start))
    return approve(campaign, server)


def test_each_message_stores_its_channel(whatsapp):
    with whatsapp.engine.connect() as connection:
        channels = Counter(connection.execute(sa.select(OutboundMessage.channel)).scalars())
    assert channels == Counter({"sms": SMS_PEOPLE, "whatsapp": WHATSAPP_PEOPLE})


def test_the_plan_and_send_count_only_whatsapp_messages_toward_the_limit(whatsapp, twilio_server):
    news = _campaign(whatsapp, twilio_server, "News", 3, start=200)

    plan = news.plan()

    # 3 - 2 people reached on WhatsApp = 1 slot (was: 3 - 6 messages in the store = none)
    assert Counter(zip(plan["action"], plan["reason"].fillna("-"))) == Counter(
        {("send", "-"): LIMIT - WHATSAPP_PEOPLE, ("defer", "messaging_tier"): 3 - (LIMIT - WHATSAPP_PEOPLE)})
    report = news.send(progress=False, retry=FAST_RETRY)
    assert report.sent == 1 and report.deferred == {"messaging_tier": 2}


def test_a_message_without_a_channel_still_counts(whatsapp, twilio_server):
    """Recorded before migration 0011: the store does not say it was an SMS, so it counts."""
    with whatsapp.engine.begin() as connection:
        connection.execute(sa.update(OutboundMessage).where(OutboundMessage.channel == "sms").values(channel=None))
    news = _campaign(whatsapp, twilio_server, "News", 3, start=200)
    assert set(news.plan()["action"]) == {"defer"}


def test_a_trigger_counts_only_whatsapp_messages_toward_the_limit(whatsapp, twilio_server):
    receipts = _campaign(whatsapp, twilio_server, "Receipts", 0, start=0, campaign_type="service")
    receipts.set_delivery(DeliveryPolicy(window=None, messaging_tier=LIMIT))
    values = {"lead_name": "Ana", "order_id": "A-1"}

    assert receipts.trigger("+14155550300", values).sid  # the third person on WhatsApp (was: refused)

    with pytest.raises(TriggerRefused, match="3 people were messaged") as refused:
        receipts.trigger("+14155550301", values)
    assert refused.value.reason == "messaging_tier"
