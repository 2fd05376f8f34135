"""The Template Studio edits and previews every content type, the new ones included."""

from __future__ import annotations

import pytest

from campaign_sdk.schemas import CONTENT_TYPES
from campaign_sdk.widgets import TemplateStudio
from tests.schemas._factories import AUTH, CAROUSEL, CATALOG, LIST, LOCATION, VALID, WA_CARD
from tests.widgets._find import find, find_all, text_input


@pytest.mark.parametrize("content_type", sorted(VALID))
def test_every_type_loads_valid_round_trips_and_previews(content_type: str) -> None:
    studio = TemplateStudio(content_type, VALID[content_type], samples=[{"lead_name": "Ana", "sku": "mug"}])
    assert studio.errors == [], studio.errors
    assert studio.context == CONTENT_TYPES[content_type].model_validate(VALID[content_type])
    assert studio.value == studio.context.to_twilio()
    assert "cs-bubble" in studio.preview_html
    offered = [value for _label, value in find(studio, "cs-content-type").options]
    assert content_type in offered


def test_every_content_type_is_offered_with_a_label() -> None:
    studio = TemplateStudio()
    labels = dict((value, label) for label, value in find(studio, "cs-content-type").options)
    assert set(labels) == set(CONTENT_TYPES) and all(labels.values())


def test_carousel_cards_are_edited_as_a_form_and_previewed_side_by_side() -> None:
    studio = TemplateStudio(CAROUSEL, VALID[CAROUSEL], samples=[{"lead_name": "Ana", "sku": "hoodie"}])
    assert studio.preview_html.count('class="cs-bubble-card"') == 2
    assert "https://example.com/buy/hoodie" not in studio.preview_html  # URLs are not shown, titles are
    cards = find_all(studio, "cs-card")
    assert len(cards) == 2
    first, second = cards
    assert find(first, "cs-card-media").value == "https://example.com/hoodie.jpg"
    assert find(first, "cs-card-title").value == "Hoodie"
    assert find(second, "cs-card-body").value == "Carry a little more"
    assert [row.value for row in find_all(first, "cs-action-type")] == ["URL"]
    assert studio.value == VALID[CAROUSEL]  # the form round-trips every field

    # typing in a card: the title and body share 160 characters, counted per card
    find(second, "cs-card-body").value = "x" * 161
    assert [(i.field, i.rule) for i in studio.errors] == [("cards[1].body", "max_length")]
    assert "[max_length]" in find(second, "cs-card-issues").value
    assert "161 / 160 ✖" in find(second, "cs-card-counter").value
    assert find(first, "cs-card-issues").value == ""
    find(second, "cs-card-body").value = "x" * 160
    assert studio.errors == []

    # a button of another type on one card breaks the carousel's layout rule, shown on that card
    find(second, "cs-action-type").value = "QUICK_REPLY"
    find(second, "cs-action-title").value = "Want"
    find(second, "cs-action-detail").value = "want"
    assert [(i.field, i.rule) for i in studio.errors] == [("cards[1].actions", "carousel_layout")]
    assert "carousel_layout" in find(second, "cs-issues-actions").value
    assert "carousel_layout" in find(studio, "cs-issues-cards").value
    find(second, "cs-action-type").value = "URL"
    find(second, "cs-action-title").value = "Buy"
    find(second, "cs-action-detail").value = "https://example.com/tote"
    assert studio.errors == []

    # add a card: it copies the last card's button types; fill it and it is valid and previewed
    find(studio, "cs-add-card").click()
    third = find_all(studio, "cs-card")[2]
    assert [row.value for row in find_all(third, "cs-action-type")] == ["URL"]
    assert {i.field for i in studio.errors} >= {"cards[2].body", "cards[2].media"}
    find(third, "cs-card-media").value = "https://example.com/mug.jpg"
    find(third, "cs-card-body").value = "Sip a little"
    find(third, "cs-action-title").value = "Buy"
    find(third, "cs-action-detail").value = "https://example.com/mug"
    assert studio.errors == [] and studio.preview_html.count('class="cs-bubble-card"') == 3
    # move it first, then remove it
    find(third, "cs-card-arrow-up").click()
    find(third, "cs-card-arrow-up").click()
    assert studio.value["cards"][0]["body"] == "Sip a little"
    find(third, "cs-card-trash").click()
    assert studio.value == {**VALID[CAROUSEL], "cards": [VALID[CAROUSEL]["cards"][0],
                                                          {**VALID[CAROUSEL]["cards"][1], "body": "x" * 160}]}


