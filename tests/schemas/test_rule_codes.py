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
    lint_whatsapp,
    parse_content_context,
    render_preview,
    validate_context,
)
from campaign_sdk.schemas._issues import issues_from_error
from campaign_sdk.templates import get_default_template

from ._factories import CARD, CTA, QUICK_REPLY, TEXT, data, phone_button, quick_reply, url_button, voice_call


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
    "url_path": structural(CTA, actions=[url_button(url="https://e.com")]),
    "url_variable_position": structural(CTA, actions=[url_button(url="https://e.com/{{a}}/b")]),
    "e164": structural(CTA, actions=[phone_button(phone="12")]),
    "out_of_range": structural(CTA, actions=[voice_call(ttl_minutes=0)]),
    # action lists and whole template
    "too_few_actions": structural(QUICK_REPLY, actions=[]),
    "too_many_actions": structural(QUICK_REPLY, actions=[quick_reply(id=str(i)) for i in range(11)]),
    "action_type_not_allowed": structural(QUICK_REPLY, actions=[url_button()]),
    "too_many_url_buttons": structural(CTA, actions=[url_button()] * 3),
    "too_many_call_buttons": structural(CTA, actions=[phone_button(), voice_call()]),
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
}


@pytest.mark.parametrize("rule", sorted(EXAMPLES))
def test_rule_code_is_produced(rule: str) -> None:
    assert rule in EXAMPLES[rule]()


def test_rule_codes_are_snake_case_and_lint_codes_are_prefixed() -> None:
    for rule in EXAMPLES:
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", rule)
    lint_rules = {rule for rule in EXAMPLES if rule.startswith("wa_")}
    assert len(lint_rules) == 13
