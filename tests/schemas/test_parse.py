from __future__ import annotations

import json
from typing import Any

import pytest

from campaign_sdk._exceptions import CampaignError, TemplateValidationError, UnknownContentTypeError
from campaign_sdk.schemas import (
    TwilioCallToActionContext,
    TwilioTextContext,
    UrlAction,
    find_and_validate_variables,
    parse_content_context,
    validate_context,
)

from ._factories import CARD, CTA, QUICK_REPLY, TEXT, VALID, data, phone_button, quick_reply, url_button


@pytest.mark.parametrize("content_type", list(VALID))
def test_parse_accepts_json_strings_and_dicts(content_type: str) -> None:
    from_dict = parse_content_context(content_type, VALID[content_type])
    from_json = parse_content_context(content_type, json.dumps(VALID[content_type]))
    assert from_dict == from_json
    assert from_dict.content_type == content_type


def test_parse_builds_action_models() -> None:
    cta = parse_content_context(CTA, VALID[CTA])
    assert isinstance(cta, TwilioCallToActionContext)
    assert isinstance(cta.actions[0], UrlAction)


def test_parse_returns_a_model_of_the_right_type_unchanged() -> None:
    model = TwilioTextContext(body="Hi")
    assert parse_content_context(TEXT, model) is model


def test_parse_refuses_a_model_of_another_type() -> None:
    with pytest.raises(TemplateValidationError) as info:
        parse_content_context(CARD, TwilioTextContext(body="Hi"))
    assert info.value.rules == ["content_type_mismatch"]


@pytest.mark.parametrize("content_type", ["twilio/flows", "text", "", "TWILIO/TEXT"])
def test_unknown_content_types(content_type: str) -> None:
    with pytest.raises(UnknownContentTypeError) as info:
        parse_content_context(content_type, {"body": "Hi"})
    assert info.value.rules == ["unknown_content_type"]
    assert "twilio/call-to-action, twilio/card, twilio/carousel" in str(info.value)


@pytest.mark.parametrize(
    ("raw", "rule"),
    [("{not json", "invalid_json"), ("[1, 2]", "wrong_type"), ('"body"', "wrong_type")],
)
def test_bad_json(raw: str, rule: str) -> None:
    with pytest.raises(TemplateValidationError) as info:
        parse_content_context(TEXT, raw)
    assert info.value.rules == [rule]


def test_errors_are_campaign_errors_and_value_errors() -> None:
    with pytest.raises(TemplateValidationError) as info:
        parse_content_context(TEXT, {"body": ""})
    assert isinstance(info.value, CampaignError)
    assert isinstance(info.value, ValueError)
    assert info.value.content_type == TEXT


def test_every_problem_is_reported_at_once() -> None:
    raw = {
        "body": "Hi {{ name }} " + "x" * 640,
        "actions": [
            url_button(title="t" * 26, url="ftp://example.com"),
            url_button(),
            url_button(),
            phone_button(phone="555"),
            phone_button(),
            quick_reply(),
            {"type": "NOPE"},
        ],
        "footer": "extra",
    }
    with pytest.raises(TemplateValidationError) as info:
        parse_content_context(CTA, json.dumps(raw))
    assert sorted((i.field, i.rule) for i in info.value.issues) == sorted(
        [
            ("body", "malformed_placeholder"),
            ("body", "max_length"),
            ("actions[0].title", "max_length"),
            ("actions[0].url", "url_scheme"),
            ("actions[3].phone", "e164"),
            ("actions[5].type", "action_type_not_allowed"),
            ("actions[6].type", "unknown_action_type"),
            ("footer", "extra_field"),
        ]
    )
    # WhatsApp's button counts are the lint's (tests/schemas/test_whatsapp_rules.py), not the model's.
    assert str(info.value).startswith("The twilio/call-to-action template has 8 problem(s):")


