"""The sandbox runs the new content types end to end: approval, send, trigger."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from campaign_sdk import DeliveryPolicy, ApprovalState, CampaignClient
from campaign_sdk.gateways import SandboxGateway


def approve(client: CampaignClient, sandbox: SandboxGateway, campaign, **options):  # type: ignore[no-untyped-def]
    campaign.submit_for_approval(**options)
    while campaign.sync_approval() not in (ApprovalState.APPROVED, ApprovalState.REJECTED):
        sandbox.advance(hours=6)
    return campaign


def test_a_carousel_is_approved_and_sent(sqlite_url) -> None:
    sandbox = SandboxGateway(seed=3, start=dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC), realtime=False)
    with CampaignClient(sqlite_url, gateway=sandbox) as client:
        client.delivery_policy = DeliveryPolicy(window=None)  # any hour (the default: 09-21 local)
        campaign = client.create_campaign("Arrivals", template="new_arrivals")
        campaign.add_leads(pd.DataFrame({"phone_number": ["+14155550100", "+14155550101"], "lead_name": ["Ana", "Bo"]}))
        approve(client, sandbox, campaign, category="MARKETING")
        assert campaign.approval_state is ApprovalState.APPROVED
        report = campaign.enable().send(progress=False)
        assert report.sent == 2 and report.complete


def test_an_authentication_template_triggers_with_the_code(sqlite_url) -> None:
    sandbox = SandboxGateway(seed=3, start=dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC), realtime=False)
    with CampaignClient(sqlite_url, gateway=sandbox) as client:
        client.delivery_policy = DeliveryPolicy(window=None)  # any hour (the default: 09-21 local)
        otp = client.create_campaign("OTP", template="login_code", campaign_type="service")
        approve(client, sandbox, otp, category="AUTHENTICATION")
        assert otp.approval_state is ApprovalState.APPROVED
        sent = otp.enable().trigger("+14155550100", {"otp": "482913"}, key="login-1")
        assert sent.sid.startswith("SM")
