"""A variant send killed with SIGKILL mid-stream and after an unanswered request: the final send
gives every lead exactly one message, with its own variant's content, and the holdout none."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from campaign_sdk import DeliveryPolicy, CampaignClient
from campaign_sdk.gateways import TwilioGateway
from campaign_sdk.testing import TwilioTestServer
from tests.conftest import SERVICE_SID
from tests.sending.test_crash import _sent, crash

from .conftest import A, B, C, leads_frame

# The author's approval samples (never a lead's data: issue 11).
SAMPLES = {"lead_name": "Ana", "order_id": "A-1042", "1": "Ana"}

LEADS = 120


def test_a_killed_variant_send_resumes_with_each_leads_own_content(store_url: str, tmp_path: Path) -> None:
    with TwilioTestServer(latency=0.002) as server:
        gateway = TwilioGateway(server.twilio_client(), messaging_service_sid=SERVICE_SID, rate=None)
        with CampaignClient(store_url, gateway=gateway) as client:
            client.delivery_policy = DeliveryPolicy(window=None)  # any hour (the default: 09-21 local)
            campaign = client.create_campaign("Crash", content=A)
            campaign.set_experiment({"A": A, "B": B, "C": C}, holdout=0.2, seed="crash")
            campaign.add_leads(leads_frame(LEADS))
            campaign.submit_for_approval(category="MARKETING", samples=SAMPLES)
            sids = dict(zip(campaign.variants["variant"], campaign.variants["content_sid"]))
            for variant in "ABC":
                server.set_approval(sids[variant], "approved")
            campaign.sync_approval()
            campaign.enable()

            # the 10th request is processed, never answered; then killed in the middle of the stream
            crash(server, store_url, tmp_path / "1.log", lambda s: s.hanging >= 1, "hang", processed=True, skip=9,
                  times=1)
            crash(server, store_url, tmp_path / "2.log", lambda s: len(s.sent()) >= 40, "slow", delay=0.02, times=None)

            report = campaign.send(progress=False)
            assert report.complete
            arms = campaign.leads.set_index("phone_number")["variant"]
            treated = sorted(arms[arms != "holdout"].index)
            assert _sent(server) == Counter(treated)  # exactly once each, no holdout lead
            for message in server.sent():
                assert message["content_sid"] == sids[arms[message["to"].removeprefix("whatsapp:")]]
