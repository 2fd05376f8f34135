from __future__ import annotations

from typing import Any

import pytest

from campaign_sdk._exceptions import UnknownContentTypeError
from campaign_sdk.schemas import find_variables, get_variable_supported_fields

from ._factories import CARD, CTA, MEDIA, QUICK_REPLY, TEXT, data, fields_and_rules, rules


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no variables", []),
        ("Hi {{lead_name}}", ["lead_name"]),
        ("{{1}} then {{2}} then {{1}}", ["1", "2", "1"]),
        ("{{b}}{{a}}", ["b", "a"]),
        ("{{ x }} {x}} {{}} {{a b}}", []),
        ("{{{x}}}", ["x"]),
        ("{{" + "k" * 16 + "}}", ["k" * 16]),
        ("{{" + "k" * 17 + "}}", []),
    ],
)
def test_find_variables_lists_well_formed_keys_in_order(text: str, expected: list[str]) -> None:
    assert find_variables(text) == expected


@pytest.mark.parametrize(
    "body",
    [
        "Hi {{ x }",
        "Hi {x}}",
        "Hi {{}}",
        "Hi {{ }}",
        "Hi {{a b}}",
        "Hi {{ name }}",
        "Hi {{name}",
        "Hi {{name",
        "Hi name}}",
        "Hi {name}",
        "Hi {{{name}}}",
        "Hi {{na-me}}",
        "Hi {{näme}}",
    ],
)
def test_malformed_placeholders_are_rejected(body: str) -> None:
    assert "malformed_placeholder" in rules(TEXT, data(TEXT, body=body))


@pytest.mark.parametrize(("length", "expected"), [(16, []), (17, ["variable_key_too_long"])])
def test_variable_key_length_boundary(length: int, expected: list[str]) -> None:
    body = "Hi {{" + "k" * length + "}}, welcome back."
    assert rules(TEXT, data(TEXT, body=body)) == expected


@pytest.mark.parametrize("key", ["1", "42", "lead_name", "LeadName", "a_1"])
def test_numeric_and_named_keys_are_accepted(key: str) -> None:
    assert rules(TEXT, data(TEXT, body="Hi {{" + key + "}} there")) == []


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        (TEXT, ("body",)),
        (MEDIA, ("body", "media")),
        (CARD, ("title", "body", "media", "actions.url", "actions.code")),
        (CTA, ("body", "actions.url", "actions.code")),
        (QUICK_REPLY, ("body",)),
    ],
)
def test_variable_supported_fields(content_type: str, expected: tuple[str, ...]) -> None:
    assert get_variable_supported_fields(content_type) == expected


def test_variable_supported_fields_of_unknown_type() -> None:
    with pytest.raises(UnknownContentTypeError, match="twilio/text"):
        get_variable_supported_fields("twilio/flows")


@pytest.mark.parametrize(
    ("content_type", "fields", "path"),
    [
        (CARD, {"subtitle": "Footer {{x}}"}, "subtitle"),
        (
            CTA,
            {"actions": [{"type": "PHONE_NUMBER", "title": "Call", "phone": "{{phone}}"}]},
            "actions[0].phone",
        ),
        (
            CTA,
            {"actions": [{"type": "URL", "title": "Hi {{x}}", "url": "https://e.com/"}]},
            "actions[0].title",
        ),
        (
            QUICK_REPLY,
            {"actions": [{"type": "QUICK_REPLY", "title": "{{x}}", "id": "a"}]},
            "actions[0].title",
        ),
        (QUICK_REPLY, {"actions": [{"type": "QUICK_REPLY", "title": "Yes", "id": "{{x}}"}]}, "actions[0].id"),
        (CARD, {"actions": [{"type": "VOICE_CALL", "title": "Call {{x}}"}]}, "actions[0].title"),
        (CARD, {"actions": [{"type": "COPY_CODE", "title": "{{x}}", "code": "A"}]}, "actions[0].title"),
    ],
)
def test_variables_outside_supported_fields_are_rejected(
    content_type: str, fields: dict[str, Any], path: str
) -> None:
    assert fields_and_rules(content_type, data(content_type, **fields)) == [(path, "variable_not_allowed")]


@pytest.mark.parametrize(
    ("content_type", "fields"),
    [
        (MEDIA, {"media": ["https://example.com/{{folder}}/{{file}}.png"]}),
        (CARD, {"media": ["https://example.com/img/{{file}}"]}),
        (CARD, {"actions": [{"type": "COPY_CODE", "code": "{{code}}"}]}),
        (CTA, {"actions": [{"type": "URL", "title": "Go", "url": "https://example.com/p/{{slug}}"}]}),
    ],
)
def test_variables_in_supported_fields_are_accepted(content_type: str, fields: dict[str, Any]) -> None:
    assert rules(content_type, data(content_type, **fields)) == []


@pytest.mark.parametrize(("count", "expected"), [(100, []), (101, ["too_many_variables"])])
def test_at_most_100_variables(count: int, expected: list[str]) -> None:
    body = " and ".join("{{v" + str(i) + "}}" for i in range(count))
    assert rules(TEXT, data(TEXT, body=body)) == expected


def test_repeated_variables_count_once() -> None:
    body = " ".join("{{v" + str(i % 100) + "}}" for i in range(150))
    assert rules(TEXT, data(TEXT, body=body)) == []
