"""Campaign state rules: creation, editing, deletion, approval, enable / disable."""

from __future__ import annotations

import pytest

import campaign_sdk as cs
from campaign_sdk import (
    ApprovalState,
    CampaignClient,
    CampaignStateError,
    CampaignStatus,
    DuplicateCampaignError,
    TemplateValidationError,
)

GOOD = cs.TwilioTextContext(body="Hi {{lead_name}}, your order {{order_id}} ships today from our store.")


def _approved(client: CampaignClient, name: str = "C") -> cs.Campaign:
    campaign = client.create_campaign(name, content=GOOD)
    campaign.submit_for_approval(samples={"lead_name": "Ana", "order_id": "A1"})
    return campaign.set_approval_status("approved")


def test_create_from_content_raw_json_and_template(client: CampaignClient) -> None:
    a = client.create_campaign("A", content=GOOD)
    b = client.create_campaign("B", content_type="twilio/text", content_context='{"body": "Hello {{x}} and welcome aboard"}')
    c = client.create_campaign("C", template="abandoned_cart", campaign_type="service")
    assert a.content == GOOD
    assert b.variables == ["x"]
    assert c.campaign_type is cs.CampaignType.SERVICE
    assert c.to_schema().context_variables == list(cs.get_default_template("abandoned_cart").context_variables)
    assert [s.status for s in client.schemas()] == [CampaignStatus.UNSUBMITTED] * 3


def test_create_refuses_ambiguous_or_invalid_input(client: CampaignClient) -> None:
    with pytest.raises(ValueError, match="exactly one of"):
        client.create_campaign("A", content=GOOD, template="welcome_offer")
    with pytest.raises(TemplateValidationError) as err:
        client.create_campaign("A", content_type="twilio/text", content_context={"body": "x" * 1601})
    assert err.value.rules == ["max_length"]
    with pytest.raises(cs.UnknownContentTypeError, match="twilio/text"):
        client.create_campaign("A", content_type="twilio/fax", content_context={"body": "x"})
    assert client.campaigns().empty


def test_names_are_unique(client: CampaignClient) -> None:
    client.create_campaign("Black Friday", content=GOOD)
    with pytest.raises(DuplicateCampaignError, match="Black Friday"):
        client.create_campaign("  Black Friday ", content=GOOD)
    other = client.create_campaign("Cyber Monday", content=GOOD)
    with pytest.raises(DuplicateCampaignError):
        other.update(name="Black Friday")


def test_unknown_campaign_is_a_lookup_error(client: CampaignClient) -> None:
    with pytest.raises(LookupError, match="client.campaigns"):
        client.campaign("nope")
    with pytest.raises(cs.CampaignNotFoundError):
        client.campaign(42)


@pytest.mark.parametrize("state", ["pending", "approved"])
def test_submitted_or_approved_templates_cannot_be_edited(client: CampaignClient, state: str) -> None:
    campaign = client.create_campaign("C", content=GOOD)
    campaign.submit_for_approval(samples={"lead_name": "Ana", "order_id": "A1"})
    campaign.set_approval_status(state)
    with pytest.raises(CampaignStateError, match="cannot be edited"):
        campaign.update(content=cs.TwilioTextContext(body="Something else entirely {{x}} here ok"))
    with pytest.raises(CampaignStateError):
        campaign.submit_for_approval()
    campaign.update(name="Renamed")  # renaming is not editing the template
    assert campaign.name == "Renamed"
    assert campaign.content == GOOD


def test_editing_a_rejected_template_makes_it_unsubmitted(client: CampaignClient) -> None:
    campaign = client.create_campaign("C", content=GOOD)
    campaign.submit_for_approval(samples={"lead_name": "Ana", "order_id": "A1"})
    campaign.set_approval_status("rejected", reason="vague content")
    assert campaign.to_schema().rejection_reason == "vague content"
    new = cs.TwilioTextContext(body="Hi {{lead_name}}, order {{order_id}} left our warehouse today.")
    campaign.update(content=new)
    assert campaign.status is CampaignStatus.UNSUBMITTED
    assert campaign.content == new
    assert campaign.to_schema().rejection_reason is None


def test_submit_runs_the_whatsapp_lint_first(client: CampaignClient) -> None:
    campaign = client.create_campaign("C", content=cs.TwilioTextContext(body="{{lead_name}} {{order_id}}"))
    with pytest.raises(TemplateValidationError) as err:
        campaign.submit_for_approval()
    assert {"wa_variable_at_start", "wa_adjacent_variables"} <= set(err.value.rules)
    assert campaign.status is CampaignStatus.UNSUBMITTED
    with pytest.raises(ValueError, match="UTILITY, MARKETING, AUTHENTICATION"):
        client.create_campaign("D", content=GOOD).submit_for_approval(category="PROMO")


@pytest.mark.parametrize(
    ("twilio", "status", "keeps_enabled"),
    [
        ("received", CampaignStatus.PENDING, True),
        ("pending", CampaignStatus.PENDING, True),
        ("approved", CampaignStatus.APPROVED, True),
        ("rejected", CampaignStatus.REJECTED, False),
        ("paused", CampaignStatus.APPROVED, False),
        ("disabled", CampaignStatus.APPROVED, False),
        ("unsubmitted", CampaignStatus.UNSUBMITTED, False),
    ],
)
def test_every_twilio_approval_status_maps(client: CampaignClient, twilio: str, status: CampaignStatus, keeps_enabled: bool) -> None:
    campaign = _approved(client).enable()
    campaign.set_approval_status(twilio.upper())
    assert campaign.status is status
    assert campaign.approval_state is ApprovalState(twilio)
    assert (campaign.enabled is not None) is keeps_enabled


def test_only_approved_campaigns_can_be_enabled(client: CampaignClient) -> None:
    campaign = client.create_campaign("C", content=GOOD)
    with pytest.raises(CampaignStateError, match="only an approved template"):
        campaign.enable()
    campaign.submit_for_approval(samples={"lead_name": "Ana", "order_id": "A1"})
    campaign.set_approval_status("paused")
    with pytest.raises(CampaignStateError, match="paused"):
        campaign.enable()
    campaign.set_approval_status("approved")
    first = campaign.enable().enabled
    assert first is not None
    assert campaign.enable().enabled == first  # idempotent: keeps the original timestamp
    assert campaign.disable().enabled is None


def test_delete_refuses_a_campaign_with_history_unless_forced(client: CampaignClient) -> None:
    from tests.service.test_events import add_sent_message

    campaign = _approved(client)
    add_sent_message(client, campaign, "+14155552671")
    with pytest.raises(CampaignStateError, match="force=True"):
        campaign.delete()
    campaign.delete(force=True)
    assert client.campaigns().empty


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_bad_names_are_campaign_errors(client: CampaignClient, name: str) -> None:
    with pytest.raises(cs.InvalidArgumentError, match="name"):
        client.create_campaign(name, content=GOOD)
