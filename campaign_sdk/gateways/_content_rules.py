"""What Twilio's Content API refuses on create and on an approval request, as the sandbox and
the local test server answer it (facts from :mod:`campaign_sdk.facts.content`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from campaign_sdk.facts import content as facts

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
    missing = sorted({key for text in _strings(types) for key in _NUMBERED.findall(text)} - set(variables))
    if missing:
        shown = ", ".join("{{" + key + "}}" for key in missing)
        return f"every variable needs a sample value in the Content resource's variables: missing {shown}"
    if category == "AUTHENTICATION" and not set(types) & facts.AUTHENTICATION_TYPES:
        return "category AUTHENTICATION is only for whatsapp/authentication templates"
    return None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _strings(item)]
    return []
