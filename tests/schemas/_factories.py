"""Valid raw contexts to start from, and helpers to read the rules a context breaks."""

from __future__ import annotations

import copy
from typing import Any

from campaign_sdk.schemas import validate_context

TEXT = "twilio/text"
MEDIA = "twilio/media"
CARD = "twilio/card"
CTA = "twilio/call-to-action"
QUICK_REPLY = "twilio/quick-reply"
CAROUSEL = "twilio/carousel"
WA_CARD = "whatsapp/card"
AUTH = "whatsapp/authentication"
LIST = "twilio/list-picker"
LOCATION = "twilio/location"
CATALOG = "twilio/catalog"


def quick_reply(title: str = "Yes", id: str = "yes") -> dict[str, Any]:
    return {"type": "QUICK_REPLY", "title": title, "id": id}


def url_button(title: str = "Open", url: str = "https://example.com/page") -> dict[str, Any]:
    return {"type": "URL", "title": title, "url": url}


def phone_button(title: str = "Call us", phone: str = "+14155550100") -> dict[str, Any]:
    return {"type": "PHONE_NUMBER", "title": title, "phone": phone}


def copy_code(code: str = "SAVE10") -> dict[str, Any]:
    return {"type": "COPY_CODE", "code": code}


def voice_call(title: str = "Call now", ttl_minutes: Any = None) -> dict[str, Any]:
    action = {"type": "VOICE_CALL", "title": title}
    return action if ttl_minutes is None else {**action, "ttl_minutes": ttl_minutes}


VALID: dict[str, dict[str, Any]] = {
    TEXT: {"body": "Hi {{lead_name}}, your order has shipped."},
    MEDIA: {"body": "Hi {{lead_name}}, here is your receipt.", "media": ["https://example.com/r.png"]},
    CARD: {"title": "Hello {{lead_name}}", "subtitle": "Reply STOP to opt out", "actions": [url_button()]},
    CTA: {"body": "Hi {{lead_name}}, your order is ready.", "actions": [url_button()]},
    QUICK_REPLY: {"body": "Hi {{lead_name}}, are you coming?", "actions": [quick_reply()]},
    CAROUSEL: {
        "body": "New merch for you, {{lead_name}}!",
        "cards": [
            {"title": "Hoodie", "body": "Warm as owl feathers", "media": "https://example.com/hoodie.jpg",
             "actions": [{"type": "URL", "title": "Buy", "url": "https://example.com/buy/{{sku}}"}]},
            {"body": "Carry a little more", "media": "https://example.com/tote.jpg",
             "actions": [{"type": "URL", "title": "Buy", "url": "https://example.com/tote"}]},
        ],
    },
    WA_CARD: {"body": "Hi {{lead_name}}, your table is ready.", "footer": "Reply STOP to opt out"},
    AUTH: {"add_security_recommendation": True, "code_expiration_minutes": 10,
           "actions": [{"type": "COPY_CODE", "copy_code_text": "Copy code"}]},
    LIST: {"body": "Hi {{lead_name}}, where to?", "button": "Destinations",
           "items": [{"item": "NYC", "id": "nyc", "description": "New York"}, {"item": "SFO", "id": "sfo"}]},
    LOCATION: {"latitude": 37.62, "longitude": -122.38, "label": "Time to board, {{lead_name}}"},
    CATALOG: {"body": "Hi {{lead_name}}, new arrivals", "id": "1234567890", "items": [{"id": "sku-1"}]},
}


def data(content_type: str, **fields: Any) -> dict[str, Any]:
    """A valid raw context of ``content_type`` with ``fields`` replaced (None removes a field)."""
    result = copy.deepcopy(VALID[content_type])
    result.update(fields)
    return {key: value for key, value in result.items() if value is not None}


def rules(content_type: str, context: Any) -> list[str]:
    """The rule codes ``context`` breaks, in order (empty when valid)."""
    return [issue.rule for issue in validate_context(content_type, context)]


def fields_and_rules(content_type: str, context: Any) -> list[tuple[str, str]]:
    return [(issue.field, issue.rule) for issue in validate_context(content_type, context)]
