"""WhatsApp's rules (the lint) and the SMS/MMS check, at each limit and one past it.

Sources are named in campaign_sdk/facts/content.py; each test cites the rule it pins.
"""

from __future__ import annotations

from typing import Any

import pytest

from campaign_sdk import TemplateValidationError
from campaign_sdk.schemas import (
    TwilioMediaContext,
    TwilioTextContext,
    check_whatsapp,
    lint_channel,
    lint_whatsapp,
    parse_content_context,
)

from ._factories import CARD, CTA, QUICK_REPLY, copy_code, phone_button, quick_reply, url_button, voice_call


def wa_rules(content_type: str, **fields: Any) -> list[str]:
    return [i.rule for i in lint_whatsapp(parse_content_context(content_type, fields))]


def body_of(length: int) -> str:
    """A WhatsApp-friendly body of exactly ``length`` characters."""
    return ("Hello there, " + "x" * length)[:length]


# -- body: at most 1,024 characters for every content type (Meta's template components) --------
@pytest.mark.parametrize(("length", "expected"), [(1024, []), (1025, ["wa_body_too_long"])])
@pytest.mark.parametrize("content_type", ["twilio/text", "twilio/media", "twilio/card"])
def test_whatsapp_body_limit_for_every_type(content_type: str, length: int, expected: list[str]) -> None:
    extra: dict[str, Any] = {"media": ["https://example.com/a.png"]} if content_type != "twilio/text" else {}
    assert wa_rules(content_type, body=body_of(length), **extra) == expected


@pytest.mark.parametrize(("content_type", "field"), [(CARD, "title"), ("whatsapp/card", "body")])
def test_where_twilio_already_stops_at_1024_the_model_refuses(content_type: str, field: str) -> None:
    extra = {"subtitle": "x"} if content_type == CARD else {"footer": "x"}
    assert wa_rules(content_type, **{field: body_of(1024)}, **extra) == []
    with pytest.raises(TemplateValidationError) as info:
        parse_content_context(content_type, {field: body_of(1025), **extra})
    assert info.value.rules == ["max_length"] and info.value.issues[0].limit == 1024


def test_emoji_count_two_characters() -> None:
    # Twilio (error 21617) counts emoji as more than one character: UTF-16 code units.
    assert wa_rules("twilio/text", body="Hi " + "é" * 1021) == []
    fits = "Hi " + "😀" * 510 + "x"  # 3 + 1020 + 1 = 1024 code units
    issues = lint_whatsapp(TwilioTextContext(body=fits))
    assert "wa_body_too_long" not in [i.rule for i in issues]
    issues = lint_whatsapp(TwilioTextContext(body=fits + "x"))
    assert [i.limit for i in issues if i.rule == "wa_body_too_long"] == [1024]


# -- buttons (card, call-to-action): 2 URL, 1 phone, 1 copy code, quick replies grouped --------
@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        ([url_button(), url_button()], []),
        ([url_button(), url_button(), url_button()], ["wa_too_many_url_buttons"]),
        ([phone_button()], []),
        ([phone_button(), phone_button()], ["wa_too_many_phone_buttons"]),
        ([phone_button(), voice_call()], ["wa_too_many_phone_buttons"]),
        ([copy_code()], []),
        ([copy_code(), copy_code()], ["wa_too_many_copy_code_buttons"]),
        ([copy_code(code="C" * 15)], []),
        ([copy_code(code="C" * 16)], ["wa_code_too_long"]),
        ([url_button(url="https://e.com/" + "p" * 1986)], []),  # 2,000 characters
        ([url_button(url="https://e.com/" + "p" * 1987)], ["wa_url_too_long"]),
        ([url_button(url="https://example.com")], []),  # a static URL without a path is fine
    ],
)
def test_call_to_action_buttons(actions: list[dict[str, Any]], expected: list[str]) -> None:
    assert wa_rules(CTA, body="Your order is on its way to you", actions=actions) == expected


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        ("QQU", []),
        ("UQQ", []),
        ("QUQ", ["wa_quick_replies_not_grouped"]),
        ("QQQQQQQQQQ", []),
    ],
)
def test_card_quick_replies_are_grouped(kinds: str, expected: list[str]) -> None:
    make = {"Q": lambda i: quick_reply(id=f"q{i}"), "U": lambda i: url_button()}
    actions = [make[kind](i) for i, kind in enumerate(kinds)]
    assert wa_rules(CARD, title="Pick one of these options", actions=actions) == expected


def test_eleven_buttons_are_refused_by_the_content_api_itself() -> None:
    actions = [quick_reply(id=f"q{i}") for i in range(11)]
    with pytest.raises(TemplateValidationError) as info:
        parse_content_context(CARD, {"title": "Pick", "actions": actions})
    assert info.value.rules == ["too_many_actions"]
    assert info.value.issues[0].limit == 10