def test_a_carousel_takes_at_most_ten_cards() -> None:
    card = VALID[CAROUSEL]["cards"][1]
    studio = TemplateStudio(CAROUSEL, {**VALID[CAROUSEL], "cards": [card] * 9}, samples=[{"lead_name": "Ana"}])
    add = find(studio, "cs-add-card")
    assert studio.errors == [] and not add.disabled
    add.click()
    assert len(find_all(studio, "cs-card")) == 10 and add.disabled
    studio.value = {**VALID[CAROUSEL], "cards": [card] * 11}  # from code: refused by the schemas
    assert [(i.field, i.rule) for i in studio.errors] == [("cards", "card_count")]
    assert "card_count" in find(studio, "cs-issues-cards").value


def test_authentication_template_shows_whatsapps_preset_text() -> None:
    studio = TemplateStudio(AUTH, VALID[AUTH])
    assert "is your verification code" in studio.preview_html
    assert "This code expires in 10 minutes" in studio.preview_html
    text_input(studio, "code_expiration_minutes").value = "91"
    assert [(i.field, i.rule) for i in studio.errors] == [("code_expiration_minutes", "out_of_range")]
    assert "1 to 90" in find(studio, "cs-issues-code_expiration_minutes").value
    text_input(studio, "code_expiration_minutes").value = "90"
    text_input(studio, "actions").value = "Copy my code"
    assert studio.errors == []
    assert studio.value["actions"] == [{"type": "COPY_CODE", "copy_code_text": "Copy my code"}]
    assert studio.value["code_expiration_minutes"] == 90


def test_list_picker_items_are_one_per_line() -> None:
    studio = TemplateStudio(LIST, VALID[LIST], samples=[{"lead_name": "Ana"}])
    assert text_input(studio, "items").value == "NYC | nyc | New York\nSFO | sfo"
    text_input(studio, "items").value = "NYC | nyc\nLAX | nyc"
    assert [(i.field, i.rule) for i in studio.errors] == [("items[1].id", "duplicate_id")]
    text_input(studio, "items").value = "NYC | nyc | New York\nLAX | lax"
    assert studio.errors == [] and "cs-bubble-list" in studio.preview_html
    # In-session only: the lint says it can't be submitted for approval.
    assert "wa_in_session_only" in [w.rule for w in studio.warnings]


def test_location_and_catalog_and_whatsapp_card_fields() -> None:
    studio = TemplateStudio(LOCATION, VALID[LOCATION], samples=[{"lead_name": "Ana"}])
    text_input(studio, "latitude").value = "91"
    assert [(i.field, i.rule) for i in studio.errors] == [("latitude", "out_of_range")]
    studio.content_type = CATALOG
    assert all(len(find_all(studio, f"cs-field-{name}")) == 1 for name in ("items", "id", "body", "dynamic_items"))
    studio.value = VALID[CATALOG]
    assert studio.errors == [] and "View items" in studio.preview_html
    studio.content_type = WA_CARD
    studio.value = {"body": "Hi there", "header_text": "Hello", "media": ["https://example.com/a.png"]}
    assert [(i.field, i.rule) for i in studio.errors] == [("template", "one_header")]


def test_counters_count_characters_as_twilio_does() -> None:
    studio = TemplateStudio("twilio/text", {"body": "Hi 😀"})
    assert studio.counters["body"] == (5, 1600)


def test_approval_samples_are_the_authors_checked_and_saved_with_the_campaign(tmp_path) -> None:
    from campaign_sdk import CampaignClient

    studio = TemplateStudio(template="order_confirmation", samples=[{"lead_name": "Real Lead", "order_id": "R-1"}])
    assert studio.approval_samples == {"lead_name": "Ana", "order_id": "A-1042"}  # the template's, not a lead's
    find(studio, "cs-approval-samples").value = "lead_name = Ana\norder_id = "
    assert [(i.field, i.rule) for i in studio.approval_issues] == [("samples.order_id", "wa_missing_sample")]
    assert "wa_missing_sample" in find(studio, "cs-issues-approval-samples").value
    find(studio, "cs-approval-samples").value = "lead_name = Zoe\norder_id = Z-9"
    assert studio.approval_issues == []
    with CampaignClient(f"sqlite:///{tmp_path / 'c.db'}") as client:
        campaign = studio.save(client, name="Orders")
        assert campaign.approval_samples == {"lead_name": "Zoe", "order_id": "Z-9"}
        campaign.submit_for_approval(category="UTILITY")  # uses the stored samples
        assert campaign.status == "pending"
