"""WhatsApp's messaging limit as a gateway setting (issue 13, item 6): ``TwilioGateway(...,
messaging_tier=N)`` and ``SandboxGateway(messaging_tier=N)``. send() sends to N people and defers
the rest to the next 24 h, through the real twilio-python client and the local Twilio server."""

from __future__ import annotations

import pytest

from campaign_sdk import CampaignClient
from campaign_sdk.gateways import SandboxGateway, TwilioGateway
from campaign_sdk.testing import TwilioTestServer
from tests.sending.conftest import ANY_HOUR, FAST_RETRY, approve, leads_frame

SERVICE_SID = "MG" + "5" * 32


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "250"])
def test_a_messaging_tier_is_a_whole_number_of_people(bad) -> None:
    with pytest.raises(ValueError, match="messaging_tier"):
        SandboxGateway(messaging_tier=bad)


def test_the_gateways_messaging_tier_defers_what_is_over_it(migrated_url: str, twilio_server: TwilioTestServer) -> None:
    gateway = TwilioGateway(twilio_server.twilio_client(), messaging_service_sid=SERVICE_SID, rate=None,
                            messaging_tier=3)
    assert gateway.messaging_tier == 3 and SandboxGateway().messaging_tier is None
    with CampaignClient(migrated_url, gateway=gateway) as client:
        client.delivery_policy = ANY_HOUR
        campaign = client.create_campaign("Tiered", template="order_confirmation")
        campaign.add_leads(leads_frame(5))
        approve(campaign, twilio_server)
        plan = campaign.plan()
        assert sorted(plan["action"]) == ["defer", "defer", "send", "send", "send"]
        assert set(plan.loc[plan["action"] == "defer", "reason"]) == {"messaging_tier"}
        report = campaign.send(progress=False, retry=FAST_RETRY)
    assert report.sent == 3 and report.deferred == {"messaging_tier": 2}
    assert len(twilio_server.messages) == 3
