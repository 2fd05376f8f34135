"""The Template Studio driven from Python: set values as typing does, read errors, counters, preview."""

from __future__ import annotations

import pytest

from campaign_sdk.schemas import (
    FIELD_LIMITS,
    TwilioQuickReplyContext,
    lint_whatsapp,
    preview_text,
    validate_context,
)
from campaign_sdk.templates import get_default_template
from campaign_sdk.widgets import TemplateStudio
from tests.widgets._find import find, find_all, text_input

LONG = "Hi {{lead_name}}, " + "x" * 1700


@pytest.fixture
def studio() -> TemplateStudio:
    return TemplateStudio(template="order_confirmation")


def test_a_default_template_loads_valid_with_its_samples_in_the_preview(studio) -> None:
    template = get_default_template("order_confirmation")
    assert studio.content_type == "twilio/text"
    assert studio.value == template.context.to_twilio()
    assert studio.context == template.context
    assert studio.errors == [] and studio.warnings == []
    assert studio.sample == template.samples
    assert studio.preview_text == preview_text(template.context, template.samples)
    assert "Hi Ana, thank you for your order A-1042" in studio.preview_html
    assert "1 problem" not in find(studio, "cs-status").value


def test_typing_an_over_long_body_shows_the_schema_error_and_counter_next_to_the_body(studio) -> None:
    text_input(studio, "body").value = LONG

    assert studio.errors == validate_context("twilio/text", {"body": LONG})
    assert [issue.rule for issue in studio.errors] == ["max_length"]
    assert studio.context is None and studio.preview_text is None
    assert studio.counters == {"body": (len(LONG), 1600)}
    assert f"{len(LONG):,} / 1,600 ✖" in find(studio, "cs-counter-body").value
    assert "Twilio allows at most 1,600" in find(studio, "cs-issues-body").value
    assert find(studio, "cs-issues-template").value == ""  # shown next to its field, not elsewhere
    assert "1 problem(s)" in find(studio, "cs-status").value


def test_the_preview_keeps_the_last_valid_version_until_the_draft_is_fixed(studio) -> None:
    body = text_input(studio, "body")
    body.value = LONG
    assert "Showing the last valid version" in studio.preview_html
    assert "thank you for your order A-1042" in studio.preview_html

    body.value = "Hello {{lead_name}}, your table for two is booked for tonight."
    assert studio.errors == []
    assert "Showing the last valid version" not in studio.preview_html
    assert "Hello Ana, your table for two is booked for tonight." in studio.preview_html
    assert find(studio, "cs-issues-body").value == ""


def test_counters_use_the_schemas_limits_for_every_content_type() -> None:
    for content_type, limits in FIELD_LIMITS.items():
        studio = TemplateStudio(content_type)
        for name, limit in limits.items():
            text_input(studio, name).value = "a" * (limit + 1)
            assert studio.counters[name] == (limit + 1, limit)
            assert (name, "max_length") in [(i.field, i.rule) for i in studio.errors]
            text_input(studio, name).value = "a" * limit
            assert name not in {i.field for i in studio.errors if i.rule == "max_length"}


def test_whatsapp_lint_and_rendered_length_are_warnings_next_to_their_field(studio) -> None:
    text_input(studio, "body").value = "{{lead_name}}, your order {{order_id}} has shipped today."
    assert studio.errors == []
    assert studio.warnings == lint_whatsapp(studio.context, samples=studio.sample)
    assert "wa_variable_at_start" in find(studio, "cs-issues-body").value
    assert "WhatsApp warning" in find(studio, "cs-status").value

    text_input(studio, "body").value = "Hello {{lead_name}}, " + "a long story. " * 77  # 1,100 characters
    # Over 1,024 characters: WhatsApp's body limit, as written and once filled in.
    assert [issue.rule for issue in studio.warnings] == ["wa_body_too_long", "rendered_too_long"]
    assert "1,024" in find(studio, "cs-issues-body").value


