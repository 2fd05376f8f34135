"""campaign_sdk.facts.content: every fact has a source, and the ones the OpenAPI spec states
agree with it (the vendored copy in tests/contract)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from campaign_sdk.facts import content as facts
from campaign_sdk.schemas import CONTENT_TYPES
from campaign_sdk.schemas._rules import char_count

SPEC = json.loads((Path(__file__).parents[1] / "contract" / "twilio_content_v1.json").read_text())["components"]["schemas"]


def limits() -> list[tuple[str, facts.Limit]]:
    found = [(f"{t}.{f}", limit) for t, fields in facts.CONTENT_API.items() for f, limit in fields.items()]
    found += [(f"{a}.{f}", limit) for a, fields in facts.ACTION_TEXT.items() for f, limit in fields.items()]
    found += [(name, value) for name, value in vars(facts).items() if isinstance(value, facts.Limit)]
    return found


@pytest.mark.parametrize(("name", "limit"), limits(), ids=[n for n, _ in limits()])
def test_every_limit_names_who_enforces_it_and_where_it_is_written(name: str, limit: facts.Limit) -> None:
    assert limit.value > 0
    assert limit.source in (facts.TWILIO, facts.WHATSAPP_SOURCE)
    assert limit.url.startswith("https://"), name


@pytest.mark.parametrize(
    ("content_type", "enum"),
    [("twilio/card", "cardActionType"), ("whatsapp/card", "cardActionType"),
     ("twilio/call-to-action", "callToActionActionType"), ("twilio/quick-reply", "quickReplyActionType"),
     ("twilio/carousel", "carouselActionType")],
)
def test_action_types_are_the_specs_enums(content_type: str, enum: str) -> None:
    assert set(facts.ACTION_TYPES[content_type]) == set(SPEC[enum]["enum"])


def test_every_modelled_type_is_in_the_spec_and_has_channels() -> None:
    assert set(CONTENT_TYPES) <= set(SPEC["types"]["properties"])
    assert set(CONTENT_TYPES) == set(facts.CHANNELS)
    assert facts.IN_SESSION_ONLY <= set(CONTENT_TYPES)


@pytest.mark.parametrize("content_type", sorted(CONTENT_TYPES))
def test_models_take_exactly_the_specs_fields(content_type: str) -> None:
    ref = SPEC["types"]["properties"][content_type]["$ref"].rsplit("/", 1)[-1]
    spec_fields = set(SPEC[ref]["properties"])
    model_fields = set(CONTENT_TYPES[content_type].model_fields)
    # twilio/card's body: on Twilio's card page (2026), not yet in the spec (2026-04).
    extra = {"body"} if content_type == "twilio/card" else set()
    assert model_fields == spec_fields | extra


def test_languages_and_categories() -> None:
    assert {"en", "en_US", "pt_BR", "es_MX", "zh_CN", "fil"} <= facts.LANGUAGES
    assert not {"en-US", "EN", "pt-br"} & facts.LANGUAGES
    assert facts.DEFAULT_LANGUAGE in facts.LANGUAGES
    assert facts.APPROVAL_CATEGORIES == ("UTILITY", "MARKETING", "AUTHENTICATION")


@pytest.mark.parametrize(("text", "count"), [("", 0), ("abc", 3), ("olá", 3), ("😀", 2), ("👍🏽", 4), ("中文", 2)])
def test_characters_are_counted_in_utf16_code_units(text: str, count: int) -> None:
    assert char_count(text) == count
