"""Per-lead checks before a send: each lead's values filled in, refused for the reasons Twilio
and WhatsApp would refuse them (63021 over 1,024 characters, 21656 empty, Meta's value format),
reported by preflight and skipped by send() instead of failing at Twilio."""

from __future__ import annotations

import pandas as pd
import pytest

from campaign_sdk.sending._preflight import LeadCheck
from campaign_sdk.schemas import TwilioTextContext

from .conftest import numbers

SQLITE_ONLY = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
BODY = "Hi {{lead_name}}, thank you for your order {{order_id}}. We will message you again as soon as it ships."
FIXED = len(BODY) - len("{{lead_name}}") - len("{{order_id}}")


def name_for(total: int, order_id: str = "A-1") -> str:
    """A lead name that makes the filled message exactly ``total`` characters long."""
    return "n" * (total - FIXED - len(order_id))


@pytest.mark.parametrize(
    ("value", "reason"),
    [("Ana Maria", None), ("Ana    Maria", None), ("Ana     Maria", "value_format"), ("Ana\nMaria", "value_format"),
     ("Ana\tMaria", "value_format"), ("Ana\r", "value_format")],
)
def test_value_format_at_the_limit_and_one_past(value: str, reason: str | None) -> None:
    check = LeadCheck(TwilioTextContext(body=BODY))
    assert check.content_reason({"lead_name": value, "order_id": "A-1"}) == reason


@pytest.mark.parametrize(("total", "reason"), [(1024, None), (1025, "message_too_long")])
def test_message_length_at_the_limit_and_one_past(total: int, reason: str | None) -> None:
    check = LeadCheck(TwilioTextContext(body=BODY))
    assert check.content_reason({"lead_name": name_for(total), "order_id": "A-1"}) == reason


def test_sms_allows_1600_characters() -> None:
    check = LeadCheck(TwilioTextContext(body=BODY), channel="sms")
    assert check.content_reason({"lead_name": name_for(1600), "order_id": "A-1"}) is None
    assert check.content_reason({"lead_name": name_for(1601), "order_id": "A-1"}) == "message_too_long"


def test_emoji_count_two_characters_as_twilio_counts() -> None:
    check = LeadCheck(TwilioTextContext(body=BODY))
    emoji_name = "😀" * ((1024 - FIXED - 3) // 2) + "n" * ((1024 - FIXED - 3) % 2)
    assert check.content_reason({"lead_name": emoji_name, "order_id": "A-1"}) is None
    assert check.content_reason({"lead_name": emoji_name + "😀", "order_id": "A-1"}) == "message_too_long"


@SQLITE_ONLY
def test_preflight_reports_and_send_skips_each_bad_lead_with_its_reason(ready_campaign, twilio_server) -> None:
    phones = numbers(5)
    frame = pd.DataFrame({
        "phone_number": phones,
        "lead_name": ["Ana", name_for(1025), "Bo\nCarla", "", name_for(1024)],
        "order_id": ["A-1"] * 5,
    })
    campaign = ready_campaign(frame=frame)
    check = campaign.preflight()
    assert check.to_send == 2
    assert check.skipped == {"missing_variables": 1, "message_too_long": 1, "value_format": 1}
    reasons = dict(zip(check.skipped_leads["phone_number"], check.skipped_leads["reason"], strict=True))
    assert reasons == {phones[1]: "message_too_long", phones[2]: "value_format", phones[3]: "missing_variables"}
    report = campaign.send(progress=False)
    assert report.sent == 2 and report.failed == {}
    assert report.skipped == {"missing_variables": 1, "message_too_long": 1, "value_format": 1}
    assert sorted(m["to"].split(":")[-1] for m in twilio_server.sent()) == sorted([phones[0], phones[4]])
    assert report.complete


@SQLITE_ONLY
def test_a_trigger_with_a_bad_value_is_refused_before_twilio(sender, twilio_server) -> None:
    from campaign_sdk import TemplateValidationError

    from .conftest import approve

    campaign = approve(sender.create_campaign("Receipts", template="order_confirmation", campaign_type="service"),
                       twilio_server)
    before = len(twilio_server.requests)
    with pytest.raises(TemplateValidationError) as refused:
        campaign.trigger("+14155550100", {"lead_name": "Ana\nMaria", "order_id": "A-1"})
    assert refused.value.rules == ["value_format"]
    with pytest.raises(TemplateValidationError) as refused:
        campaign.trigger("+14155550100", {"lead_name": name_for(1025), "order_id": "A-1"})
    assert refused.value.rules == ["message_too_long"] and refused.value.issues[0].limit == 1024
    assert len(twilio_server.requests) == before and campaign.leads.empty  # nothing sent, nothing stored
    assert campaign.trigger("+14155550100", {"lead_name": name_for(1024), "order_id": "A-1"}).sid.startswith("SM")
