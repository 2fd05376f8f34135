"""Template approval through the gateway: Content create, ApprovalRequests, status sync."""

from __future__ import annotations

import pandas as pd
import pytest

from campaign_sdk import (
    ApprovalState,
    CampaignClient,
    CampaignStateError,
    CampaignStatus,
    GatewayError,
    TemplateValidationError,
    TwilioTextContext,
)
from campaign_sdk.gateways import SandboxGateway

from .conftest import content_sid, leads_frame

# For behaviour that does not depend on the database engine (the rest runs on both).
SQLITE_ONLY = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


def test_submit_creates_numbered_content_and_requests_approval(sender, twilio_server) -> None:
    campaign = sender.create_campaign("Black Friday!", template="order_confirmation")
    campaign.submit_for_approval(category="utility")
    create, submit = twilio_server.requests
    assert create.path == "/v1/Content"
    assert create.json["types"]["twilio/text"]["body"].startswith("Hi {{1}}, thank you for your order {{2}}.")
    assert create.json["variables"] == {"1": "Ana", "2": "A-1042"}
    sid = content_sid(campaign)
    assert submit.path == f"/v1/Content/{sid}/ApprovalRequests/whatsapp"
    assert submit.json["name"] == f"black_friday_{campaign.id}" and submit.json["category"] == "UTILITY"
    assert create.json["friendly_name"] == submit.json["name"]
    assert (campaign.status, campaign.approval_state) == (CampaignStatus.PENDING, ApprovalState.RECEIVED)


@SQLITE_ONLY
def test_samples_never_come_from_leads_and_a_missing_one_is_refused_before_twilio(sender, twilio_server) -> None:
    content = TwilioTextContext(body="Hello {{first_name}}, your code {{code}} is waiting for you today.")
    campaign = sender.create_campaign("Codes", content=content)
    campaign.add_leads(pd.DataFrame({"phone_number": ["+14155550100", "+14155550101"],
                                     "first_name": [None, "Bo"], "code": ["X1", "Y2"]}))
    with pytest.raises(TemplateValidationError) as refused:
        campaign.submit_for_approval(samples={"first_name": "Ana"})
    assert [(i.field, i.rule) for i in refused.value.issues] == [("samples.code", "wa_missing_sample")]
    assert "never a real customer's data" in str(refused.value)
    assert twilio_server.requests == [] and campaign.status == CampaignStatus.UNSUBMITTED
    campaign.submit_for_approval(samples={"first_name": "Ana", "code": "SAMPLE1"})
    assert twilio_server.requests[0].json["variables"] == {"1": "Ana", "2": "SAMPLE1"}
    assert twilio_server.requests[1].json["category"] == "MARKETING"
    assert campaign.approval_samples == {"first_name": "Ana", "code": "SAMPLE1"}


@SQLITE_ONLY
def test_explicit_samples_win(sender, twilio_server) -> None:
    campaign = sender.create_campaign("Orders", template="order_confirmation")
    campaign.submit_for_approval(category="UTILITY", samples={"lead_name": "Zoe", "order_id": "Z-9"})
    assert twilio_server.requests[0].json["variables"] == {"1": "Zoe", "2": "Z-9"}


@SQLITE_ONLY
def test_the_local_lint_refuses_before_anything_reaches_twilio(sender, twilio_server) -> None:
    campaign = sender.create_campaign("Bad", content=TwilioTextContext(body="{{name}} see wa.me/123 now"))
    with pytest.raises(TemplateValidationError) as raised:
        campaign.submit_for_approval(samples={"name": "Ana"})
    assert "wa_wa_me_link" in raised.value.rules  # a variable at the start with a sample: only a warning
    assert twilio_server.requests == []
    assert campaign.status == CampaignStatus.UNSUBMITTED


