"""Twilio's request rules the simulator enforces: variables, content creation, approval requests
(facts: ``campaign_sdk.facts``)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from campaign_sdk.facts import content as facts
from campaign_sdk.facts.content import APPROVAL_CATEGORIES, APPROVAL_NAME_PATTERN

APPROVAL_NAME = re.compile(APPROVAL_NAME_PATTERN)
__all__ = [
    "APPROVAL_CATEGORIES", "APPROVAL_NAME", "approval_problem", "content_problem", "fill", "main_text", "strings",
    "variable_error",
]

# E.164, the magic test numbers and the error codes live in campaign_sdk.facts (numbers, errors).


def variable_error(raw: str | Mapping[str, Any] | None) -> str | None:
    """Why a ``ContentVariables`` value breaks Twilio's rules (None when it is fine).

    It must be a JSON *string* of an object whose values are non-empty strings.
    """
    if raw is None:
        return None
    if not isinstance(raw, str):
        return "ContentVariables must be a JSON string, not a form-encoded dict"
    try:
        values = json.loads(raw)
    except ValueError:
        return f"ContentVariables is not valid JSON: {raw[:80]!r}"
    if not isinstance(values, dict):
        return "ContentVariables must be a JSON object"
    empty = [key for key, value in values.items() if value is None or not str(value).strip()]
    return f"ContentVariables has null or empty values for {empty}" if empty else None


def fill(text: str | None, values: Mapping[str, str]) -> str | None:
    """``text`` with ``{{n}}`` replaced by ``values[n]`` (unknown keys left as they are)."""
    if text is None:
        return None
    return re.sub(r"\{\{(\w+)\}\}", lambda m: str(values.get(m.group(1), m.group(0))), text)


def main_text(types: Mapping[str, Any]) -> str | None:
    """The text a content resource shows first (its body, or a card's title)."""
    for payload in types.values():
        if isinstance(payload, Mapping):
            text = payload.get("body") or payload.get("title")
            if text:
                return str(text)
    return None


# The content types of the OpenAPI spec (#/components/schemas/types).
SPEC_TYPES = frozenset({
    "twilio/text", "twilio/media", "twilio/location", "twilio/list-picker", "twilio/call-to-action",
    "twilio/quick-reply", "twilio/card", "twilio/catalog", "twilio/carousel", "twilio/flows", "twilio/schedule",
    "whatsapp/card", "whatsapp/authentication", "whatsapp/flows",
})
_NUMBERED = re.compile(r"\{\{(\w+)\}\}")


def content_problem(types: Mapping[str, Any], language: Any) -> str | None:
    """Why ``POST /v1/Content`` would be refused (None: accepted)."""
    unknown = sorted(set(types) - SPEC_TYPES)
    if unknown:
        return f"unknown content type(s) {unknown}; the Content API takes {sorted(SPEC_TYPES)}"
    if not language or not isinstance(language, str):
        return "language is required"
    return None


def approval_problem(types: Mapping[str, Any], variables: Mapping[str, Any], category: str) -> str | None:
    """Why an approval request for this content would be refused (None: accepted)."""
    session_only = sorted(set(types) & facts.IN_SESSION_ONLY)
    if session_only:
        return f"{', '.join(session_only)} can't be submitted for WhatsApp approval (in-session only)"
    missing = sorted({key for text in strings(types) for key in _NUMBERED.findall(text)} - set(variables))
    if missing:
        shown = ", ".join("{{" + key + "}}" for key in missing)
        return f"every variable needs a sample value in the Content resource's variables: missing {shown}"
    if category == "AUTHENTICATION" and not set(types) & facts.AUTHENTICATION_TYPES:
        return "category AUTHENTICATION is only for whatsapp/authentication templates"
    return None


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for item in value.values() for s in strings(item)]
    if isinstance(value, list | tuple):
        return [s for item in value for s in strings(item)]
    return []
