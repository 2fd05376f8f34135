"""Boundary cases for the rules checked against the sources in session 4: at the limit and one past.

Sources:
- variables at the start / end / adjacent: Twilio's text and call-to-action pages ("will not be
  approved by WhatsApp without a sample variable"), its variables page ("cannot be the start or end
  of a body string without a sample"), its approval page (a common rejection reason):
  https://www.twilio.com/docs/content/twilio-text, .../twiliocall-to-action,
  .../using-variables-with-content-api, /docs/whatsapp/tutorial/message-template-approvals-statuses
- catalog: Twilio's catalog page (a multi-product message sends "1 to 30 products"),
  https://www.twilio.com/docs/content/twilio-catalog; Meta's section object (1 to 10 sections, a
  title of at most 24 characters, required with more than one section),
  https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages#section-object
"""

from __future__ import annotations

import pytest

from campaign_sdk._exceptions import TemplateValidationError
from campaign_sdk.facts import content as facts
from campaign_sdk.schemas import (
    CatalogItem,
    TwilioCallToActionContext,
    TwilioCatalogContext,
    TwilioTextContext,
    check_whatsapp,
    lint_whatsapp,
    validate_context,
)

PLACEMENT = ("wa_variable_at_start", "wa_variable_at_end", "wa_adjacent_variables")


def placement(body: str, samples: dict[str, str] | None) -> list[tuple[str, str]]:
    issues = lint_whatsapp(TwilioTextContext(body=body), samples=samples)
    return [(i.rule, i.severity) for i in issues if i.rule in PLACEMENT]


@pytest.mark.parametrize(
    ("body", "rule", "names"),
    [
        ("{{name}}, your order has shipped today.", "wa_variable_at_start", ["name"]),
        ("Your order has shipped today, dear {{name}}.", "wa_variable_at_end", ["name"]),
        ("Dear customer {{first}} {{last}} your order has shipped today.", "wa_adjacent_variables",
         ["first", "last"]),
    ],
)
def test_placement_is_an_error_without_a_sample_and_a_warning_with_one(body: str, rule: str, names: list[str]) -> None:
    assert placement(body, None) == [(rule, "error")]
    assert placement(body, {}) == [(rule, "error")]
    samples = {name: "Ana" for name in names}
    assert placement(body, samples) == [(rule, "warning")]
    # one of two adjacent variables without a sample, or an empty sample: still an error
    if len(names) == 2:
        assert placement(body, {names[0]: "Ana"}) == [(rule, "error")]
    assert placement(body, {name: " " for name in names}) == [(rule, "error")]


def test_a_sampled_variable_at_the_start_passes_the_check_with_a_warning_that_says_why() -> None:
    context = TwilioTextContext(body="{{name}}, your order has shipped today.")
    warnings = check_whatsapp(context, samples={"name": "Ana"})
    assert [w.rule for w in warnings] == ["wa_variable_at_start"]
    assert "With a sample Twilio's pages allow it" in warnings[0].message
    assert warnings[0].url == facts.WA_EDGE_SOURCES[0]
    with pytest.raises(TemplateValidationError) as raised:
        check_whatsapp(context)
    assert "without one WhatsApp does not approve it" in str(raised.value)


def test_the_rule_holds_for_a_call_to_action_body_too() -> None:
    cta = TwilioCallToActionContext(
        body="Your code is ready, {{name}}",
        actions=[{"type": "URL", "title": "Open", "url": "https://example.com/o"}],
    )
    assert [(i.rule, i.severity) for i in lint_whatsapp(cta)] == [("wa_variable_at_end", "error")]
    assert [(i.rule, i.severity) for i in lint_whatsapp(cta, samples={"name": "Ana"})] == [
        ("wa_variable_at_end", "warning")
    ]


def _items(count: int, sections: int = 1) -> list[dict[str, str]]:
    return [{"id": f"sku-{n}", "section_title": f"Section {n % sections}"} for n in range(count)]