def test_template_rules_are_reported_alongside_field_errors() -> None:
    issues = validate_context(CARD, {"title": "x" * 1025, "foo": "Hi"})
    assert [(i.field, i.rule) for i in issues] == [
        ("title", "max_length"),
        ("foo", "extra_field"),
        ("template", "required_one_of"),
    ]


def test_validate_context_returns_an_empty_list_when_valid() -> None:
    assert validate_context(QUICK_REPLY, VALID[QUICK_REPLY]) == []


def test_validate_context_reports_unknown_types_as_issues() -> None:
    assert [i.rule for i in validate_context("twilio/nope", {})] == ["unknown_content_type"]


class TestFindAndValidateVariables:
    def test_returns_unique_keys_in_order_of_first_appearance(self) -> None:
        raw = {"body": "Hi {{b}}, {{a}} and {{b}}", "actions": [url_button(url="https://e.com/{{c}}")]}
        assert find_and_validate_variables(raw, CTA) == ["b", "a", "c"]

    def test_accepts_models_and_json(self) -> None:
        model = TwilioTextContext(body="Hi {{lead_name}} there")
        assert find_and_validate_variables(model) == ["lead_name"]
        assert find_and_validate_variables(json.dumps({"body": "{{x}} y"}), TEXT) == ["x"]

    def test_raw_context_needs_a_content_type(self) -> None:
        with pytest.raises(TypeError, match="content_type is required"):
            find_and_validate_variables({"body": "Hi"})

    def test_unknown_content_type(self) -> None:
        with pytest.raises(UnknownContentTypeError):
            find_and_validate_variables({"body": "Hi"}, "twilio/nope")

    def test_reports_every_variable_problem_at_once(self) -> None:
        title = " ".join("{{v" + str(i) + "}}" for i in range(101)) + " {{ bad }}"
        raw = {
            "title": title,
            "subtitle": "Hello {{footer}}",
            "media": ["https://{{host}}/x.png"],
            "actions": [quick_reply(id="{{reply}}")],
        }
        provided = [f"v{i}" for i in range(101)]
        with pytest.raises(TemplateValidationError) as info:
            find_and_validate_variables(raw, CARD, custom_variable_keys=provided)
        assert sorted((i.field, i.rule) for i in info.value.issues) == sorted(
            [
                ("title", "malformed_placeholder"),
                ("subtitle", "variable_not_allowed"),
                ("media[0]", "url_variable_position"),
                ("actions[0].id", "variable_not_allowed"),
                ("template", "too_many_variables"),
                ("subtitle", "variable_not_provided"),
                ("media[0]", "variable_not_provided"),
                ("actions[0].id", "variable_not_provided"),
            ]
        )

    def test_variables_not_provided(self) -> None:
        raw = {"body": "Hi {{lead_name}}, your code is {{code}} and {{1}} too"}
        with pytest.raises(TemplateValidationError) as info:
            find_and_validate_variables(
                raw, TEXT, custom_variable_keys=["lead_name"], context_variables=["city"]
            )
        assert [(i.field, i.rule) for i in info.value.issues] == [
            ("body", "variable_not_provided"),
            ("body", "variable_not_provided"),
        ]
        message = info.value.issues[0].message
        assert message.startswith("{{code}} is not provided")
        assert "custom variables are [lead_name]" in message
        assert "context variables are [city]" in message
        assert "column" in message

    @pytest.mark.parametrize(
        ("custom", "context"),
        [(["lead_name", "1"], None), (None, ["lead_name", "1"]), (["lead_name"], ["1"])],
    )
    def test_variables_provided_by_either_source(self, custom: Any, context: Any) -> None:
        raw = {"body": "Hi {{lead_name}}, ref {{1}} here"}
        kwargs = {"custom_variable_keys": custom, "context_variables": context}
        assert find_and_validate_variables(raw, TEXT, **kwargs) == ["lead_name", "1"]

    def test_provision_is_not_checked_without_key_sets(self) -> None:
        assert find_and_validate_variables(data(TEXT, body="{{anything}} goes here"), TEXT) == ["anything"]
