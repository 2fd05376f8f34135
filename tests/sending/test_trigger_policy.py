"""trigger() follows the delivery policy that plan() applies to the same service campaign
(audit finding 5): ``service_window``, ``expires_at``, WhatsApp's messaging limit. A message the
plan would defer or skip is refused with ``TriggerRefused`` (reason, retry_at), never sent.

The real twilio-python client talks HTTP to the local Twilio server, on its simulated clock
(``realtime=False``), which the gateway reads too. Recipients are +1 415 numbers (Los Angeles).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from campaign_sdk import DeliveryPolicy, SendWindow
from campaign_sdk.models import CampaignLead, OutboundMessage
from campaign_sdk.sending import TriggerRefused
from campaign_sdk.testing import TwilioTestServer

from .conftest import approve

START = dt.datetime(2026, 7, 1, 6, tzinfo=dt.UTC)  # 23:00 in Los Angeles
SENDER = "number"  # no Messaging Service: the local worker holds every deferred message
OPENS = dt.datetime(2026, 7, 1, 15, tzinfo=dt.UTC)  # 08:00 in Los Angeles
DAYTIME = SendWindow(start="08:00", end="20:00")
ANA = {"lead_name": "Ana", "order_id": "A-1"}


@pytest.fixture
def receipts(sender, twilio_server):
    campaign = sender.create_campaign("Receipts", template="order_confirmation", campaign_type="service")
    return approve(campaign, twilio_server)


def _creates(server: TwilioTestServer) -> list[Any]:
    return [r for r in server.requests if r.method == "POST" and r.path.endswith("/Messages.json")]


def _count(sender, table: Any) -> int:
    with sender.engine.connect() as connection:
        return int(connection.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


def test_outside_the_service_window_a_trigger_is_refused_until_it_opens(sender, receipts, twilio_server):
    receipts.set_delivery(DeliveryPolicy(service_window=DAYTIME))
    with pytest.raises(TriggerRefused, match=r"quiet_hours.*08:00-20:00.*America/Los_Angeles") as refused:
        receipts.trigger("+14155550100", ANA, key="k1")

    assert refused.value.reason == "quiet_hours" and refused.value.retry_at == OPENS
    assert _creates(twilio_server) == []
    assert _count(sender, OutboundMessage) == 0 and _count(sender, CampaignLead) == 0  # nothing kept
    twilio_server.advance(seconds=(OPENS - START).total_seconds())
    assert receipts.trigger("+14155550100", ANA, key="k1").sid
    assert len(_creates(twilio_server)) == 1


def test_the_plan_and_the_trigger_agree_on_a_lead_outside_the_window(sender, receipts, twilio_server):
    receipts.set_delivery(DeliveryPolicy(service_window=DAYTIME))
    receipts.add_leads(pd.DataFrame([{"phone_number": "+14155550100", **ANA}]))
    [decision] = receipts.plan()[["action", "reason"]].to_dict("records")
    assert decision == {"action": "defer", "reason": "quiet_hours"}

    with pytest.raises(TriggerRefused) as refused:
        receipts.trigger("+14155550100")

    assert refused.value.reason == decision["reason"]


def test_a_lead_timezone_value_decides_its_window(sender, receipts, twilio_server):
    receipts.set_delivery(DeliveryPolicy(service_window=DAYTIME))
    # 06:00Z is 08:00 in Berlin: the window is open there
    receipts.add_leads(pd.DataFrame([{"phone_number": "+14155550100", **ANA, "timezone": "Europe/Berlin"}]))
    assert receipts.trigger("+14155550100").sid
    receipts.add_leads(pd.DataFrame([{"phone_number": "+14155550101", **ANA, "timezone": "Mars/Base"}]))
    with pytest.raises(TriggerRefused) as refused:
        receipts.trigger("+14155550101")
    assert refused.value.reason == "invalid_timezone" and refused.value.retry_at is None


@pytest.mark.parametrize(("expires_in", "window"), [
    (dt.timedelta(hours=-1), None),  # expired already
    (dt.timedelta(hours=1), DAYTIME),  # the window opens after expires_at
])
def test_a_trigger_after_expiry_is_refused(sender, receipts, twilio_server, expires_in, window):
    receipts.set_delivery(DeliveryPolicy(service_window=window), expires_at=START + expires_in)

    with pytest.raises(TriggerRefused, match="expired") as refused:
        receipts.trigger("+14155550100", ANA)

    assert refused.value.reason == "expired" and refused.value.retry_at is None
    assert _creates(twilio_server) == []


def test_the_messaging_limit_counts_unique_people_and_spares_open_service_windows(sender, receipts, twilio_server):
    receipts.set_delivery(DeliveryPolicy(messaging_tier=1))
    assert receipts.trigger("+14155550100", ANA).sid

    with pytest.raises(TriggerRefused, match="messaging limit") as refused:
        receipts.trigger("+14155550101", ANA)
    assert refused.value.reason == "messaging_tier"
    assert refused.value.retry_at is not None  # when the first message leaves the 24 h

    assert receipts.trigger("+14155550100", {"order_id": "A-2"}).sid  # the same person: no new slot
    sender.record_replies([{"sid": "SMin" + "1" * 30, "from": "+14155550101", "body": "where is my order?",
                            "received_at": START}])
    assert receipts.trigger("+14155550101", ANA).sid  # inside their service window
    assert len(_creates(twilio_server)) == 3


def test_a_trigger_goes_with_the_validity_left_until_expires_at(sender, receipts, twilio_server):
    receipts.set_delivery(DeliveryPolicy(), expires_at=START + dt.timedelta(minutes=5))
    receipts.trigger("+14155550100", ANA)
    assert [r.field("ValidityPeriod") for r in _creates(twilio_server)] == ["300"]


def test_a_caribbean_mobile_is_checked_in_its_islands_zone_as_in_the_plan(sender, receipts, twilio_server):
    """libphonenumber gives a Jamaican mobile all 42 zones of +1, which share no minute of
    08:00-20:00; the plan and the trigger both use Jamaica's own zone (UTC-5): at 06:00 UTC it
    is 01:00 there, deferred to 08:00 (13:00 UTC)."""
    receipts.set_delivery(DeliveryPolicy(service_window=DAYTIME))
    receipts.add_leads(pd.DataFrame([{"phone_number": "+18762101234", **ANA}]))
    [row] = receipts.plan()[["action", "reason", "zones", "send_at"]].to_dict("records")
    assert (row["action"], row["reason"], row["zones"]) == ("defer", "quiet_hours", "America/Jamaica")
    with pytest.raises(TriggerRefused) as refused:
        receipts.trigger("+18762101234", key="jm")
    assert refused.value.reason == "quiet_hours" and refused.value.retry_at == row["send_at"]
    assert refused.value.retry_at == dt.datetime(2026, 7, 1, 13, tzinfo=dt.UTC)
