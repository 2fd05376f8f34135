"""The content types beyond the first five: their Content API rules at each limit and one past
(Twilio's page for each type), compile to numbered variables, and the card's title-or-body rule."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from campaign_sdk.schemas import CONTENT_TYPES, compile_variables, get_variable_supported_fields, preview_text

from ._factories import AUTH, CARD, CAROUSEL, CATALOG, LIST, LOCATION, VALID, WA_CARD, quick_reply, rules, url_button


def with_(content_type: str, **changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(VALID[content_type]), **changes}


def card(**changes: Any) -> dict[str, Any]:
    return {"body": "Mug", "media": "https://example.com/mug.jpg", "actions": [url_button()], **changes}


# -- twilio/carousel: 1-10 cards; media + body; 1-2 buttons; same layout; 160 chars per card ------
@pytest.mark.parametrize(("count", "expected"), [(1, []), (10, []), (11, ["card_count"]), (0, ["card_count"])])
def test_carousel_card_count(count: int, expected: list[str]) -> None:
    assert rules(CAROUSEL, with_(CAROUSEL, cards=[card()] * count)) == expected


@pytest.mark.parametrize(
    ("actions", "expected"),
    [([url_button()], []), ([url_button(), quick_reply()], []), ([url_button()] * 3, ["too_many_actions"]),
     ([], ["too_few_actions"]),
     ([{"type": "COPY_CODE", "title": "Copy", "code": "X"}], ["unknown_action_type", "action_type_not_allowed"])],
)
def test_carousel_buttons_per_card(actions: list[dict[str, Any]], expected: list[str]) -> None:
    assert rules(CAROUSEL, with_(CAROUSEL, cards=[card(actions=actions)])) == expected


def test_carousel_cards_share_one_button_layout() -> None:
    same = [card(actions=[url_button(), quick_reply()]), card(actions=[url_button(), quick_reply(id="b")])]
    assert rules(CAROUSEL, with_(CAROUSEL, cards=same)) == []
    swapped = [card(actions=[url_button(), quick_reply()]), card(actions=[quick_reply(), url_button()])]
    assert rules(CAROUSEL, with_(CAROUSEL, cards=swapped)) == ["carousel_layout"]


@pytest.mark.parametrize(("title", "body", "expected"), [("t" * 60, "b" * 100, []), ("t" * 61, "b" * 100, ["max_length"]),
                                                          (None, "b" * 160, []), (None, "b" * 161, ["max_length"])])
def test_carousel_card_title_and_body_share_160(title: str | None, body: str, expected: list[str]) -> None:
    one = {k: v for k, v in card(title=title, body=body).items() if v is not None}
    assert rules(CAROUSEL, with_(CAROUSEL, cards=[one])) == expected


def test_carousel_card_needs_media_and_body() -> None:
    assert rules(CAROUSEL, with_(CAROUSEL, cards=[{"body": "x", "actions": [url_button()]}])) == ["required"]


# -- whatsapp/authentication: expiry 1-90 whole minutes, one copy-code button -------------------
@pytest.mark.parametrize(("minutes", "expected"), [(1, []), (90, []), (0, ["out_of_range"]), (91, ["out_of_range"]),
                                                   (10.5, ["wrong_type"])])
def test_otp_expiry(minutes: Any, expected: list[str]) -> None:
    assert rules(AUTH, with_(AUTH, code_expiration_minutes=minutes)) == expected


@pytest.mark.parametrize(("text", "expected"), [("c" * 25, []), ("c" * 26, ["max_length"])])
def test_otp_button_text(text: str, expected: list[str]) -> None:
    assert rules(AUTH, with_(AUTH, actions=[{"type": "COPY_CODE", "copy_code_text": text}])) == expected


def test_otp_has_exactly_one_button_and_one_send_time_variable() -> None:
    two = [{"copy_code_text": "a"}, {"copy_code_text": "b"}]
    assert rules(AUTH, with_(AUTH, actions=two)) == ["otp_button"]
    compiled = compile_variables(CONTENT_TYPES[AUTH].model_validate(VALID[AUTH]))
    assert compiled.mapping == {"otp": "1"} and compiled.to_json({"otp": "482913"}) == '{"1": "482913"}'
    text = preview_text(compiled.context, {"otp": "482913"})
    assert text.startswith("482913 is your verification code. For your security, do not share this code.")
    assert "This code expires in 10 minutes." in text


# -- twilio/list-picker: 1-10 items; item 24, id 200, description 72 ------------------------------
@pytest.mark.parametrize(("count", "expected"), [(10, []), (11, ["item_count"]), (0, ["item_count"])])
def test_list_item_count(count: int, expected: list[str]) -> None:
    items = [{"item": f"Item {i}", "id": f"id{i}"} for i in range(count)]
    assert rules(LIST, with_(LIST, items=items)) == expected


@pytest.mark.parametrize(("field", "limit"), [("item", 24), ("id", 200), ("description", 72)])
def test_list_item_fields(field: str, limit: int) -> None:
    at = {"item": "A", "id": "a", field: "x" * limit}
    over = {**at, field: "x" * (limit + 1)}
    assert rules(LIST, with_(LIST, items=[at])) == []
    assert rules(LIST, with_(LIST, items=[over])) == ["max_length"]


def test_list_item_ids_are_unique() -> None:
    assert rules(LIST, with_(LIST, items=[{"item": "A", "id": "a"}, {"item": "B", "id": "a"}])) == ["duplicate_id"]


# -- twilio/location: latitude -90..90, longitude -180..180 -----------------------------------------
@pytest.mark.parametrize(
    ("lat", "lon", "expected"),
    [(90, 180, []), (-90, -180, []), (90.0001, 0, ["out_of_range"]), (0, -180.0001, ["out_of_range"]),
     ("37.6", 0, ["wrong_type", "wrong_type"])],  # one per accepted number type (float, int)
)
def test_location_bounds(lat: Any, lon: Any, expected: list[str]) -> None:
    assert rules(LOCATION, with_(LOCATION, latitude=lat, longitude=lon)) == expected


# -- whatsapp/card: body + one more field; not both a text and a media header --------------------
def test_whatsapp_card_headers_and_fields() -> None:
    assert rules(WA_CARD, {"body": "Hi", "header_text": "Hello"}) == []
    assert rules(WA_CARD, {"body": "Hi"}) == ["required_one_of"]
    both = {"body": "Hi", "header_text": "Hello", "media": ["https://example.com/a.png"]}
    assert rules(WA_CARD, both) == ["one_header"]
    assert rules(WA_CARD, {"body": "Hi", "footer": "f" * 61}) == ["max_length"]


# -- twilio/catalog: body and products ---------------------------------------------------------
def test_catalog_needs_products() -> None:
    assert rules(CATALOG, with_(CATALOG, items=None, dynamic_items="{{1}}")) == []
    assert rules(CATALOG, {"body": "New arrivals", "id": "1"}) == ["required_one_of"]


# -- twilio/card: a title or a body, plus one more field (Twilio's card page, 2026) ----------------
@pytest.mark.parametrize(
    ("fields", "expected"),
    [({"title": "a", "body": "b"}, []), ({"body": "b", "actions": [url_button()]}, []), ({"title": "a"}, ["required_one_of"]),
     ({"body": "b"}, ["required_one_of"]), ({"subtitle": "s", "media": ["https://e.com/a.png"]}, ["required_one_of"])],
)
def test_card_title_or_body(fields: dict[str, Any], expected: list[str]) -> None:
    assert rules(CARD, fields) == expected


@pytest.mark.parametrize("content_type", [CAROUSEL, WA_CARD, LIST, LOCATION, CATALOG])
def test_new_types_compile_named_variables_to_numbers(content_type: str) -> None:
    model = CONTENT_TYPES[content_type].model_validate(VALID[content_type])
    compiled = compile_variables(model)
    assert compiled.mapping and set(compiled.mapping.values()) == {str(n) for n in range(1, len(compiled.mapping) + 1)}
    assert "{{lead_name}}" not in str(compiled.context.to_twilio())
    assert get_variable_supported_fields(content_type)


def test_carousel_numbers_body_then_card_urls() -> None:
    compiled = compile_variables(CONTENT_TYPES[CAROUSEL].model_validate(VALID[CAROUSEL]))
    assert compiled.mapping == {"lead_name": "1", "sku": "2"}
    assert compiled.context.cards[0].actions[0].url == "https://example.com/buy/{{2}}"


@pytest.mark.parametrize("content_type", sorted(VALID))
def test_every_type_knows_its_channels_and_session_rule(content_type: str) -> None:
    cls = CONTENT_TYPES[content_type]
    assert "whatsapp" in cls.channels()
    assert cls.in_session_only() is (content_type in {LIST, LOCATION})


def test_carousel_headers_are_all_images_or_all_videos() -> None:
    images = [card(media="https://example.com/a.jpg"), card(media="https://example.com/b.png")]
    assert rules(CAROUSEL, with_(CAROUSEL, cards=images)) == []
    mixed = [card(media="https://example.com/a.jpg"), card(media="https://example.com/b.mp4")]
    assert rules(CAROUSEL, with_(CAROUSEL, cards=mixed)) == ["carousel_layout"]
    unknown = [card(media="https://example.com/a.jpg"), card(media="https://example.com/{{file}}")]
    assert rules(CAROUSEL, with_(CAROUSEL, cards=unknown)) == []
