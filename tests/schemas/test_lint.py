from __future__ import annotations

import pytest

from campaign_sdk._exceptions import TemplateValidationError
from campaign_sdk.schemas import (
    TwilioCallToActionContext,
    TwilioCardContext,
    TwilioMediaContext,
    TwilioTextContext,
    check_whatsapp,
    lint_whatsapp,
)

from ._factories import url_button


def lint_rules(body: str, **kwargs: object) -> list[str]:
    return [issue.rule for issue in lint_whatsapp(TwilioTextContext(body=body), **kwargs)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Hi {{lead_name}}, your order has shipped today.", []),
        ("{{lead_name}}, your order has shipped today.", ["wa_variable_at_start"]),
        ("  ¡{{lead_name}}! your order has shipped today.", ["wa_variable_at_start"]),
        ("Your order has shipped today, dear {{lead_name}}", ["wa_variable_at_end"]),
        ("Your order has shipped today, dear {{lead_name}}.", ["wa_variable_at_end"]),
        ("Your order has shipped today, dear {{lead_name}} !)", ["wa_variable_at_end"]),
        ("Your order has shipped today, {{lead_name}} friend.", []),
    ],
)
def test_variable_at_start_or_end(body: str, expected: list[str]) -> None:
    assert lint_rules(body) == expected


def test_edge_message_names_number_and_name() -> None:
    issue = lint_whatsapp(TwilioTextContext(body="{{lead_name}}, your order has shipped."))[0]
    assert "{{1}} ({{lead_name}})" in issue.message
    assert "punctuation" in issue.message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Dear customer {{a}}{{b}} is your new order code today.", ["wa_adjacent_variables"]),
        ("Dear customer {{a}}   {{b}} is your new order code today.", ["wa_adjacent_variables"]),
        ("Dear customer {{a}} and {{b}} is your new order code today.", []),
        ("Dear customer {{a}}, {{b}} is your new order code today.", []),
    ],
)
def test_adjacent_variables(body: str, expected: list[str]) -> None:
    assert lint_rules(body) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Hello {{1}}, your order {{3}} is ready now.", ["wa_variable_gap"]),
        ("Hello {{2}}, your order {{1}} is ready now.", []),
        ("Hello {{1}}, your order {{2}} is ready now.", []),
    ],
)
def test_gaps_in_numbering(body: str, expected: list[str]) -> None:
    assert lint_rules(body) == expected


def test_gap_message_names_the_skipped_number() -> None:
    issue = lint_whatsapp(TwilioTextContext(body="Hello {{1}}, your order {{3}} is ready now."))[0]
    assert "skipping {{2}}" in issue.message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Hi {{a}} there friend", []),  # 1 variable: 3 words needed
        ("Hi {{a}} there", ["wa_too_few_words"]),
        ("Hi {{a}} and {{b}} - ok go", ["wa_too_few_words"]),  # 2 variables: 4 words < 5 ("-" is no word)
        ("Hi {{a}} and {{b}} is ok now", []),
    ],
)
def test_too_few_words_for_the_variables(body: str, expected: list[str]) -> None:
    assert lint_rules(body) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Hello\tthere, welcome.", ["wa_tab"]),
        ("Hello     there, welcome.", ["wa_consecutive_spaces"]),
        ("Hello    there, welcome.", []),
        ("Hello there,\nwelcome.", []),
    ],
)
def test_tabs_and_spaces_in_body(body: str, expected: list[str]) -> None:
    assert lint_rules(body) == expected


@pytest.mark.parametrize(("count", "expected"), [(10, []), (11, ["wa_too_many_emojis"])])
def test_at_most_10_emojis(count: int, expected: list[str]) -> None:
    assert lint_rules("Big sale today " + "🎉" * count) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Chat with us at https://wa.me/14155550100 today.", ["wa_wa_me_link"]),
        ("Chat with us at WA.ME/14155550100 today.", ["wa_wa_me_link"]),
        ("Chat with us at https://example.com/wa today.", []),
        ("Visit mywa.me/shop today.", []),
    ],
)
def test_wa_me_links(body: str, expected: list[str]) -> None:
    assert lint_rules(body) == expected


def test_wa_me_links_in_buttons() -> None:
    cta = TwilioCallToActionContext(
        body="Talk to us any time.", actions=[url_button(url="https://wa.me/1415")]
    )
    assert [(i.field, i.rule) for i in lint_whatsapp(cta)] == [("actions[0].url", "wa_wa_me_link")]


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        (None, []),
        # A mapping, even empty, means "these are the samples": every variable needs one.
        ({}, [("samples.lead_name", "wa_missing_sample")]),
        ({"lead_name": "Ana"}, []),
        ({"1": "Ana"}, []),
        ({"lead_name": "Ana\nMaria"}, [("samples.lead_name", "wa_sample_whitespace")]),
        ({"lead_name": "Ana\tMaria"}, [("samples.lead_name", "wa_sample_whitespace")]),
        ({"lead_name": "Ana     Maria"}, [("samples.lead_name", "wa_sample_whitespace")]),
        ({"other": "x"}, [("samples.lead_name", "wa_missing_sample")]),
    ],
)
def test_sample_values(samples: dict[str, str] | None, expected: list[tuple[str, str]]) -> None:
    text = TwilioTextContext(body="Hi {{lead_name}}, your order has shipped.")
    assert [(i.field, i.rule) for i in lint_whatsapp(text, samples=samples)] == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Your cart is waiting for you today", []),
        ("Your cart\nis waiting for you today", ["wa_newline_in_title"]),
    ],
)
def test_newline_in_card_title(title: str, expected: list[str]) -> None:
    card = TwilioCardContext(title=title, subtitle="Footer")
    assert [i.rule for i in lint_whatsapp(card)] == expected


def test_card_title_gets_the_body_rules() -> None:
    card = TwilioCardContext(title="{{lead_name}}, your cart is waiting", subtitle="Footer")
    assert [(i.field, i.rule) for i in lint_whatsapp(card)] == [("title", "wa_variable_at_start")]


@pytest.mark.parametrize(
    ("body", "expected"),
    [(None, [("body", "wa_media_body_required")]), ("Here is your receipt.", [])],
)
def test_media_needs_a_body(body: str | None, expected: list[tuple[str, str]]) -> None:
    media = TwilioMediaContext(body=body, media=["https://example.com/r.png"])
    assert [(i.field, i.rule) for i in lint_whatsapp(media)] == expected


def test_lint_reports_every_problem() -> None:
    body = "{{a}}{{b}}\tgo     now https://wa.me/1 " + "😀" * 11
    assert sorted(lint_rules(body, samples={"a": "x\ny"})) == sorted(
        [
            "wa_variable_at_start",
            "wa_adjacent_variables",
            "wa_too_few_words",
            "wa_tab",
            "wa_consecutive_spaces",
            "wa_too_many_emojis",
            "wa_wa_me_link",
            "wa_sample_whitespace",
            "wa_missing_sample",
        ]
    )


def test_check_whatsapp_raises_with_every_issue() -> None:
    with pytest.raises(TemplateValidationError) as info:
        check_whatsapp(TwilioTextContext(body="{{x}} hello {{y}}"))
    assert info.value.rules == ["wa_variable_at_start", "wa_variable_at_end", "wa_too_few_words"]
    assert info.value.content_type == "twilio/text"


def test_check_whatsapp_passes_a_clean_template() -> None:
    check_whatsapp(TwilioTextContext(body="Hi {{lead_name}}, your order has shipped."))