def _catalog_rules(items: list[dict[str, str]]) -> list[str]:
    data = {"body": "New arrivals for you", "id": "1234567890", "items": items}
    return [i.rule for i in validate_context("twilio/catalog", data)]


def test_catalog_items_at_30_and_31() -> None:
    assert facts.CATALOG_ITEMS.value == 30
    assert _catalog_rules(_items(30)) == []
    assert _catalog_rules(_items(31)) == ["item_count"]
    message = validate_context("twilio/catalog", {"body": "New", "id": "1", "items": _items(31)})[0].message
    assert "at most 30 (Twilio's catalog page)" in message and "Remove 1" in message


def test_catalog_sections_at_10_and_11() -> None:
    assert _catalog_rules(_items(20, sections=10)) == []
    assert _catalog_rules(_items(22, sections=11)) == ["section_count"]


def test_catalog_section_title_at_24_and_25() -> None:
    assert CatalogItem(id="a", section_title="s" * 24).section_title == "s" * 24
    assert _catalog_rules([{"id": "a", "section_title": "s" * 25}]) == ["max_length"]
    assert _catalog_rules([{"id": "a", "section_title": "😀" * 12}]) == []  # 24 UTF-16 units
    assert _catalog_rules([{"id": "a", "section_title": "😀" * 12 + "s"}]) == ["max_length"]


def test_dynamic_items_are_not_counted() -> None:
    catalog = TwilioCatalogContext(body="Picked for you", id="1", dynamic_items="{{items}}")
    assert catalog.items is None


def test_untitled_items_beside_titled_ones_are_a_warning_that_says_it_is_inferred() -> None:
    mixed = TwilioCatalogContext(body="New arrivals for you", id="1",
                                 items=[{"id": "a", "section_title": "Hoodies"}, {"id": "b"}])
    issues = [i for i in lint_whatsapp(mixed) if i.rule == "wa_section_title_missing"]
    assert [(i.severity, i.field) for i in issues] == [("warning", "items")]
    assert "inferred" in issues[0].message and "[1]" in issues[0].message
    for items in ([{"id": "a"}, {"id": "b"}], [{"id": "a", "section_title": "A"}, {"id": "b", "section_title": "B"}]):
        catalog = TwilioCatalogContext(body="New arrivals for you", id="1", items=items)
        assert "wa_section_title_missing" not in [i.rule for i in lint_whatsapp(catalog)]


def test_the_otp_value_at_14_and_15_characters() -> None:
    """Twilio's whatsapp/authentication page: the code "must be less than 15 characters long"
    (Meta allows 15; the stricter is enforced). https://www.twilio.com/docs/content/whatsappauthentication"""
    from campaign_sdk.schemas import WhatsAppAuthenticationContext, compile_variables

    compiled = compile_variables(WhatsAppAuthenticationContext(actions=[{"copy_code_text": "Copy code"}]))
    assert compiled.content_variables({"otp": "1" * 14}) == {"1": "1" * 14}
    with pytest.raises(TemplateValidationError) as raised:
        compiled.content_variables({"otp": "1" * 15})
    issue = raised.value.issues[0]
    assert (issue.rule, issue.limit, issue.source) == ("value_too_long", 14, "Twilio")
    assert "Meta allows 15" in issue.message


def test_a_value_is_counted_in_utf16_units_at_1600_and_1601() -> None:
    """Twilio error 21658: a Content variable value holds at most 1,600 characters; counted as the
    SDK counts every limit (UTF-16 code units, an emoji 2). https://www.twilio.com/docs/api/errors/21658"""
    from campaign_sdk.schemas import compile_variables

    compiled = compile_variables(TwilioTextContext(body="Hi {{name}}, welcome back to our shop."))
    assert compiled.content_variables({"name": "😀" * 800})  # 1,600 units
    with pytest.raises(TemplateValidationError) as raised:
        compiled.content_variables({"name": "😀" * 800 + "a"})
    assert raised.value.rules == ["value_too_long"] and "1,601 characters" in str(raised.value)


