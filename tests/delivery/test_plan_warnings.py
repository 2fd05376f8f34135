"""The plan warns when Meta will not deliver what it sends: WhatsApp marketing templates to US
numbers (Twilio error 63049 since 2025-04-01); nobody is held back for it."""

from __future__ import annotations

import pandas as pd

from campaign_sdk import CampaignClient, TwilioTextContext
from campaign_sdk.delivery._warnings import plan_warnings

US, BR = "+12125550100", "+5511912345678"


def approved(client: CampaignClient, category: str, *, campaign_type: str = "marketing"):
    campaign = client.create_campaign(f"{category} {campaign_type}", campaign_type=campaign_type,
                                      content=TwilioTextContext(body="Hi {{lead_name}}, our news for you today."))
    campaign.add_leads(pd.DataFrame({"phone_number": [US, "+14155550100", BR], "lead_name": ["A", "B", "C"]}))
    campaign.submit_for_approval(category=category, samples={"lead_name": "Ana"})
    campaign.set_approval_status("approved")
    return campaign.enable()


def test_marketing_templates_to_us_numbers_are_flagged_in_plan_and_preflight(client: CampaignClient) -> None:
    campaign = approved(client, "MARKETING")
    plan = campaign.plan()
    assert (plan["action"] != "skip").all()  # a warning, not a skip: Meta may lift the pause
    [warning] = plan.attrs["warnings"]
    assert warning.startswith("2 lead(s) in the US would get a WhatsApp marketing template")
    assert "63049" in warning and "2025-04-01" in warning
    check = campaign.preflight()
    assert check.warnings == [warning] and check.ready
    assert "warning:</strong> 2 lead(s) in the US" in check._repr_html_()


def test_utility_templates_and_sms_are_not_flagged(client: CampaignClient) -> None:
    campaign = approved(client, "UTILITY")  # Meta's category decides, not the campaign's type
    plan = campaign.plan()
    assert plan.attrs["warnings"] == [] and campaign.preflight().warnings == []
    assert plan_warnings(plan, channel="sms", template_category="marketing") == []
    assert len(plan_warnings(plan, channel="whatsapp", template_category="MARKETING")) == 1


def test_send_report_notes_the_us_marketing_warning(client: CampaignClient) -> None:
    """send() plans with decisions only (no country column): the warning still reaches its report,
    counted from the zone cache's country of each person's number."""
    campaign = approved(client, "MARKETING")
    [warning] = campaign.plan().attrs["warnings"]
    report = campaign.send(progress=False)
    assert warning in report.notes


def test_send_report_has_no_us_note_for_utility_templates(client: CampaignClient) -> None:
    report = approved(client, "UTILITY").send(progress=False)
    assert not any("in the US" in note for note in report.notes)