def test_switching_type_keeps_shared_fields_and_shows_the_new_type_fields(studio) -> None:
    body = studio.value["body"]
    studio.content_type = "twilio/quick-reply"
    assert studio.value == {"body": body, "actions": []}
    assert [(i.field, i.rule) for i in studio.errors] == [("actions", "too_few_actions")]
    assert "too_few_actions" in find(studio, "cs-issues-actions").value
    assert find_all(studio, "cs-field-media") == []

    studio.content_type = "twilio/card"
    # A card takes a title or a body (Twilio's card page), so both are shown, both optional.
    assert {"cs-field-title", "cs-field-body", "cs-field-subtitle", "cs-field-media", "cs-field-actions"} <= _classes(studio)
    assert find_all(studio, "cs-field-footer") == []


def test_buttons_can_be_added_retyped_reordered_and_removed(studio) -> None:
    studio.content_type = "twilio/call-to-action"
    add_type, add = find(studio, "cs-new-action-type"), find(studio, "cs-add-action")
    assert add_type.options == (("Open URL", "URL"), ("Call number", "PHONE_NUMBER"),
                                ("Copy code", "COPY_CODE"), ("WhatsApp call", "VOICE_CALL"),
                                ("Ask to call", "VOICE_CALL_REQUEST"))
    add.click()
    rows = find_all(studio, "cs-action")
    find(rows[0], "cs-action-title").value = "Track my order now please!"  # 26 > 25
    find(rows[0], "cs-action-detail").value = "https://example.com/t/{{order_id}}"
    assert studio.counters["actions[0].title"] == (26, 25)
    assert "[max_length]" in find(rows[0], "cs-action-issues").value

    find(rows[0], "cs-action-title").value = "Track order"
    add_type.value = "COPY_CODE"
    add.click()
    second = find_all(studio, "cs-action")[1]
    find(second, "cs-action-detail").value = "{{promo_code}}"
    assert studio.value["actions"] == [
        {"type": "URL", "title": "Track order", "url": "https://example.com/t/{{order_id}}"},
        {"type": "COPY_CODE", "title": "Copy Code", "code": "{{promo_code}}"},
    ]
    assert studio.errors == []

    find(second, "cs-action-up").click()
    assert [a["type"] for a in studio.value["actions"]] == ["COPY_CODE", "URL"]
    find(find_all(studio, "cs-action")[0], "cs-action-type").value = "PHONE_NUMBER"
    assert studio.value["actions"][0] == {"type": "PHONE_NUMBER", "title": "Copy Code", "phone": ""}
    assert "e164" in find(find_all(studio, "cs-action")[0], "cs-action-issues").value
    find(find_all(studio, "cs-action")[0], "cs-action-remove").click()
    assert [a["type"] for a in studio.value["actions"]] == ["URL"]


def test_button_rule_errors_land_on_the_row_that_breaks_them() -> None:
    yes = {"type": "QUICK_REPLY", "title": "Yes", "id": "same"}
    studio = TemplateStudio("twilio/quick-reply", {"body": "Are you coming, {{lead_name}}?", "actions": [yes, yes]})
    assert [(i.field, i.rule) for i in studio.errors] == [("actions[1].id", "duplicate_id")]
    rows = find_all(studio, "cs-action")
    assert find(rows[0], "cs-action-issues").value == ""
    assert "duplicate_id" in find(rows[1], "cs-action-issues").value

    studio.content_type = "twilio/card"
    studio.value = {"title": "Hi {{lead_name}}", "actions": [{"type": "URL", "title": "Go", "url": "https://e.com/x"}]}
    studio.content_type = "twilio/quick-reply"
    assert ("actions[0].type", "action_type_not_allowed") in [(i.field, i.rule) for i in studio.errors]
    assert "action_type_not_allowed" in find(find_all(studio, "cs-action")[0], "cs-action-issues").value