@pytest.mark.parametrize(
    ("media", "rules"),
    [
        ("https://example.com/images/hoodie.jpg", []),
        ("https://example.com/videos/hoodie.mp4?v=2", []),
        ("https://example.com/{{file}}", []),  # a variable: judged by its sample, not here
        ("https://example.com/menu.pdf", ["carousel_media_type"]),
        ("https://example.com/jingle.ogg", ["carousel_media_type"]),
    ],
)
def test_carousel_card_media_is_an_image_or_a_video(media: str, rules: list[str]) -> None:
    """Twilio's carousel page: "Only images and videos are supported within carousels".
    https://www.twilio.com/docs/content/carousel"""
    card = {"body": "Warm hoodie", "media": media,
            "actions": [{"type": "URL", "title": "Buy", "url": "https://example.com/buy"}]}
    found = [i.rule for i in validate_context("twilio/carousel", {"body": "New in for you", "cards": [card]})]
    assert found == rules


@pytest.mark.parametrize(
    ("template", "category", "found"),
    [
        ("new_arrivals", "MARKETING", []),
        ("new_arrivals", "UTILITY", [("wa_category_mismatch", "error")]),
        ("new_arrivals", "AUTHENTICATION", [("wa_category_mismatch", "error"), ("wa_category_mismatch", "error")]),
    ],
)
def test_a_carousel_is_a_marketing_template_only(template: str, category: str, found: list[tuple[str, str]]) -> None:
    """Meta's media card carousel page: "carousel cards are only available for marketing template
    messages" (documented: an error). A catalog outside MARKETING stays an inferred warning."""
    from campaign_sdk.service._approval import category_issues
    from campaign_sdk.templates import get_default_template

    context = get_default_template(template).context
    assert [(i.rule, i.severity) for i in category_issues(context, category)] == found
    catalog = TwilioCatalogContext(body="New arrivals for you", id="1", items=[{"id": "a"}])
    assert [(i.rule, i.severity) for i in category_issues(catalog, "UTILITY")] == [("wa_category_mismatch", "warning")]


def test_location_label_and_address_take_twilios_limit_for_any_text() -> None:
    """Neither Twilio's location page nor Meta's location message gives a limit for label or
    address, so no smaller limit is invented: Twilio's 1,600 for any text applies.
    https://www.twilio.com/docs/content/twilio-location"""
    pin = {"latitude": 37.62, "longitude": -122.38}
    for field in ("label", "address"):
        assert validate_context("twilio/location", {**pin, field: "x" * 1600}) == []
        assert [i.rule for i in validate_context("twilio/location", {**pin, field: "x" * 1601})] == ["max_length"]


def test_a_carousel_card_title_takes_variables_on_rcs_only() -> None:
    """Twilio's carousel page: card title variable support "Yes (RCS), No (WhatsApp)"; card body "No".
    https://www.twilio.com/docs/content/carousel"""
    from campaign_sdk.schemas import TwilioCarouselContext

    def card(**fields: str) -> dict[str, object]:
        return {"body": "Warm hoodie", "media": "https://example.com/h.jpg",
                "actions": [{"type": "URL", "title": "Buy", "url": "https://example.com/buy"}], **fields}

    titled = TwilioCarouselContext(body="Hi {{name}}, new in for you", cards=[card(title="For {{name}}")])
    assert [(i.field, i.rule, i.severity) for i in lint_whatsapp(titled, samples={"name": "Ana"})] == [
        ("cards[0].title", "wa_variable_not_allowed", "error")
    ]
    found = validate_context("twilio/carousel", {"body": "New in for you", "cards": [card(body="For {{name}}")]})
    assert [(i.field, i.rule) for i in found] == [("cards[0].body", "variable_not_allowed")]
