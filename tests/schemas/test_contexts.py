from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from campaign_sdk.schemas import (
    CONTENT_TYPES,
    TwilioCallToActionContext,
    TwilioCardContext,
    TwilioMediaContext,
    TwilioQuickReplyContext,
    TwilioTextContext,
    parse_content_context,
)

from ._factories import (
    CARD,
    CTA,
    MEDIA,
    QUICK_REPLY,
    TEXT,
    VALID,
    copy_code,
    data,
    fields_and_rules,
    phone_button,
    quick_reply,
    rules,
    url_button,
    voice_call,
)


def test_content_types_map_to_their_classes() -> None:
    assert list(CONTENT_TYPES)[:5] == [
        "twilio/text", "twilio/media", "twilio/card", "twilio/call-to-action", "twilio/quick-reply",
    ]
    assert CONTENT_TYPES["twilio/text"] is TwilioTextContext
    assert CONTENT_TYPES["twilio/card"] is TwilioCardContext
    assert {TwilioMediaContext, TwilioCallToActionContext, TwilioQuickReplyContext} <= set(CONTENT_TYPES.values())
    assert set(CONTENT_TYPES) >= {
        "twilio/carousel", "whatsapp/card", "whatsapp/authentication", "twilio/list-picker",
        "twilio/location", "twilio/catalog",
    }
    assert all(cls.content_type == key for key, cls in CONTENT_TYPES.items())


@pytest.mark.parametrize("content_type", list(VALID))
def test_valid_contexts_round_trip_through_to_twilio(content_type: str) -> None:
    model = parse_content_context(content_type, VALID[content_type])
    assert model.to_twilio() == VALID[content_type]
    assert parse_content_context(content_type, model.to_twilio()) == model


def test_to_twilio_leaves_out_missing_fields_and_names_action_fields() -> None:
    card = TwilioCardContext(title="Hi", actions=[copy_code()])
    assert card.to_twilio() == {
        "title": "Hi",
        "actions": [{"type": "COPY_CODE", "title": "Copy Code", "code": "SAVE10"}],
    }


@pytest.mark.parametrize(
    ("content_type", "field", "limit"),
    [
        (TEXT, "body", 1600),
        (MEDIA, "body", 1600),
        (CARD, "title", 1024),
        (CARD, "subtitle", 60),
        (CTA, "body", 640),
        (QUICK_REPLY, "body", 1024),
    ],
)
def test_field_length_boundaries(content_type: str, field: str, limit: int) -> None:
    assert rules(content_type, data(content_type, **{field: "x" * limit})) == []
    assert fields_and_rules(content_type, data(content_type, **{field: "x" * (limit + 1)})) == [
        (field, "max_length")
    ]


def test_length_counts_python_characters() -> None:
    body = "é" * 1600  # 3,200 bytes in UTF-8, 1,600 characters
    assert rules(TEXT, {"body": body}) == []


@pytest.mark.parametrize(
    ("content_type", "field"),
    [
        (TEXT, "body"),
        (MEDIA, "media"),
        (CTA, "body"),
        (CTA, "actions"),
        (QUICK_REPLY, "body"),
        (QUICK_REPLY, "actions"),
    ],
)
def test_required_fields(content_type: str, field: str) -> None:
    assert (field, "required") in fields_and_rules(content_type, data(content_type, **{field: None}))


@pytest.mark.parametrize("content_type", list(VALID))
def test_unknown_fields_are_rejected(content_type: str) -> None:
    assert fields_and_rules(content_type, data(content_type, bogus="x")) == [("bogus", "extra_field")]


def test_card_takes_a_body_as_twilio_card_page_says() -> None:
    # https://www.twilio.com/docs/content/twiliocard: "either a title or a body, and at least one more field"
    assert fields_and_rules(CARD, {"body": "Hi", "subtitle": "x"}) == []
    assert fields_and_rules(CARD, {"title": "Hi", "body": "there"}) == []
    assert fields_and_rules(CARD, {"subtitle": "x", "media": ["https://e.com/a.png"]}) == [
        ("template", "required_one_of")
    ]
    assert fields_and_rules(CARD, {"body": "Hi"}) == [("template", "required_one_of")]


def test_wrong_types_are_reported() -> None:
    assert fields_and_rules(TEXT, {"body": 5}) == [("body", "wrong_type")]


def test_media_body_is_optional() -> None:
    assert rules(MEDIA, data(MEDIA, body=None)) == []


