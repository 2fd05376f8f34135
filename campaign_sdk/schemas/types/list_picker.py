"""``twilio/list-picker``: https://www.twilio.com/docs/content/twiliolist-picker
(``#/components/schemas/twilioListPicker``, ``listItem``). In-session only: it can't start a
conversation and can't be submitted for WhatsApp approval."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from campaign_sdk._exceptions import Issue
from campaign_sdk.facts import content as facts
from campaign_sdk.schemas._content import ContentBase
from campaign_sdk.schemas._rules import FieldRule, RuleModel, Text

_LIMITS = facts.CONTENT_API["twilio/list-picker"]


class ListItem(RuleModel):
    """One option of a list picker: ``item`` (shown), ``id`` (sent back), optional ``description``.

    >>> ListItem(item="NYC", id="nyc", description="Flights to New York").to_twilio()["id"]
    'nyc'
    """

    item: str
    id: str
    description: str | None = None

    field_rules: ClassVar[Mapping[str, FieldRule]] = {
        "item": Text.of(_LIMITS["item"], variables=True),
        "id": Text.of(_LIMITS["id"], variables=True),
        "description": Text.of(_LIMITS["description"], variables=True),
    }

    def to_twilio(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class TwilioListPickerContext(ContentBase):
    """``twilio/list-picker``: a body, a button label and 1 to 10 items with unique ids.

    >>> picker = TwilioListPickerContext(body="Where to?", button="Choose", items=[{"item": "NYC", "id": "nyc"}])
    >>> picker.in_session_only()
    True
    """

    content_type: ClassVar[str] = "twilio/list-picker"
    type_label: ClassVar[str] = "List picker (in-session)"
    body: str
    button: str
    items: list[ListItem]

    field_rules: ClassVar[Mapping[str, FieldRule]] = {
        "body": Text.of(_LIMITS["body"], variables=True),
        "button": Text.of(_LIMITS["button"], variables=True),
    }

    @classmethod
    def _template_issues(cls, data: Mapping[str, Any]) -> list[Issue]:
        issues = super()._template_issues(data)
        items = data.get("items")
        if not isinstance(items, list):
            return issues
        low, high = facts.LIST_ITEMS
        if not low <= len(items) <= high:
            message = f"a list picker has {len(items)} items; Twilio allows {low} to {high}"
            issues.append(Issue("items", "item_count", message, limit=high, source=facts.TWILIO, url=_LIMITS["body"].url))
        seen: dict[Any, int] = {}
        for index, item in enumerate(items):
            key = item.get("id") if isinstance(item, Mapping) else getattr(item, "id", None)
            if key in seen:
                message = f"id {key!r} is already used by items[{seen[key]}]; list item ids must be unique"
                issues.append(Issue(f"items[{index}].id", "duplicate_id", message, source=facts.TWILIO))
            seen.setdefault(key, index)
        return issues
