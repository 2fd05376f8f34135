"""Twilio's request rules, shared by the sandbox and the local test server (facts: ``campaign_sdk.facts``)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from campaign_sdk.facts.content import APPROVAL_CATEGORIES, APPROVAL_NAME_PATTERN

APPROVAL_NAME = re.compile(APPROVAL_NAME_PATTERN)
__all__ = ["APPROVAL_CATEGORIES", "APPROVAL_NAME", "fill", "main_text", "variable_error"]

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
