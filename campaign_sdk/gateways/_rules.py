"""Twilio's request rules and error codes, shared by the sandbox and the local test server."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from campaign_sdk.facts.content import APPROVAL_CATEGORIES, APPROVAL_NAME_PATTERN

APPROVAL_NAME = re.compile(APPROVAL_NAME_PATTERN)
__all__ = ["APPROVAL_CATEGORIES", "APPROVAL_NAME"]
E164 = re.compile(r"^\+[1-9]\d{6,14}$")

# Twilio's magic test numbers (test credentials): the API answers with these errors.
MAGIC_NUMBERS: dict[str, int] = {"+15005550001": 21211, "+15005550004": 21610, "+15005550009": 21614}

ERRORS: dict[int, str] = {
    20003: "Authentication failed",
    20404: "The requested resource was not found",
    20429: "Too many concurrent requests",
    21211: "Invalid 'To' phone number",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    21655: "The ContentSid is invalid",
    21656: "The ContentVariables parameter is invalid: every value must be a non-empty string",
    30007: "Message filtered (spam)",
    30008: "Unknown error",
    63014: "The recipient blocked this sender",
    63016: "Outside the allowed window: send an approved template",
    63021: "The channel rejected the content",
    63024: "Invalid message recipient: not a WhatsApp user",
    63032: "Meta did not deliver this marketing template (experiment)",
    63049: "Meta chose not to deliver this marketing template",
}

# Failures reported by the API call itself (HTTP 400); the others arrive as a failed status.
SYNC_ERRORS = frozenset({21211, 21610, 21614, 21655, 21656})


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
