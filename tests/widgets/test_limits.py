"""The limits the counters show are the ones the schema models enforce (one source of truth)."""

from __future__ import annotations

from typing import Any

import pytest

from campaign_sdk.schemas import (
    ACTION_FIELD_LIMITS,
    ACTION_TYPES,
    CONTENT_TYPES,
    FIELD_LIMITS,
    validate_context,
)
from campaign_sdk.schemas._draft import counters
from tests.schemas._factories import VALID

VALID_ACTIONS: dict[str, dict[str, Any]] = {
    "QUICK_REPLY": {"type": "QUICK_REPLY", "title": "Yes", "id": "yes"},
    "URL": {"type": "URL", "title": "Open", "url": "https://example.com/x"},
    "PHONE_NUMBER": {"type": "PHONE_NUMBER", "title": "Call", "phone": "+14155550100"},
    "COPY_CODE": {"type": "COPY_CODE", "title": "Copy Code", "code": "SAVE10"},
    "VOICE_CALL": {"type": "VOICE_CALL", "title": "Call now"},
    "VOICE_CALL_REQUEST": {"type": "VOICE_CALL_REQUEST", "title": "May we call?"},
}


def _rules_at(content_type: str, context: dict[str, Any], path: str) -> list[str]:
    return [i.rule for i in validate_context(content_type, context) if i.field == path]


@pytest.mark.parametrize("content_type", [t for t in sorted(FIELD_LIMITS) if FIELD_LIMITS[t]])
def test_field_limits_are_where_the_models_refuse(content_type: str) -> None:
    context = dict(VALID[content_type])
    assert validate_context(content_type, context) == []
    assert FIELD_LIMITS[content_type]
    for name, limit in FIELD_LIMITS[content_type].items():
        assert _rules_at(content_type, {**context, name: "a" * limit}, name) == []
        assert _rules_at(content_type, {**context, name: "a" * (limit + 1)}, name) == ["max_length"]
        assert counters(content_type, {**context, name: "a" * (limit + 1)})[name] == (limit + 1, limit)


@pytest.mark.parametrize("action_type", sorted(ACTION_FIELD_LIMITS))
def test_button_limits_are_where_the_models_refuse(action_type: str) -> None:
    owner = "twilio/card" if action_type in ACTION_TYPES["twilio/card"] else "twilio/call-to-action"
    card = {"title": "Hello there", "subtitle": "Reply STOP to opt out"} if owner == "twilio/card" else {"body": "Hi"}
    for name, limit in ACTION_FIELD_LIMITS[action_type].items():
        at_limit = {**VALID_ACTIONS[action_type], name: "a" * limit}
        over = {**VALID_ACTIONS[action_type], name: "a" * (limit + 1)}
        path = f"actions[0].{name}"
        assert _rules_at(owner, {**card, "actions": [at_limit]}, path) == []
        assert _rules_at(owner, {**card, "actions": [over]}, path) == ["max_length"]
        assert counters(owner, {**card, "actions": [over]})[path] == (limit + 1, limit)


@pytest.mark.parametrize("content_type", [t for t in sorted(ACTION_TYPES) if ACTION_TYPES[t]])
def test_action_types_are_the_ones_the_models_allow(content_type: str) -> None:
    fields = CONTENT_TYPES[content_type].model_fields
    for action_type, action in VALID_ACTIONS.items():
        context = {"body": "Hello there", "title": "Hello there", "actions": [action]}
        context = {k: v for k, v in context.items() if k in fields}
        refused = "action_type_not_allowed" in _rules_at(content_type, context, "actions[0].type")
        assert refused == (action_type not in ACTION_TYPES[content_type])


def test_types_without_buttons_have_no_action_types() -> None:
    assert ACTION_TYPES["twilio/text"] == () == ACTION_TYPES["twilio/media"]
    assert "actions" not in CONTENT_TYPES["twilio/text"].model_fields
