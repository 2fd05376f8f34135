"""Saving from the studio into a real store (SQLite file and PostgreSQL), and opening a campaign."""

from __future__ import annotations

import html

import pandas as pd
import pytest

from campaign_sdk import CampaignStateError, TemplateValidationError, TwilioTextContext
from campaign_sdk.templates import get_default_template
from campaign_sdk.widgets import TemplateStudio
from tests.widgets._find import find, text_input

LEADS = pd.DataFrame(
    {"phone_number": ["+14155550101", "+14155550102"], "lead_name": ["Ana", "Bo"], "city": ["Lima", "Oslo"]}
)


def test_save_is_refused_with_the_reasons_while_invalid_and_nothing_is_stored(client) -> None:
    studio = TemplateStudio(template="order_confirmation", client=client)
    text_input(studio, "body").value = "x" * 1601
    with pytest.raises(TemplateValidationError) as refused:
        studio.save(name="Too long")
    assert refused.value.issues == studio.errors and refused.value.rules == ["max_length"]
    assert client.campaigns().empty

    find(studio, "cs-campaign-name").value = "Too long"
    find(studio, "cs-save").click()
    result = find(studio, "cs-save-result").value
    assert "Not saved" in result and "[max_length]" in result
    assert client.campaigns().empty


def test_save_creates_a_campaign_and_an_unchanged_default_template_keeps_its_key(client) -> None:
    studio = TemplateStudio(template="order_confirmation", client=client)
    find(studio, "cs-campaign-name").value = "Orders"
    find(studio, "cs-campaign-type").value = "service"
    find(studio, "cs-save").click()
    assert html.escape("Saved to campaign 'Orders'") in find(studio, "cs-save-result").value
    campaign = client.campaign("Orders")
    assert campaign.content == get_default_template("order_confirmation").context
    assert campaign.campaign_type == "service"
    assert campaign.to_schema().context_variables == ["lead_name", "order_id"]  # the template's key was kept

    edited = TemplateStudio(template="order_confirmation", client=client)
    text_input(edited, "body").value = "Hi {{lead_name}}, order {{order_id}} is confirmed. Thank you!"
    saved = edited.save(name="Edited")
    assert saved.content == TwilioTextContext(body="Hi {{lead_name}}, order {{order_id}} is confirmed. Thank you!")
    assert saved.to_schema().context_variables == []  # edited: stored as content, not as the template


def test_from_campaign_uses_its_leads_as_samples_and_save_updates_it(client) -> None:
    campaign = client.create_campaign("Welcome", content=TwilioTextContext(body="Hi {{lead_name}}, welcome aboard!"))
    campaign.add_leads(LEADS)
    studio = TemplateStudio.from_campaign(campaign)
    assert sorted(s["lead_name"] for s in studio.samples) == ["Ana", "Bo"]
    assert find(studio, "cs-campaign-name").value == "Welcome"
    assert [v.source for v in studio.variables] == ["each lead's 'lead_name' column (loaded)"]

    text_input(studio, "body").value = "Hi {{lead_name}}, welcome to our {{store}} store!"
    assert ("body", "variable_not_provided") in [(i.field, i.rule) for i in studio.warnings]
    source = studio.variables[1].source
    assert source == "missing: no lead has a 'store' column; add one"
    assert html.escape(source) in find(studio, "cs-variables-box").value

    text_input(studio, "body").value = "Hi {{lead_name}}, greetings from {{city}} and welcome!"
    assert studio.warnings == []
    studio.sample_index = [s["lead_name"] for s in studio.samples].index("Bo")
    assert "Hi Bo, greetings from Oslo and welcome!" in studio.preview_html
    assert studio.save() is campaign
    assert campaign.content.body == "Hi {{lead_name}}, greetings from {{city}} and welcome!"


def test_saving_into_a_submitted_campaign_is_refused_by_the_service(client) -> None:
    campaign = client.create_campaign("Pending", template="order_confirmation")
    campaign.submit_for_approval(category="UTILITY")
    studio = TemplateStudio.from_campaign(campaign)
    text_input(studio, "body").value = "Hi {{lead_name}}, your order {{order_id}} is on its way to you."
    with pytest.raises(CampaignStateError):
        studio.save()
    find(studio, "cs-save").click()
    assert "Not saved" in find(studio, "cs-save-result").value
    assert campaign.content == get_default_template("order_confirmation").context


def test_from_campaign_without_leads_takes_the_default_template_samples(client) -> None:
    campaign = client.create_campaign("Cart", template="abandoned_cart")
    studio = TemplateStudio.from_campaign(campaign)
    assert studio.samples == [get_default_template("abandoned_cart").samples]
    assert studio.variables[0].source == "each lead's 'lead_name' column (none loaded yet)"


def test_save_needs_somewhere_to_save() -> None:
    with pytest.raises(TypeError, match="nowhere to save"):
        TemplateStudio(template="order_confirmation").save(name="x")
