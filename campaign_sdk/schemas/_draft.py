"""A template draft checked the way the schemas check it, for every editor of drafts.

Every rule comes from :mod:`campaign_sdk.schemas`; this module only gathers what they say about a
draft (errors, WhatsApp warnings, character counts, variables). The notebook's Template Studio
(:mod:`campaign_sdk.widgets`) and the HTTP service's ``POST /templates/validate`` both show exactly
this, so it lives here, below both: the server never imports the widgets (nor ipywidgets).

Any draft gets an answer, however malformed: an unknown content type, text that is not JSON or a
JSON value that is not an object come back as errors, never as an exception.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from campaign_sdk._exceptions import Issue, TemplateValidationError
from campaign_sdk.schemas import (
    ACTION_FIELD_LIMITS,
    CONTENT_TYPES,
    FIELD_LIMITS,
    ContentContext,
    compile_variables,
    find_and_validate_variables,
    find_variables,
    lint_whatsapp,
    parse_content_context,
    render_preview,
)
from campaign_sdk.schemas._rules import char_count

#: The fields an editor can show, in the order WhatsApp shows them.
EDITABLE_FIELDS = (
    "header_text", "title", "body", "subtitle", "footer", "media", "button", "items", "cards", "label", "address",
    "latitude", "longitude", "id", "dynamic_items", "add_security_recommendation", "code_expiration_minutes",
    "actions",
)


@dataclass(frozen=True)
class Variable:
    """One ``{{name}}`` of a draft: where it is used and where each lead's value comes from."""

    name: str
    number: str
    fields: tuple[str, ...]
    source: str
    sample: str | None


@dataclass(frozen=True)
class DraftCheck:
    """What the schemas say about one draft.

    ``errors`` block saving (Twilio would refuse the content); ``warnings`` are what WhatsApp's
    approval or a send with the sample values would reject. ``counters`` maps a field path to
    ``(characters, limit)``.
    """

    content_type: str
    value: dict[str, Any]
    context: ContentContext | None
    errors: list[Issue]
    warnings: list[Issue] = field(default_factory=list)
    counters: dict[str, tuple[int, int]] = field(default_factory=dict)
    variables: list[Variable] = field(default_factory=list)


def fields_of(content_type: str) -> dict[str, bool]:
    """The editable fields of ``content_type`` in display order, each with whether it is required."""
    model_fields = CONTENT_TYPES[content_type].model_fields
    return {name: model_fields[name].is_required() for name in EDITABLE_FIELDS if name in model_fields}


def check_draft(
    content_type: str,
    value: Mapping[str, Any] | str,
    *,
    sample: Mapping[str, Any] | None = None,
    lead_columns: Sequence[str] | None = None,
) -> DraftCheck:
    """Validate ``value`` (a dict, or its JSON text) as a ``content_type`` context and lint it
    with ``sample`` values.

    ``lead_columns``: the custom variables the campaign's leads have (None: no leads yet); each
    variable they lack is a ``variable_not_provided`` warning. A draft that is no context at all
    (unknown content type, not JSON, not a JSON object) has only its one error:

    >>> [issue.rule for issue in check_draft("twilio/text", "[1, 2]").errors]
    ['wrong_type']
    >>> check_draft("twilio/fax", {"body": "Hi"}).counters
    {}
    """
    try:
        context: ContentContext | None = parse_content_context(content_type, value)
        errors: list[Issue] = []
    except TemplateValidationError as exc:  # UnknownContentTypeError included
        context, errors = None, exc.issues
    raw = _as_object(value)
    if raw is None or content_type not in CONTENT_TYPES:
        return DraftCheck(content_type, raw or {}, None, errors)
    value = raw
    warnings = _warnings(context, sample, lead_columns) if context is not None else []
    return DraftCheck(
        content_type, value, context, errors, warnings, counters(content_type, value),
        _variables(value, context, sample, lead_columns),
    )


def counters(content_type: str, value: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    """``path -> (characters, limit)`` for every text field of ``value`` that has a limit
    (characters as Twilio counts them: UTF-16 code units, an emoji counts 2).

    >>> counters("twilio/quick-reply", {"body": "Coming?", "actions": [{"type": "QUICK_REPLY", "title": "Yes"}]})
    {'body': (7, 1024), 'actions[0].title': (3, 20)}
    """
    found = {
        name: (char_count(text), limit)
        for name, limit in FIELD_LIMITS[content_type].items()
        if isinstance(text := value.get(name), str)
    }
    actions = value.get("actions")
    for index, action in enumerate(actions if isinstance(actions, list | tuple) else ()):
        limits = ACTION_FIELD_LIMITS.get(str(action.get("type")), {}) if isinstance(action, Mapping) else {}
        for name, limit in limits.items():
            if isinstance(text := action.get(name), str):
                found[f"actions[{index}].{name}"] = (char_count(text), limit)
    return found


def _as_object(value: Mapping[str, Any] | str) -> dict[str, Any] | None:
    """The draft as a dict, or None when it is not a JSON object (its error says why)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    return dict(value) if isinstance(value, Mapping) else None


def _warnings(
    context: ContentContext, sample: Mapping[str, Any] | None, lead_columns: Sequence[str] | None
) -> list[Issue]:
    samples = {key: str(v) for key, v in (sample or {}).items() if v is not None}
    issues = lint_whatsapp(context, samples=samples or None)
    try:
        render_preview(context, samples, missing="error")
    except TemplateValidationError as exc:  # missing values are the lint's wa_missing_sample
        issues += [issue for issue in exc.issues if issue.rule == "rendered_too_long"]
    if lead_columns is not None:
        try:
            find_and_validate_variables(context, custom_variable_keys=lead_columns)
        except TemplateValidationError as exc:
            issues += exc.issues
    return issues


def text_fields(value: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(path, text)`` for every string of a raw context, in display order."""
    for name in EDITABLE_FIELDS:
        item = value.get(name)
        if isinstance(item, str):
            yield name, item
        elif isinstance(item, list):
            for index, entry in enumerate(item):
                if isinstance(entry, str):
                    yield f"{name}[{index}]", entry
                elif isinstance(entry, Mapping):
                    for key, text in entry.items():
                        if isinstance(text, str) and key != "type":
                            yield f"{name}[{index}].{key}", text


def _variables(
    value: Mapping[str, Any],
    context: ContentContext | None,
    sample: Mapping[str, Any] | None,
    lead_columns: Sequence[str] | None,
) -> list[Variable]:
    used: dict[str, list[str]] = {}
    for path, text in text_fields(value):
        for key in find_variables(text):
            if path not in used.setdefault(key, []):
                used[key].append(path)
    numbers = compile_variables(context).mapping if context is not None else {}
    return [
        Variable(key, numbers.get(key, ""), tuple(paths), _source(key, lead_columns), _sample(sample, key))
        for key, paths in used.items()
    ]


def _source(key: str, lead_columns: Sequence[str] | None) -> str:
    if lead_columns is None:
        return f"each lead's {key!r} column (none loaded yet)"
    if key in lead_columns:
        return f"each lead's {key!r} column (loaded)"
    return f"missing: no lead has a {key!r} column; add one"


def _sample(sample: Mapping[str, Any] | None, key: str) -> str | None:
    found = (sample or {}).get(key)
    return None if found is None or not str(found).strip() else str(found)
