from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from campaign_sdk.schemas import (
    CopyCodeAction,
    PhoneAction,
    QuickReplyAction,
    TwilioAction,
    UrlAction,
    VoiceCallAction,
    parse_content_context,
)

from ._factories import (
    CARD,
    CTA,
    copy_code,
    data,
    fields_and_rules,
    phone_button,
    quick_reply,
    rules,
    url_button,
    voice_call,
)

ACTIONS = TypeAdapter(list[TwilioAction])


def test_actions_parse_from_dicts_by_type() -> None:
    raw = [quick_reply(), url_button(), phone_button(), copy_code(), voice_call()]
    parsed = ACTIONS.validate_python(raw)
    expected: list[type] = [QuickReplyAction, UrlAction, PhoneAction, CopyCodeAction, VoiceCallAction]
    assert [type(a) for a in parsed] == expected


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (QuickReplyAction(title="Yes", id="y"), {"type": "QUICK_REPLY", "title": "Yes", "id": "y"}),
        (
            UrlAction(title="Go", url="https://e.com/x"),
            {"type": "URL", "title": "Go", "url": "https://e.com/x"},
        ),
        (
            PhoneAction(title="Call", phone="+441234567890"),
            {"type": "PHONE_NUMBER", "title": "Call", "phone": "+441234567890"},
        ),
        (CopyCodeAction(code="A1"), {"type": "COPY_CODE", "title": "Copy Code", "code": "A1"}),
        (VoiceCallAction(title="Ring"), {"type": "VOICE_CALL", "title": "Ring"}),
    ],
)
def test_to_twilio_uses_twilio_field_names(action: Any, expected: dict[str, Any]) -> None:
    assert action.to_twilio() == expected


def test_actions_are_frozen() -> None:
    action = QuickReplyAction(title="Yes", id="y")
    with pytest.raises(ValidationError):
        action.title = "No"  # type: ignore[misc]


@pytest.mark.parametrize(("length", "expected"), [(20, []), (21, ["max_length"])])
def test_quick_reply_title_boundary(length: int, expected: list[str]) -> None:
    """twilio/quick-reply: a quick-reply title is at most 20 characters."""
    assert rules(CARD, data(CARD, actions=[quick_reply(title="t" * length)])) == expected


@pytest.mark.parametrize("make", [url_button, phone_button, voice_call])
@pytest.mark.parametrize(("length", "expected"), [(25, []), (26, ["max_length"])])
def test_call_to_action_title_boundary(make: Any, length: int, expected: list[str]) -> None:
    """twilio/call-to-action: URL / phone / voice-call button text "Max 25 chars" (and WhatsApp's 25)."""
    assert rules(CARD, data(CARD, actions=[make(title="t" * length)])) == expected


def test_title_message_names_the_stricter_rule() -> None:
    with pytest.raises(ValidationError) as info:
        QuickReplyAction(title="t" * 23, id="x")
    message = str(info.value)
    assert "title is 23 characters; Twilio allows at most 20" in message
    assert "some WhatsApp pages say 25; the stricter limit is enforced" in message


def test_empty_title_is_rejected() -> None:
    assert fields_and_rules(CARD, data(CARD, actions=[quick_reply(title="")])) == [
        ("actions[0].title", "min_length")
    ]


@pytest.mark.parametrize(("length", "expected"), [(128, []), (129, ["max_length"])])
def test_quick_reply_id_boundary(length: int, expected: list[str]) -> None:
    assert rules(CARD, data(CARD, actions=[quick_reply(id="i" * length)])) == expected


def test_quick_reply_id_message_names_both_limits() -> None:
    with pytest.raises(ValidationError) as info:
        QuickReplyAction(title="Yes", id="i" * 150)
    assert "Twilio allows 200 but approved WhatsApp templates 128" in str(info.value)


@pytest.mark.parametrize("ttl", [0, 1, 43200, 43201, "soon"])
def test_voice_call_ttl_is_dropped_not_validated(ttl: Any) -> None:
    # ttl_minutes is not in #/components/schemas/callToActionAction and twilio-python drops it.
    model = parse_content_context(CTA, data(CTA, actions=[voice_call(ttl_minutes=ttl)]))
    assert model.to_twilio()["actions"] == [{"type": "VOICE_CALL", "title": "Call now"}]


@pytest.mark.parametrize(
    "phone",
    ["+14155550100", "+442071838750", "+12"],
)
def test_valid_e164_numbers(phone: str) -> None:
    assert rules(CTA, data(CTA, actions=[phone_button(phone=phone)])) == []


@pytest.mark.parametrize(
    "phone",
    ["14155550100", "+04155550100", "+1 415 555 0100", "+1234567890123456", "+1", ""],
)
def test_invalid_e164_numbers(phone: str) -> None:
    assert rules(CTA, data(CTA, actions=[phone_button(phone=phone)])) == ["e164"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/", []),
        ("http://example.com/a?b=c", []),
        ("https://example.com/track/{{order_id}}", []),
        ("https://example.com/?id={{order_id}}", []),
        # A static URL without a path is an ordinary URL button; the '/' rule is for variable URLs.
        ("https://example.com", []),
        ("https://example.com?x=1", []),
        ("https://example.com?x={{a}}", ["url_path"]),
        ("https://example.com/{{a}}", []),
        ("ftp://example.com/", ["url_scheme"]),
        ("example.com/", ["url_scheme"]),
        ("https:///path", ["url_invalid"]),
        ("https://example.com/a b", ["url_invalid"]),
        ("https://example.com/{{a}}/x", ["url_variable_position"]),
        ("https://example.com/{{a}}{{b}}", ["url_variable_position"]),
        ("https://{{host}}/x", ["url_variable_position"]),
        ("https://example.com/{{ a }}", ["malformed_placeholder"]),
    ],
)
def test_url_button_rules(url: str, expected: list[str]) -> None:
    assert rules(CTA, data(CTA, actions=[url_button(url=url)])) == expected


def test_copy_code_title_defaults_to_copy_code() -> None:
    assert CopyCodeAction(code="X").title == "Copy Code"


@pytest.mark.parametrize(
    ("action", "field", "rule"),
    [
        ({"type": "BUY"}, "actions[0].type", "unknown_action_type"),
        ({"title": "No type"}, "actions[0].type", "required"),
        ({"type": "URL", "title": "Go"}, "actions[0].url", "required"),
        (
            {"type": "URL", "title": "Go", "url": "https://e.com/", "phone": "+1"},
            "actions[0].phone",
            "extra_field",
        ),
        ({"type": "VOICE_CALL_REQUEST", "title": "Go"}, "actions[0].type", "action_type_not_allowed"),
    ],
)
def test_structural_action_errors(action: dict[str, Any], field: str, rule: str) -> None:
    assert fields_and_rules(CARD, data(CARD, actions=[action])) == [(field, rule)]
