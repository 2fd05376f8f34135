"""Never stale (issue 13 §5): a campaign resumed after its ``expires_at`` sends nothing and says
so; a message's ValidityPeriod never outlives ``expires_at``.

The real twilio-python client talks HTTP to the local Twilio server, whose simulated clock
stands still until a test moves it (``realtime=False``); the gateway reads the same clock.
Recipients are +1 415 numbers (America/Los_Angeles).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from campaign_sdk import CampaignClient, DeliveryPolicy, SendWindow
from campaign_sdk.models import DeferredSend
from campaign_sdk.testing import TwilioTestServer


from .conftest import FAST_RETRY, approve, gateway_for, leads_frame

START = dt.datetime(2026, 7, 1, 2, tzinfo=dt.UTC)  # 19:00 in Los Angeles
SENDER = "number"  # no Messaging Service: the local worker holds every deferred message
NINE_TO_TEN = SendWindow(start="09:00", end="10:00")  # opens at 16:00Z the same day


def _rows(client: CampaignClient) -> int:
    with client.engine.connect() as connection:
        return int(connection.scalar(sa.select(sa.func.count()).select_from(DeferredSend)) or 0)


def _creates(server: TwilioTestServer) -> list[Any]:
    return [r for r in server.requests if r.method == "POST" and r.path.endswith("/Messages.json")]


def test_a_campaign_resumed_after_its_expiry_sends_nothing_and_says_so(sender, ready_campaign, twilio_server):
    sender.delivery_policy = DeliveryPolicy(window=NINE_TO_TEN)
    campaign = ready_campaign(3)
    campaign.set_delivery(None, expires_at=START + dt.timedelta(hours=30))
    first = campaign.send(progress=False, retry=FAST_RETRY)
    assert first.deferred == {"quiet_hours": 3} and _rows(sender) == 3
    campaign.disable()
    twilio_server.simulator.clock.advance(hours=40)  # paused past expires_at
    campaign.enable()

    report = campaign.send(progress=False, retry=FAST_RETRY)

    # the plan, preflight and send agree: skipped as expired, not "deferred", and the report says why
    assert report.sent == 0 and report.deferred == {} and report.skipped == {"expired": 3}
    assert any("expired" in note and "never sent" in note for note in report.notes)
    assert report.next_due is None  # nothing is due any more (was: a moment 40 h in the past)
    assert _rows(sender) == 0  # the expired deferred rows are dropped, as the worker drops them
    assert sender.run_due(retry=FAST_RETRY).claimed == 0
    assert _creates(twilio_server) == []
    again = campaign.send(progress=False, retry=FAST_RETRY)  # the same answer a second time
    assert again.skipped == {"expired": 3} and again.deferred == {}


def test_next_due_ignores_deferred_rows_due_after_expiry(sender, ready_campaign, twilio_server):
    """A row the worker would drop at its moment (due after expires_at) is not "next due"."""
    sender.delivery_policy = DeliveryPolicy(window=NINE_TO_TEN)
    campaign = ready_campaign(2)
    report = campaign.send(progress=False, retry=FAST_RETRY)
    assert report.deferred == {"quiet_hours": 2} and report.next_due is not None
    campaign.set_delivery(None, expires_at=report.next_due - dt.timedelta(minutes=5))

    again = campaign.send(progress=False, retry=FAST_RETRY)

    assert again.skipped == {"expired": 2} and again.deferred == {} and again.next_due is None


def _validity(server: TwilioTestServer) -> list[str | None]:
    return [r.field("ValidityPeriod") for r in _creates(server)]


@pytest.mark.parametrize(("policy", "expires_in", "sent"), [
    (None, dt.timedelta(minutes=5), "300"),  # was: no field, Twilio's default 36,000 s
    (120, dt.timedelta(hours=1), "120"),  # the policy's, shorter than what is left
    (None, dt.timedelta(days=2), "36000"),  # Twilio's maximum, also its default
    (None, None, None),  # no expiry: Twilio's default, as before
])
def test_the_validity_period_never_outlives_expires_at(sender, ready_campaign, twilio_server, policy, expires_in,
                                                       sent):
    sender.delivery_policy = DeliveryPolicy(window=None, validity_period=policy)
    campaign = ready_campaign(2)
    campaign.set_delivery(None, expires_at=START + expires_in if expires_in else None)

    assert campaign.send(progress=False, retry=FAST_RETRY).sent == 2
    assert _validity(twilio_server) == [sent, sent]


def test_a_message_less_than_a_second_before_expiry_is_not_sent_but_skipped_as_expired(
        sender, ready_campaign, twilio_server):
    sender.delivery_policy = DeliveryPolicy(window=None)
    campaign = ready_campaign(2)
    campaign.set_delivery(None, expires_at=START + dt.timedelta(milliseconds=500))  # the plan: due now

    report = campaign.send(progress=False, retry=FAST_RETRY)

    assert _creates(twilio_server) == []
    assert report.sent == 0 and report.skipped == {"expired": 2} and report.to_send == 0 and report.remaining == 0
    assert any("expired" in note for note in report.notes)


def test_the_worker_caps_the_validity_period_at_expires_at_too(sender, ready_campaign, twilio_server):
    sender.delivery_policy = DeliveryPolicy(window=NINE_TO_TEN)
    campaign = ready_campaign(2)
    report = campaign.send(progress=False, retry=FAST_RETRY)
    assert report.deferred == {"quiet_hours": 2} and report.next_due is not None
    campaign.set_delivery(None, expires_at=report.next_due + dt.timedelta(minutes=10))
    twilio_server.simulator.clock.advance(seconds=(report.next_due - START).total_seconds())

    assert sender.run_due(retry=FAST_RETRY).sent == 2
    assert _validity(twilio_server) == ["600", "600"]


def test_a_message_twilio_schedules_gets_the_validity_left_after_its_send_at(migrated_url, twilio_server):
    """Counted from SendAt (see sending._delivery.validity_for): an hour-ahead schedule whose
    campaign expires ten minutes after it goes with 600 s, not 4,200 s and not Twilio's 36,000."""
    gateway = gateway_for(twilio_server)
    with CampaignClient(migrated_url, gateway=gateway) as client:
        client.delivery_policy = DeliveryPolicy(window=None)
        campaign = client.create_campaign("Scheduled", template="order_confirmation")
        campaign.add_leads(leads_frame(2))
        approve(campaign, twilio_server)
        at = START + dt.timedelta(hours=1)
        campaign.set_delivery(None, expires_at=at + dt.timedelta(minutes=10))

        assert campaign.schedule(at=at, progress=False, retry=FAST_RETRY).scheduled == 2

    assert {(r.field("SendAt"), r.field("ValidityPeriod")) for r in _creates(twilio_server)} == {
        (at.strftime("%Y-%m-%dT%H:%M:%SZ"), "600")}
