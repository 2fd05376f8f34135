"""Draft checking (campaign_sdk.schemas._draft), shared by the Template Studio and the HTTP service:
any draft gets an answer, never an exception, and a draft is the same as its JSON text."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaign_sdk.schemas import CONTENT_TYPES
from campaign_sdk.schemas._draft import EDITABLE_FIELDS, check_draft

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
_KEYS = st.sampled_from(["type", "title", "url", "phone", "code", "id", "body", "text"]) | st.text(max_size=3)
JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
                    max_leaves=8)
DRAFTS = st.dictionaries(st.sampled_from([*EDITABLE_FIELDS, "extra"]), JSON, max_size=4)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(CONTENT_TYPES)), DRAFTS,
       st.none() | st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2),
       st.none() | st.lists(st.text(max_size=4), max_size=2))
def test_every_json_draft_of_every_type_gets_a_check_not_an_exception(content_type, draft, sample, columns) -> None:
    check = check_draft(content_type, draft, sample=sample, lead_columns=columns)
    assert (check.context is None) == bool(check.errors)
    assert check.value == draft
    assert check_draft(content_type, json.dumps(draft), sample=sample, lead_columns=columns) == check


def test_actions_that_are_no_list_are_an_error_and_the_rest_is_still_counted() -> None:
    check = check_draft("twilio/quick-reply", {"body": "Hi {{lead_name}}", "actions": 5})
    assert [(issue.field, issue.rule) for issue in check.errors] == [("actions", "wrong_type")]
    assert check.counters == {"body": (16, 1024)}
    assert [(v.name, v.fields) for v in check.variables] == [("lead_name", ("body",))]


@pytest.mark.parametrize(("content_type", "draft", "rule"), [
    ("twilio/fax", {"body": "Hi"}, "unknown_content_type"),
    ("twilio/text", "{", "invalid_json"),
    ("twilio/text", "[1, 2]", "wrong_type"),
    ("twilio/text", '"body"', "wrong_type"),
])
def test_a_draft_that_is_no_context_has_its_one_error_and_nothing_else(content_type, draft, rule) -> None:
    check = check_draft(content_type, draft)
    assert [issue.rule for issue in check.errors] == [rule]
    assert (check.context, check.warnings, check.counters, check.variables) == (None, [], {}, [])
    assert check.value == (draft if isinstance(draft, dict) else {})


@pytest.mark.parametrize("kind", [["QUICK_REPLY"], {"a": 1}])
def test_a_button_type_that_is_not_text_is_an_error_not_an_exception(kind) -> None:
    """Found by the fuzz test above: a list or object as a button's type (unhashable) raised."""
    check = check_draft("twilio/quick-reply", {"body": "Hi", "actions": [{"type": kind, "title": "Yes", "id": "y"}]})
    assert check.context is None and check.errors
