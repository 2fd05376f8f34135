from __future__ import annotations

import dataclasses

import pytest

from campaign_sdk._exceptions import TemplateValidationError
from campaign_sdk.schemas import (
    CONTENT_TYPES,
    check_whatsapp,
    compile_variables,
    find_and_validate_variables,
    parse_content_context,
    preview_text,
)
from campaign_sdk.templates import DefaultTemplate, default_templates, get_default_template

TEMPLATES = default_templates()


def test_catalogue_covers_every_content_type_and_both_categories() -> None:
    assert len(TEMPLATES) >= 5
    approvable = {t for t, cls in CONTENT_TYPES.items() if not cls.in_session_only()}
    # Every type that can start a conversation, but the two that need data of the account (a Meta
    # catalog; whatsapp/card is covered by twilio/card's templates).
    assert {t.content_type for t in TEMPLATES} == approvable - {"twilio/catalog", "whatsapp/card"}
    assert {t.category for t in TEMPLATES} == {"MARKETING", "UTILITY", "AUTHENTICATION"}


def test_keys_are_unique_whatsapp_names() -> None:
    keys = [t.key for t in TEMPLATES]
    assert len(set(keys)) == len(keys)
    assert all(key.replace("_", "").isalnum() and key.islower() for key in keys)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.key)
def test_default_template_passes_the_whatsapp_lint_with_its_samples(template: DefaultTemplate) -> None:
    check_whatsapp(template.context, samples=template.samples)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.key)
def test_default_template_is_consistent(template: DefaultTemplate) -> None:
    assert template.content_type == template.context.content_type
    assert template.context_variables == tuple(find_and_validate_variables(template.context))
    # WhatsApp presets an authentication template's text: its one variable is the code at send time.
    personal = template.context_variables or template.content_type == "whatsapp/authentication"
    assert personal, "every default template personalises its message"
    assert set(template.samples) == set(template.context_variables)
    assert parse_content_context(template.content_type, template.context.to_twilio()) == template.context
    assert all(not key.isdigit() for key in template.context_variables)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.key)
def test_default_template_renders_and_compiles_with_its_samples(template: DefaultTemplate) -> None:
    values = {**template.samples, **{name: "123456" for name in type(template.context).implicit_variables}}
    assert "{{" not in preview_text(template.context, values)
    compiled = compile_variables(template.context)
    assert set(compiled.content_variables(values)) == set(compiled.mapping.values())


def test_get_default_template() -> None:
    assert get_default_template("order_confirmation").context_variables == ("lead_name", "order_id")


def test_unknown_template_key_lists_the_available_ones() -> None:
    with pytest.raises(TemplateValidationError) as info:
        get_default_template("nope")
    assert info.value.rules == ["unknown_template"]
    assert "order_confirmation" in str(info.value)


def test_templates_are_frozen_and_fresh() -> None:
    template = default_templates()[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        template.key = "other"  # type: ignore[misc]
    template.samples["lead_name"] = "changed"
    assert default_templates()[0].samples["lead_name"] != "changed"


def test_the_category_type_is_the_facts_categories() -> None:
    from typing import get_args

    from campaign_sdk.facts.content import APPROVAL_CATEGORIES
    from campaign_sdk.templates import Category

    assert get_args(Category) == APPROVAL_CATEGORIES
