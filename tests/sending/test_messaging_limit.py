"""WhatsApp's messaging limit in the plan: unique people per rolling 24 hours, outside their
customer-service window. A batch over the limit goes 24 hours after the batch before (at the
same local time), a person counted already in the 24 hours before takes no new slot, and the
"used" count skips people who were inside their service window.

The real twilio-python client over HTTP to the local Twilio server, on its simulated clock.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from campaign_sdk import Campaign, CampaignClient, DeliveryPolicy
from campaign_sdk.testing import TwilioTestServer


from .conftest import FAST_RETRY, approve, gateway_for, leads_frame, numbers

START = dt.datetime.now(dt.UTC).replace(microsecond=0)
DAY = dt.timedelta(days=1)
ANY_HOUR = DeliveryPolicy(window=None)


@pytest.fixture
def tiered(migrated_url: str, twilio_server: TwilioTestServer) -> Iterator[CampaignClient]:
    """A client whose sender may reach 3 unique people per 24 hours."""
    gateway = gateway_for(twilio_server, messaging_tier=3)
    with CampaignClient(migrated_url, gateway=gateway) as client:
        client.delivery_policy = ANY_HOUR
        yield client


def _campaign(client: CampaignClient, server: TwilioTestServer, name: str, frame: pd.DataFrame) -> Campaign:
    campaign = client.create_campaign(name, template="order_confirmation")
    campaign.add_leads(frame)
    return approve(campaign, server)


def _by_moment(plan: pd.DataFrame) -> Counter[tuple[str, Any, Any]]:
    return Counter(zip(plan["action"], plan["reason"].fillna("-"), plan["send_at"]))


def test_each_batch_goes_a_day_after_the_one_before_at_the_same_local_time(tiered, twilio_server):
    berlin = pd.DataFrame({"phone_number": [f"+4915123{i:06d}" for i in range(7)], "lead_name": "Ana",
                           "order_id": "A-1"})
    campaign = _campaign(tiered, twilio_server, "Berlin", berlin)
    plan = campaign.plan(local_time="10:00")

    first = plan["send_at"].min()
    assert sorted(Counter(plan["send_at"]).items()) == [(first, 3), (first + DAY, 3), (first + 2 * DAY, 1)]
    assert set(plan["local_send_time"].dt.strftime("%H:%M")) == {"10:00"}
    assert Counter(plan.loc[plan["send_at"] > first, "reason"]) == Counter({"messaging_tier": 4})


def test_people_counted_already_today_take_no_new_slot(tiered, twilio_server):
    a = _campaign(tiered, twilio_server, "A", leads_frame(3))
    assert a.send(progress=False, retry=FAST_RETRY).sent == 3
    b = _campaign(tiered, twilio_server, "B", leads_frame(4))  # A's three people and one more

    plan = b.plan()

    moment = plan["send_at"].min()
    by_number = dict(zip(plan["phone_number"], zip(plan["action"], plan["reason"].fillna("-"))))
    assert {n: by_number[n] for n in numbers(3)} == {n: ("send", "-") for n in numbers(3)}
    assert by_number[numbers(4)[3]] == ("defer", "messaging_tier")
    assert plan.loc[plan["action"] == "defer", "send_at"].tolist() == [moment + DAY]


def test_messages_sent_inside_the_service_window_do_not_use_the_limit(tiered, twilio_server):
    tiered.record_replies([{"sid": f"SM{i:032d}", "from": f"whatsapp:{n}", "body": "where is my order?",
                            "received_at": START - dt.timedelta(hours=1)} for i, n in enumerate(numbers(3))])
    a = _campaign(tiered, twilio_server, "A", leads_frame(3))
    assert a.send(progress=False, retry=FAST_RETRY).sent == 3  # inside their windows: not counted
    b = _campaign(tiered, twilio_server, "B", leads_frame(4, start=10))

    assert _by_moment(b.plan()) == Counter({("send", "-", START): 3, ("defer", "messaging_tier", START + DAY): 1})