def test_a_copy_code_variable_is_checked_through_its_sample() -> None:
    context = parse_content_context(CTA, {"body": "Your code for today", "actions": [copy_code(code="{{code}}")]})
    assert [i.rule for i in lint_whatsapp(context, samples={"code": "C" * 15})] == []
    assert [i.rule for i in lint_whatsapp(context, samples={"code": "C" * 16})] == ["wa_code_too_long"]


# -- media: one attachment / header on WhatsApp, up to 10 on MMS --------------------------------
@pytest.mark.parametrize(("count", "expected"), [(1, []), (2, ["wa_one_media"])])
@pytest.mark.parametrize("content_type", ["twilio/media", "twilio/card"])
def test_whatsapp_takes_one_media(content_type: str, count: int, expected: list[str]) -> None:
    media = [f"https://example.com/{i}.png" for i in range(count)]
    assert wa_rules(content_type, body="Here is your receipt", media=media) == expected


@pytest.mark.parametrize(("count", "expected"), [(10, []), (11, ["mms_too_many_media"])])
def test_mms_takes_ten_media(count: int, expected: list[str]) -> None:
    media = TwilioMediaContext(body="Photos", media=[f"https://example.com/{i}.png" for i in range(count)])
    assert [i.rule for i in lint_channel(media, "mms")] == expected


def test_sms_carries_text_only() -> None:
    assert lint_channel(TwilioTextContext(body="Hi"), "sms") == []
    issue = lint_channel(parse_content_context(QUICK_REPLY, {"body": "Hi", "actions": [quick_reply()]}), "sms")[0]
    assert issue.rule == "channel_not_supported" and issue.source == "Twilio"


# -- severity: documented rules are errors, heuristics warnings ---------------------------------
def test_heuristics_are_warnings_and_do_not_block() -> None:
    context = TwilioTextContext(body="Hi {{a}} there")  # 2x+1 words: a heuristic
    issues = lint_whatsapp(context)
    assert [(i.rule, i.severity) for i in issues] == [("wa_too_few_words", "warning")]
    assert "heuristic" in issues[0].message
    assert check_whatsapp(context) == issues  # returned, not raised


def test_documented_rules_are_errors_with_field_rule_limit_source_and_fix() -> None:
    context = parse_content_context(CTA, {"body": "{{a}} is here for you today my friend",
                                          "actions": [url_button()] * 3})
    with pytest.raises(TemplateValidationError) as info:
        check_whatsapp(context)
    by_rule = {i.rule: i for i in info.value.issues}
    assert set(by_rule) == {"wa_variable_at_start", "wa_too_many_url_buttons"}
    urls = by_rule["wa_too_many_url_buttons"]
    assert (urls.field, urls.severity, urls.limit, urls.source) == ("actions", "error", 2, "WhatsApp")
    assert "Remove 1" in urls.message and urls.url.startswith("https://developers.facebook.com/")
    assert "actions: the template has 3 URL buttons" in str(info.value)


def test_a_card_title_with_a_body_is_a_header_warning_past_60() -> None:
    assert wa_rules(CARD, title="t" * 60, body="Your order is on its way to you") == []
    issues = lint_whatsapp(parse_content_context(CARD, {"title": "t" * 61, "body": "Your order is on its way"}))
    assert [(i.rule, i.severity, i.limit) for i in issues] == [("wa_header_too_long", "warning", 60)]


def test_in_session_types_cannot_be_submitted() -> None:
    picker = parse_content_context("twilio/list-picker", {"body": "Pick", "button": "Open", "items": [{"item": "A", "id": "a"}]})
    assert [i.rule for i in lint_whatsapp(picker)] == ["wa_in_session_only"]


@pytest.mark.parametrize(("header", "expected"), [("Hi {{a}}", []), ("Hi {{a}} and {{b}}", ["wa_header_variables"])])
def test_a_whatsapp_header_takes_one_variable(header: str, expected: list[str]) -> None:
    rules = wa_rules("whatsapp/card", body="Your table is ready for you and your friends", header_text=header)
    assert [r for r in rules if r.startswith("wa_header")] == expected


@pytest.mark.parametrize(("sample", "expected"), [("images/cart.png", []), ("cart", ["wa_media_sample"]),
                                                  ("a b.png", ["wa_media_sample"])])
def test_a_media_variables_sample_completes_a_file_url(sample: str, expected: list[str]) -> None:
    media = TwilioMediaContext(body="Your receipt is here for you", media=["https://example.com/{{file}}"])
    rules = [i.rule for i in lint_whatsapp(media, samples={"file": sample}) if i.rule.startswith("wa_media")]
    assert rules == expected
