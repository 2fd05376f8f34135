"""Every rule code the package can produce, each produced by one small example.

Rule codes are a stable interface (UIs and tests match on them): adding one means adding it here.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from campaign_sdk._exceptions import CampaignError
from campaign_sdk.schemas import (
    QuickReplyAction,
    TwilioCardContext,
    TwilioMediaContext,
    TwilioTextContext,
    compile_variables,
    find_and_validate_variables,
    lint_channel,
    lint_whatsapp,
    parse_content_context,
    render_preview,
    validate_context,
)
from campaign_sdk.schemas._issues import issues_from_error
from campaign_sdk.templates import get_default_template

from ._factories import (
    CARD,
    CTA,
    QUICK_REPLY,
    TEXT,
    copy_code,
    data,
    phone_button,
    quick_reply,
    url_button,
    voice_call,
)


def raised(call: Callable[[], object]) -> list[str]:
    try:
        call()
    except CampaignError as exc:
        return exc.rules  # type: ignore[attr-defined, no-any-return]
    return []


def structural(content_type: str, **fields: object) -> Callable[[], list[str]]:
    return lambda: [i.rule for i in validate_context(content_type, data(content_type, **fields))]


def literal_error() -> list[str]:
    try:
        QuickReplyAction.model_validate({"type": "URL", "title": "a", "id": "b"})
    except ValidationError as exc:
        return [i.rule for i in issues_from_error(exc)]
    return []


def lint(body: str, **samples: str) -> Callable[[], list[str]]:
    return lambda: [i.rule for i in lint_whatsapp(TwilioTextContext(body=body), samples=samples or None)]


def wa(content_type: str, **fields: object) -> Callable[[], list[str]]:
    return lambda: [i.rule for i in lint_whatsapp(parse_content_context(content_type, fields))]


def carousel_card(actions: list[dict[str, object]]) -> dict[str, object]:
    return {"body": "A mug", "media": "https://e.com/mug.png", "actions": actions}


AUTH, CAROUSEL, LIST, MEDIA = "whatsapp/authentication", "twilio/carousel", "twilio/list-picker", "twilio/media"
WA_CARD, CATALOG = "whatsapp/card", "twilio/catalog"

TEXT_WITH_VARS = TwilioTextContext(body="Hi {{lead_name}}, code {{code}} inside")

EXAMPLES: dict[str, Callable[[], list[str]]] = {
    # structure
    "required": structural(TEXT, body=None),
    "extra_field": structural(TEXT, footer="x"),
    "wrong_type": structural(TEXT, body=3),
    "invalid_value": literal_error,
    "unknown_action_type": structural(CARD, actions=[{"type": "BUY"}]),
    "invalid_json": lambda: raised(lambda: parse_content_context(TEXT, "{")),
    "unknown_content_type": lambda: raised(lambda: parse_content_context("twilio/x", {})),
    "content_type_mismatch": lambda: raised(lambda: parse_content_context(CARD, TwilioTextContext(body="a"))),
    # fields
    "min_length": structural(TEXT, body=""),
    "max_length": structural(TEXT, body="x" * 1601),
    "malformed_placeholder": structural(TEXT, body="Hi {{ x }"),
    "variable_key_too_long": structural(TEXT, body="Hi {{" + "k" * 17 + "}}"),
    "variable_not_allowed": structural(CARD, subtitle="{{x}}"),
    "url_scheme": structural(CTA, actions=[url_button(url="ftp://e.com/")]),
    "url_invalid": structural(CTA, actions=[url_button(url="https:///x")]),
    "url_path": structural(CTA, actions=[url_button(url="https://e.com?x={{a}}")]),
    "url_variable_position": structural(CTA, actions=[url_button(url="https://e.com/{{a}}/b")]),
    "e164": structural(CTA, actions=[phone_button(phone="12")]),
    "out_of_range": structural(AUTH, code_expiration_minutes=91, actions=[{"copy_code_text": "Copy"}]),
    # action lists and whole template
    "too_few_actions": structural(QUICK_REPLY, actions=[]),
    "too_many_actions": structural(QUICK_REPLY, actions=[quick_reply(id=str(i)) for i in range(11)]),
    "action_type_not_allowed": structural(QUICK_REPLY, actions=[url_button()]),
    "card_count": structural(CAROUSEL, body="Pick one", cards=[]),
    "carousel_layout": structural(
        CAROUSEL, body="Pick one", cards=[carousel_card([url_button()]), carousel_card([quick_reply()])]
    ),
    "carousel_media_type": structural(
        CAROUSEL, body="Pick one", cards=[{**carousel_card([url_button()]), "media": "https://e.com/menu.pdf"}]
    ),
    "one_header": structural(WA_CARD, body="Hi", header_text="Hello", media=["https://e.com/a.png"]),
    "otp_button": structural(AUTH, actions=[]),
    "item_count": structural(LIST, body="Pick", button="Open", items=[]),
    "section_count": structural(
        CATALOG, body="New in", id="1", items=[{"id": str(i), "section_title": f"S{i}"} for i in range(11)]
    ),
    "duplicate_id": structural(QUICK_REPLY, actions=[quick_reply(), quick_reply()]),
    "too_many_variables": structural(TEXT, body=" ".join("{{v" + str(i) + "}}" for i in range(101))),
    "required_one_of": lambda: [i.rule for i in validate_context(CARD, {"title": "a"})],
    # variables against leads, send-time values, previews
    "variable_not_provided": lambda: raised(
        lambda: find_and_validate_variables(TEXT_WITH_VARS, custom_variable_keys=["lead_name"])
    ),
    "missing_value": lambda: raised(lambda: compile_variables(TEXT_WITH_VARS).content_variables({})),
    "empty_value": lambda: raised(
        lambda: compile_variables(TEXT_WITH_VARS).content_variables({"lead_name": "A", "code": ""})
    ),
    "value_too_long": lambda: raised(
        lambda: compile_variables(TEXT_WITH_VARS).content_variables({"lead_name": "A", "code": "x" * 1601})
    ),
    "rendered_too_long": lambda: raised(
        lambda: render_preview(TEXT_WITH_VARS, {"lead_name": "A" * 1100, "code": "1"})
    ),
    "unknown_template": lambda: raised(lambda: get_default_template("nope")),
    # WhatsApp lint
    "wa_variable_at_start": lint("{{a}} is your code for today"),
    "wa_variable_at_end": lint("Your code for today is {{a}}"),
    "wa_adjacent_variables": lint("Dear customer {{a}} {{b}} is your code for today"),
    "wa_variable_gap": lint("Hi {{1}}, your code is {{3}} for today"),
    "wa_too_few_words": lint("Hi {{a}} there"),
    "wa_tab": lint("Hello\tthere"),
    "wa_consecutive_spaces": lint("Hello     there"),
    "wa_too_many_emojis": lint("Hello " + "🎉" * 11),
    "wa_wa_me_link": lint("Chat at wa.me/1415 now"),
    "wa_sample_whitespace": lint("Hi {{a}} there friend", a="x\ny"),
    "wa_missing_sample": lint("Hi {{a}} there friend", b="x"),
    "wa_newline_in_title": lambda: [
        i.rule for i in lint_whatsapp(TwilioCardContext(title="A\nB", subtitle="c"))
    ],
    "wa_media_body_required": lambda: [
        i.rule for i in lint_whatsapp(TwilioMediaContext(media=["https://e.com/a.png"]))
    ],
    "wa_body_too_long": lint("Hello there " + "x" * 1013),
    "wa_header_too_long": wa(CARD, title="t" * 61, body="Your order is on its way to you"),
    "wa_one_media": wa(MEDIA, body="Look at these", media=["https://e.com/a.png", "https://e.com/b.png"]),
    "wa_too_many_url_buttons": wa(CTA, body="Shop with us today", actions=[url_button()] * 3),
    "wa_too_many_phone_buttons": wa(CTA, body="Call us any time", actions=[phone_button(), voice_call()]),
    "wa_too_many_copy_code_buttons": wa(CTA, body="Your codes for today", actions=[copy_code(), copy_code()]),
    "wa_code_too_long": wa(CTA, body="Your code for today", actions=[copy_code(code="C" * 16)]),
    "wa_url_too_long": wa(CTA, body="Shop with us today", actions=[url_button(url="https://e.com/" + "p" * 1990)]),
    "wa_quick_replies_not_grouped": wa(
        CARD, title="Pick one of these", actions=[quick_reply(id="a"), url_button(), quick_reply(id="b")]
    ),
    "wa_header_variables": wa(WA_CARD, body="Your table is ready for you now", header_text="{{a}} and {{b}}"),
    "wa_media_sample": lambda: [i.rule for i in lint_whatsapp(
        TwilioMediaContext(body="Your receipt is here", media=["https://e.com/{{f}}"]), samples={"f": "x"})],
    "wa_section_title_missing": wa(
        CATALOG, body="New arrivals for you", id="1", items=[{"id": "a", "section_title": "Hoodies"}, {"id": "b"}]
    ),
    "wa_variable_not_allowed": wa(
        CAROUSEL, body="New in for you", cards=[{**carousel_card([url_button()]), "title": "For {{a}}"}]
    ),
    "wa_in_session_only": wa(LIST, body="Pick one", button="Open", items=[{"item": "A", "id": "a"}]),
    # channels
    "mms_too_many_media": lambda: [
        i.rule
        for i in lint_channel(TwilioMediaContext(media=[f"https://e.com/{n}.png" for n in range(11)]), "mms")
    ],
    "channel_not_supported": lambda: [i.rule for i in lint_channel(TwilioCardContext(title="a", body="b"), "sms")],
}


@pytest.mark.parametrize("rule", sorted(EXAMPLES))
def test_rule_code_is_produced(rule: str) -> None:
    assert rule in EXAMPLES[rule]()


def test_rule_codes_are_snake_case_and_lint_codes_are_prefixed() -> None:
    for rule in EXAMPLES:
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", rule)
    lint_rules = {rule for rule in EXAMPLES if rule.startswith("wa_")}
    assert len(lint_rules) == 27