def test_media_urls_are_one_per_line_and_a_bad_one_is_reported_under_media() -> None:
    studio = TemplateStudio(template="welcome_offer")
    text_input(studio, "media").value = "https://example.com/a.png\n\nexample.com/{{sku}}.png\n"
    assert studio.value["media"] == ["https://example.com/a.png", "example.com/{{sku}}.png"]
    assert [(i.field, i.rule) for i in studio.errors] == [("media[1]", "url_scheme")]
    assert "url_scheme" in find(studio, "cs-issues-media").value
    assert "welcome.png" in studio.preview_html  # the last valid version, still shown


def test_an_optional_field_left_empty_is_left_out_and_a_footer_takes_no_variables() -> None:
    studio = TemplateStudio(template="abandoned_cart")
    text_input(studio, "subtitle").value = ""
    assert "subtitle" not in studio.value and studio.errors == []
    text_input(studio, "subtitle").value = "Bye {{lead_name}}"
    assert [(i.field, i.rule) for i in studio.errors] == [("subtitle", "variable_not_allowed")]
    assert "variable_not_allowed" in find(studio, "cs-issues-subtitle").value


def test_variables_show_their_number_fields_source_and_sample() -> None:
    studio = TemplateStudio(template="shipping_update")
    assert [(v.name, v.number, v.fields, v.sample) for v in studio.variables] == [
        ("lead_name", "1", ("body",), "Ana"),
        ("order_id", "2", ("body",), "A-1042"),
        ("tracking_id", "3", ("actions[0].url",), "ZX81"),
    ]
    table = find(studio, "cs-variables-box").value
    assert "{{tracking_id}}" in table and "actions[0].url" in table and "none loaded yet" in table


def test_choosing_a_sample_lead_changes_the_preview_and_a_missing_value_is_flagged() -> None:
    studio = TemplateStudio(template="order_confirmation", samples=[{"lead_name": "Bo"}])
    assert len(find(studio, "cs-sample").options) == 2
    studio.sample_index = 1
    assert studio.sample == {"lead_name": "Bo"}
    assert "Hi Bo, thank you for your order" in studio.preview_html
    assert "{{order_id}}" in studio.preview_html  # marked as missing in the bubble
    assert [(i.field, i.rule) for i in studio.warnings] == [("samples.order_id", "wa_missing_sample")]
    assert "wa_missing_sample" in find(studio, "cs-variables-box").value


def test_value_can_be_set_from_a_model_or_a_dict_and_unknown_keys_surface_as_schema_errors() -> None:
    studio = TemplateStudio()
    model = TwilioQuickReplyContext(body="Still coming, {{lead_name}}?",
                                    actions=[{"type": "QUICK_REPLY", "title": "Yes", "id": "yes"}])
    studio.context = model
    assert studio.content_type == "twilio/quick-reply" and studio.context == model
    studio.value = {"body": "Hello {{lead_name}}, coming?", "actions": model.to_twilio()["actions"]}
    assert studio.context == model.model_copy(update={"body": "Hello {{lead_name}}, coming?"})

    studio.value = {"body": "Still coming?", "actions": model.to_twilio()["actions"], "footer": "x"}
    assert [(i.field, i.rule) for i in studio.errors] == [("footer", "extra_field")]
    assert "extra_field" in find(studio, "cs-issues-template").value

    studio.content_type = "twilio/text"
    studio.value = {"body": "Hello there", "media": ["https://example.com/a.png"]}
    assert [(i.field, i.rule) for i in studio.errors] == [("media", "extra_field")]
    studio.content_type = "twilio/media"  # now media has an editor: it is a field, not an extra
    assert studio.value == {"body": "Hello there", "media": ["https://example.com/a.png"]}
    assert studio.errors == []


def test_start_from_lists_blank_types_and_default_templates() -> None:
    studio = TemplateStudio()
    start = find(studio, "cs-start")
    start.value = "template:appointment_reminder"
    assert studio.context == get_default_template("appointment_reminder").context
    assert len(find_all(studio, "cs-action")) == 2
    start.value = "blank:twilio/media"
    assert studio.content_type == "twilio/media" and studio.value == {"media": []}
    assert studio.sample == {}


def _classes(root) -> set[str]:
    from tests.widgets._find import walk

    return {css for widget in walk(root) for css in getattr(widget, "_dom_classes", ())}
