"""Approval done right: author-declared samples, the template language, the category checked
against the content, rejection reasons with what to change, and refusals that change nothing."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from campaign_sdk import (
    CampaignNotFoundError,
    CampaignStateError,
    CampaignStatus,
    GatewayError,
    InvalidArgumentError,
    TemplateValidationError,
    TwilioTextContext,
)
from campaign_sdk.gateways import ContentRequest
from campaign_sdk.schemas import TwilioListPickerContext

from .conftest import content_sid

SQLITE_ONLY = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
PICKER = TwilioListPickerContext(body="Where to?", button="Choose", items=[{"item": "NYC", "id": "nyc"}])


def test_language_defaults_to_en_is_stored_and_sent(sender, twilio_server) -> None:
    english = sender.create_campaign("English", template="order_confirmation")
    brazil = sender.create_campaign("Brazil", template="order_confirmation", language="pt_BR")
    assert (english.language, brazil.language) == ("en", "pt_BR")
    brazil.submit_for_approval(category="UTILITY")
    assert twilio_server.requests[0].json["language"] == "pt_BR"


@SQLITE_ONLY
@pytest.mark.parametrize(("given", "hint"), [("en-US", "en_US"), ("PT_br", "pt_BR"), ("english", None), ("", None)])
def test_a_language_whatsapp_does_not_know_is_refused_with_the_nearest_code(sender, given, hint) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        sender.create_campaign("X", template="order_confirmation", language=given)
    assert "not a WhatsApp template language" in str(refused.value)
    assert (f"did you mean {hint!r}" in str(refused.value)) is (hint is not None)
    with pytest.raises(CampaignNotFoundError):
        sender.campaign("X")  # nothing was created


@SQLITE_ONLY
def test_language_can_change_while_editable(sender) -> None:
    campaign = sender.create_campaign("Orders", template="order_confirmation")
    campaign.update(language="es_MX")
    assert campaign.language == "es_MX"


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("template", "category", "accepted"),
    [("order_confirmation", "AUTHENTICATION", False), ("login_code", "MARKETING", False),
     ("login_code", "UTILITY", False), ("login_code", "AUTHENTICATION", True), ("new_arrivals", "MARKETING", True)],
)
def test_the_category_must_fit_the_content(sender, twilio_server, template, category, accepted) -> None:
    campaign = sender.create_campaign("C", template=template, campaign_type="service")
    if accepted:
        campaign.submit_for_approval(category=category)
        assert twilio_server.requests[-1].json["category"] == category
        return
    with pytest.raises(TemplateValidationError) as refused:
        campaign.submit_for_approval(category=category)
    assert refused.value.rules == ["wa_category_mismatch"] and refused.value.issues[0].source == "WhatsApp"
    assert twilio_server.requests == [] and campaign.status == CampaignStatus.UNSUBMITTED


@SQLITE_ONLY
def test_the_authentication_template_sends_no_samples_and_the_otp_at_send_time(sender, twilio_server) -> None:
    campaign = sender.create_campaign("OTP", template="login_code", campaign_type="service")
    campaign.submit_for_approval(category="AUTHENTICATION")
    create = twilio_server.requests[0].json
    assert create["variables"] == {} and create["types"]["whatsapp/authentication"]["code_expiration_minutes"] == 10


@SQLITE_ONLY
def test_every_problem_of_a_submission_is_reported_at_once(sender, twilio_server) -> None:
    content = TwilioTextContext(body="Hello {{first_name}}, your code {{code}} is waiting for you today.")
    campaign = sender.create_campaign("Codes", content=content)
    with pytest.raises(TemplateValidationError) as refused:
        campaign.submit_for_approval(samples={"first_name": "Ana\nMaria"})
    assert sorted((i.field, i.rule) for i in refused.value.issues) == [
        ("samples.code", "wa_missing_sample"), ("samples.first_name", "wa_sample_whitespace")]
    assert campaign.approval_samples == {} and twilio_server.requests == []


@SQLITE_ONLY
def test_stored_samples_are_reused_on_a_resubmission(sender, twilio_server) -> None:
    campaign = sender.create_campaign("Orders", content=TwilioTextContext(body="Dear {{lead_name}}, your order is ready."))
    campaign.submit_for_approval(category="UTILITY", samples={"lead_name": "Zoe"})
    twilio_server.set_approval(content_sid(campaign), "rejected", reason="INVALID_FORMAT")
    campaign.sync_approval()
    assert campaign.rejection.splitlines() == [
        "INVALID_FORMAT", "What to change: remove tabs, line breaks in values and runs of more than 4 spaces; "
        "check every button URL"]
    campaign.update(content=TwilioTextContext(body="Dear {{lead_name}}, your order is ready to collect."))
    campaign.submit_for_approval(category="UTILITY")  # the stored samples are used again
    assert twilio_server.requests[-2].json["variables"] == {"1": "Zoe"}
    assert campaign.rejection is None


@SQLITE_ONLY
def test_a_refusal_by_twilio_leaves_the_state_unchanged_and_says_why(sender, twilio_server) -> None:
    campaign = sender.create_campaign("Orders", template="order_confirmation")
    twilio_server.fail("error", path="/ApprovalRequests", status=400, code=None)
    with pytest.raises(GatewayError, match="Twilio refused to submit HX"):
        campaign.submit_for_approval(category="UTILITY", samples={"lead_name": "Zoe", "order_id": "Z-1"})
    row = campaign._row()
    assert (row.status, row.approval_state, row.content_sid, row.approval_samples, row.approval_name) == (
        CampaignStatus.UNSUBMITTED, "unsubmitted", None, None, None)


def test_the_local_twilio_refuses_an_approval_without_samples(gateway, twilio_server) -> None:
    sid = gateway.create_content(ContentRequest(
        friendly_name="t", content_type="twilio/text", types={"twilio/text": {"body": "Hi {{1}}, all set."}}))
    with pytest.raises(GatewayError, match=r"missing \{\{1\}\}"):
        gateway.submit_approval(sid, name="t_1", category="UTILITY")


@SQLITE_ONLY
def test_in_session_types_are_refused_for_campaigns_that_start_conversations(sender) -> None:
    with pytest.raises(TemplateValidationError) as refused:
        sender.create_campaign("Menu", content=PICKER)
    assert refused.value.rules == ["in_session_only"] and "service campaign" in str(refused.value)
    service = sender.create_campaign("Menu", content=PICKER, campaign_type="service")
    assert service.content == PICKER
    with pytest.raises(TemplateValidationError) as submitted:
        service.submit_for_approval(category="UTILITY")
    assert "wa_in_session_only" in submitted.value.rules


@SQLITE_ONLY
def test_an_in_session_template_of_a_service_campaign_triggers_without_approval(sender, twilio_server) -> None:
    menu = sender.create_campaign("Menu", content=PICKER, campaign_type="service")
    with pytest.raises(CampaignStateError, match="submit_for_approval|approved"):
        menu.enable()
    menu.register_content().enable()
    create = twilio_server.requests[-1]
    assert create.path == "/v1/Content" and list(create.json["types"]) == ["twilio/list-picker"]
    assert not any(r.path.endswith("/ApprovalRequests/whatsapp") for r in twilio_server.requests)
    assert menu.status == CampaignStatus.UNSUBMITTED
    before = len(twilio_server.requests)
    with pytest.raises(CampaignStateError, match="outside_service_window.*never messaged"):
        menu.trigger("+14155550100", key="menu-1")  # free-form, outside the 24 h window: refused here
    assert len(twilio_server.requests) == before  # not sent and failed by Twilio (63016)
    sender.record_replies([{"sid": "SM" + "1" * 32, "from": "+14155550100", "body": "menu please",
                            "received_at": dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)}])
    sent = menu.trigger("+14155550100", key="menu-1")
    assert sent.sid.startswith("SM")
    assert twilio_server.requests[-1].field("ContentSid") == content_sid(menu)
    marketing = sender.create_campaign("Promo", template="order_confirmation")
    with pytest.raises(CampaignStateError, match="only a service campaign sends without approval"):
        marketing.register_content()
    sender.record_replies([{"sid": "SM" + "2" * 32, "from": "+14155550101", "body": "hi",
                            "received_at": dt.datetime.now(dt.UTC) - dt.timedelta(hours=25)}])
    with pytest.raises(CampaignStateError, match="outside_service_window.*last messaged at"):
        menu.trigger("+14155550101")


@SQLITE_ONLY
def test_an_unapproved_text_template_of_a_service_campaign_is_free_form_in_plan_and_trigger(sender, twilio_server) -> None:
    """Twilio sends a template WhatsApp has not approved inside the 24-hour window only: plan(),
    enable() and trigger() read it the same way (the plan said send / outside_service_window
    while enable() and trigger() refused the campaign)."""
    support = sender.create_campaign("Support", campaign_type="service",
                                     content=TwilioTextContext(body="Hi {{lead_name}}, your ticket was updated."))
    support.add_leads(pd.DataFrame({"phone_number": ["+14155550100", "+14155550101"], "lead_name": ["A", "B"]}))
    sender.record_replies([{"sid": "SM" + "3" * 32, "from": "+14155550100", "body": "any news?",
                            "received_at": dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)}])
    support.register_content().enable()
    assert support.status == CampaignStatus.UNSUBMITTED
    plan = support.plan().set_index("phone_number")
    assert plan.loc["+14155550100", "action"] == "send" and plan.attrs["problems"] == []
    assert tuple(plan.loc["+14155550101", ["action", "reason"]]) == ("skip", "outside_service_window")
    assert support.trigger("+14155550100", key="t-1").sid.startswith("SM")
    with pytest.raises(CampaignStateError, match="outside_service_window.*never messaged"):
        support.trigger("+14155550101", key="t-2")