def test_a_gateway_refusal_records_nothing(sender, twilio_server) -> None:
    campaign = sender.create_campaign("Orders", template="order_confirmation")
    twilio_server.fail("error", path="/ApprovalRequests", status=400, code=None)
    with pytest.raises(GatewayError, match="submit HX"):
        campaign.submit_for_approval(category="UTILITY")
    assert campaign.status == CampaignStatus.UNSUBMITTED and campaign._row().content_sid is None


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("twilio_status", "status"),
    [("received", "pending"), ("pending", "pending"), ("approved", "approved"), ("rejected", "rejected"),
     ("paused", "approved"), ("disabled", "approved"), ("unsubmitted", "unsubmitted")],
)
def test_sync_maps_every_twilio_status(sender, twilio_server, twilio_status, status) -> None:
    campaign = sender.create_campaign("Orders", template="order_confirmation")
    campaign.submit_for_approval(category="UTILITY")
    twilio_server.set_approval(content_sid(campaign), "approved")
    campaign.sync_approval()
    campaign.enable()
    twilio_server.set_approval(content_sid(campaign), twilio_status, reason="Too vague")
    assert campaign.sync_approval() is ApprovalState(twilio_status)
    assert (campaign.status, campaign.approval_state) == (status, twilio_status)
    row = campaign._row()
    assert row.rejection_reason == ("Too vague" if twilio_status == "rejected" else None)
    stays_enabled = twilio_status in ("approved", "pending", "received")
    assert (row.enabled is not None) is stays_enabled


@SQLITE_ONLY
def test_sync_before_submitting_says_what_to_do(sender) -> None:
    campaign = sender.create_campaign("Orders", template="order_confirmation")
    with pytest.raises(CampaignStateError, match="submit_for_approval"):
        campaign.sync_approval()


@SQLITE_ONLY
def test_a_rejected_template_can_be_edited_and_resubmitted_under_a_new_name(sender, twilio_server) -> None:
    campaign = sender.create_campaign("Orders", template="order_confirmation")
    campaign.submit_for_approval(category="UTILITY")
    first = content_sid(campaign)
    twilio_server.set_approval(first, "rejected", reason="Variables at start")
    campaign.sync_approval()
    campaign.update(content=TwilioTextContext(body="Dear {{lead_name}}, your order {{order_id}} is confirmed now."))
    campaign.submit_for_approval(category="UTILITY")
    assert content_sid(campaign) != first
    names = [r.json["name"] for r in twilio_server.requests if r.path.endswith("/whatsapp")]
    assert names[0] != names[1] and names[1].startswith(names[0] + "_")


def test_client_sync_approvals_reports_every_campaign(sender, twilio_server) -> None:
    approved = sender.create_campaign("A", template="order_confirmation")
    rejected = sender.create_campaign("B", template="order_confirmation")
    sender.create_campaign("C", template="order_confirmation")  # never submitted: not listed
    for campaign in (approved, rejected):
        campaign.submit_for_approval(category="UTILITY")
    twilio_server.set_approval(content_sid(approved), "approved")
    twilio_server.set_approval(content_sid(rejected), "rejected", reason="Adjacent variables")
    frame = sender.sync_approvals()
    assert frame[["campaign", "before", "after", "status"]].values.tolist() == [
        ["A", "received", "approved", "approved"], ["B", "received", "rejected", "rejected"],
    ]
    assert pd.isna(frame["rejection_reason"][0]) and frame["rejection_reason"][1] == "Adjacent variables"
    assert pd.isna(frame["what_to_change"][0]) and "keep them apart with words" in frame["what_to_change"][1]
    twilio_server.fail("server_error", method="GET", path="/ApprovalRequests", times=1)
    assert frame["error"].isna().all()
    again = sender.sync_approvals()
    assert again["error"].notna().sum() == 1 and again["after"].tolist() == ["approved", "rejected"]


def test_the_default_client_approves_through_the_sandbox(sqlite_url) -> None:
    with CampaignClient(sqlite_url) as client:
        assert isinstance(client.gateway, SandboxGateway) and client.gateway.simulated
        campaign = client.create_campaign("Welcome", template="welcome_offer")
        campaign.add_leads(leads_frame(3))
        campaign.submit_for_approval()
        states = {campaign.sync_approval()}
        for _ in range(48):
            client.gateway.advance(hours=1)
            states.add(campaign.sync_approval())
        assert {ApprovalState.PENDING, ApprovalState.APPROVED} <= states
        assert campaign.status == CampaignStatus.APPROVED
