"""A lower WhatsApp messaging limit reaches the messages Twilio's scheduler already holds: those
beyond it (by the plan's rule: unique people per 24 h, counting the people messaged already) are
canceled at Twilio and deferred to the day the limit allows them (``messaging_tier``), never
sent early, never dropped; the others stay scheduled.

The real twilio-python client over HTTP to the local Twilio server (a Messaging Service), on its
simulated clock standing at ``START``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa

from campaign_sdk import Campaign, CampaignClient, DeliveryPolicy
from campaign_sdk.models import DeferredSend, OutboundMessage
from campaign_sdk.testing import TwilioTestServer

from .conftest import ANY_HOUR, FAST_RETRY, approve, gateway_for, leads_frame, numbers

START = dt.datetime(2026, 7, 1, 2, tzinfo=dt.UTC)
SEND_AT = dt.datetime(2026, 7, 1, 23, tzinfo=dt.UTC)  # 21 h later
DAY = dt.timedelta(days=1)
TIER_2 = DeliveryPolicy(window=None, messaging_tier=2)


def _held(client: CampaignClient, server: TwilioTestServer, count: int = 5, *, name: str = "Orders") -> Campaign:
    campaign = client.create_campaign(name, template="order_confirmation")
    campaign.add_leads(leads_frame(count))
    approve(campaign, server)
    assert campaign.schedule(at=SEND_AT, progress=False, retry=FAST_RETRY).scheduled == count
    return campaign


def _by_number(client: CampaignClient) -> dict[str, tuple[Any, ...]]:
    """Each number's deferred row (due, reason) and its latest message's status in the store."""
    with client.engine.connect() as connection:
        rows = connection.execute(sa.select(OutboundMessage.to_number, OutboundMessage.status)
                                  .order_by(OutboundMessage.id)).all()
        held = connection.execute(sa.select(OutboundMessage.to_number, DeferredSend.due_at, DeferredSend.reason)
                                  .join(OutboundMessage, OutboundMessage.lead_id == DeferredSend.lead_id)).all()
    found: dict[str, tuple[Any, ...]] = {str(to): (str(status),) for to, status in rows}
    for to, due, reason in held:
        found[str(to)] += ((due if due.tzinfo else due.replace(tzinfo=dt.UTC)), reason)
    return found


def _at_twilio(server: TwilioTestServer) -> Counter[str]:
    return Counter(m["status"] for m in server.sent())


def _cancels(server: TwilioTestServer) -> int:
    return sum(r.method == "POST" and r.field("Status") == "canceled" for r in server.requests)


@pytest.mark.parametrize("source", ["policy", "gateway"])
def test_a_lower_messaging_tier_defers_the_held_messages_beyond_it_to_the_days_it_allows(
        migrated_url, twilio_server, source):
    with CampaignClient(migrated_url, gateway=gateway_for(twilio_server)) as unlimited:
        unlimited.delivery_policy = ANY_HOUR
        _held(unlimited, twilio_server)  # five people held at SEND_AT, no limit then
    gateway = gateway_for(twilio_server, messaging_tier=2 if source == "gateway" else None)
    with CampaignClient(migrated_url, gateway=gateway) as client:
        campaign = client.campaign("Orders")

        def apply() -> Any:  # the policy set again: the client's (a limit of the gateway's), or the campaign's
            if source == "gateway":
                client.delivery_policy = ANY_HOUR
                return client.rescheduled
            client.delivery_policy = ANY_HOUR
            assert client.rescheduled.kept == 5, "no limit yet"
            campaign.set_delivery(TIER_2)
            return campaign.rescheduled

        report = apply()
        assert report.checked == 5 and report.kept == 2 and report.canceled == 3
        assert report.deferred == {"messaging_tier": 3} and report.skipped == {} and report.failed == {}
        # in SendAt order: two go as held, the next two a day later, the last two days later
        five = numbers(5)
        assert _by_number(client) == {
            five[0]: ("scheduled",), five[1]: ("scheduled",),
            five[2]: ("canceled", SEND_AT + DAY, "messaging_tier"), five[3]: ("canceled", SEND_AT + DAY, "messaging_tier"),
            five[4]: ("canceled", SEND_AT + 2 * DAY, "messaging_tier")}
        assert sorted(report.moved.values()) == [SEND_AT + DAY, SEND_AT + DAY, SEND_AT + 2 * DAY]
        assert _at_twilio(twilio_server) == Counter({"scheduled": 2, "canceled": 3})

        # the same policy again: nothing more is canceled or deferred
        if source == "policy":
            campaign.set_delivery(TIER_2)
        again = campaign.rescheduled if source == "policy" else apply()
        assert again.kept == 2 and again.canceled == 0 and _cancels(twilio_server) == 3
        assert campaign.send(progress=False, retry=FAST_RETRY).sent == 0  # the deferred leads are the worker's

        # never early; each at its day, once
        twilio_server.advance(seconds=(SEND_AT + DAY - START).total_seconds() - 60)
        assert client.run_due(retry=FAST_RETRY).sent == 0
        twilio_server.advance(seconds=61)
        assert client.run_due(retry=FAST_RETRY).sent == 2
        twilio_server.advance(days=1)
        assert client.run_due(retry=FAST_RETRY).sent == 1
        assert client.run_due(retry=FAST_RETRY).sent == 0
        live = Counter(m["to"].removeprefix("whatsapp:") for m in twilio_server.sent() if m["status"] != "canceled")
        assert live == Counter(five)


def test_the_people_messaged_already_count_as_the_plans_rule_counts_them(sender, twilio_server):
    earlier = sender.create_campaign("Earlier", template="order_confirmation")
    earlier.add_leads(leads_frame(1))
    approve(earlier, twilio_server)
    assert earlier.send(progress=False, retry=FAST_RETRY).sent == 1  # the first person, now: 21 h before SEND_AT
    campaign = _held(sender, twilio_server, 4)

    campaign.set_delivery(TIER_2)

    # the first person is counted already (no new slot), and takes one of the two: one more goes
    four = numbers(4)
    assert _by_number(sender) == {
        four[0]: ("scheduled",), four[1]: ("scheduled",),
        four[2]: ("canceled", SEND_AT + DAY, "messaging_tier"), four[3]: ("canceled", SEND_AT + DAY, "messaging_tier")}
    assert campaign.rescheduled.deferred == {"messaging_tier": 2} and campaign.rescheduled.kept == 2


def test_what_the_tier_could_only_send_after_expires_at_is_skipped(sender, twilio_server):
    campaign = _held(sender, twilio_server, 3)

    campaign.set_delivery(TIER_2, expires_at=SEND_AT + dt.timedelta(hours=2))

    assert campaign.rescheduled.skipped == {"expired": 1} and campaign.rescheduled.deferred == {}
    leads = campaign.leads.set_index("phone_number")
    assert leads.loc[numbers(3)[2], "status"] == "skipped" and leads.loc[numbers(3)[2], "reason"] == "expired"
    assert _at_twilio(twilio_server) == Counter({"scheduled": 2, "canceled": 1})


def test_an_sms_held_is_not_under_the_whatsapp_limit(migrated_url, twilio_server):
    with CampaignClient(migrated_url, gateway=gateway_for(twilio_server, channel="sms")) as client:
        client.delivery_policy = ANY_HOUR
        campaign = _held(client, twilio_server, 3)
        campaign.set_delivery(TIER_2)
        assert campaign.rescheduled.kept == 3 and campaign.rescheduled.canceled == 0


def test_a_person_inside_their_service_window_takes_no_slot(sender, twilio_server):
    campaign = _held(sender, twilio_server, 4)
    twilio_server.receive("whatsapp:" + numbers(4)[0], "where is my order?")  # the window is open at SEND_AT
    assert sender.sync().replies.applied == 1

    campaign.set_delivery(TIER_2)

    four = numbers(4)
    assert _by_number(sender) == {
        four[0]: ("scheduled",), four[1]: ("scheduled",), four[2]: ("scheduled",),
        four[3]: ("canceled", SEND_AT + DAY, "messaging_tier")}