@pytest.mark.parametrize(
    ("media", "expected"),
    [
        ([], [("media", "min_length")]),
        (["https://example.com/a.png", "https://example.com/{{file}}"], []),
        (["https://example.com/a.png", "/local.png"], [("media[1]", "url_scheme")]),
        (["https://{{cdn}}.example.com/a.png"], [("media[0]", "url_variable_position")]),
        (["https://example.com/{{ file }}"], [("media[0]", "malformed_placeholder")]),
    ],
)
def test_media_urls(media: list[str], expected: list[tuple[str, str]]) -> None:
    assert fields_and_rules(MEDIA, data(MEDIA, media=media)) == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"subtitle": "Footer"}, []),
        ({"media": ["https://example.com/a.png"]}, []),
        ({"actions": [quick_reply()]}, []),
        ({}, [("template", "required_one_of")]),
        ({"actions": []}, [("actions", "too_few_actions"), ("template", "required_one_of")]),
    ],
)
def test_card_needs_title_and_one_more_field(fields: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert fields_and_rules(CARD, {"title": "Hello", **fields}) == expected


def test_card_accepts_every_action_type() -> None:
    actions = [quick_reply(), url_button(), phone_button(), copy_code(), voice_call()]
    assert rules(CARD, data(CARD, actions=actions)) == []


@pytest.mark.parametrize(("content_type", "make"), [(CARD, url_button), (QUICK_REPLY, quick_reply)])
@pytest.mark.parametrize(("count", "expected"), [(10, []), (11, ["too_many_actions"])])
def test_at_most_10_actions(content_type: str, make: Any, count: int, expected: list[str]) -> None:
    if make is quick_reply:
        actions = [quick_reply(id=f"id{i}") for i in range(count)]
    else:
        actions = [url_button() for _ in range(count)]
    assert rules(content_type, data(content_type, actions=actions)) == expected


def test_quick_reply_count_message_mentions_the_older_limit() -> None:
    actions = [quick_reply(id=f"id{i}") for i in range(11)]
    with pytest.raises(ValidationError, match="older version said 5"):
        TwilioQuickReplyContext(body="Pick", actions=actions)


@pytest.mark.parametrize("content_type", [QUICK_REPLY, CTA])
def test_at_least_one_action(content_type: str) -> None:
    assert fields_and_rules(content_type, data(content_type, actions=[])) == [("actions", "too_few_actions")]


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        # WhatsApp's button counts are checked by the lint; the Content API takes these.
        ([url_button(), url_button()], []),
        ([url_button(), url_button(), url_button()], []),
        ([phone_button(), copy_code(), url_button()], []),
        ([phone_button(), phone_button()], []),
        ([voice_call()], []),
        ([{"type": "VOICE_CALL_REQUEST", "title": "May we call?"}], []),
        ([url_button(), quick_reply()], [("actions[1].type", "action_type_not_allowed")]),
    ],
)
def test_call_to_action_button_rules(actions: list[dict[str, Any]], expected: list[tuple[str, str]]) -> None:
    assert fields_and_rules(CTA, data(CTA, actions=actions)) == expected


@pytest.mark.parametrize("make", [url_button, phone_button, copy_code, voice_call])
def test_quick_reply_accepts_only_quick_reply_buttons(make: Any) -> None:
    assert fields_and_rules(QUICK_REPLY, data(QUICK_REPLY, actions=[make()])) == [
        ("actions[0].type", "action_type_not_allowed")
    ]


def test_quick_reply_ids_are_unique() -> None:
    actions = [quick_reply(id="a"), quick_reply(id="b"), quick_reply(id="a")]
    assert fields_and_rules(QUICK_REPLY, data(QUICK_REPLY, actions=actions)) == [
        ("actions[2].id", "duplicate_id")
    ]


def test_models_are_frozen_and_compare_by_value() -> None:
    text = TwilioTextContext(body="Hi")
    assert text == TwilioTextContext(body="Hi")
    with pytest.raises(ValidationError):
        text.body = "Bye"  # type: ignore[misc]


def test_direct_construction_raises_pydantic_error_with_the_rule_as_type() -> None:
    with pytest.raises(ValidationError) as info:
        TwilioTextContext(body="x" * 1601)
    assert isinstance(info.value, ValueError)
    assert info.value.errors()[0]["type"] == "max_length"
