"""``whatsapp/card``: https://www.twilio.com/docs/content/whatsappcard
(``#/components/schemas/whatsappCard``): a body and at least one more field; a text header or a
media header, never both."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from campaign_sdk._exceptions import Issue
from campaign_sdk.facts import content as facts
from campaign_sdk.schemas._actions import ActionList, TwilioAction
from campaign_sdk.schemas._content import MEDIA, ContentBase
from campaign_sdk.schemas._rules import FieldRule, Text

_LIMITS = facts.CONTENT_API["whatsapp/card"]


class WhatsAppCardContext(ContentBase):
    """``whatsapp/card``: ``body`` plus a header (``header_text`` or ``media``), ``footer`` and/or buttons.

    >>> WhatsAppCardContext(body="Hi {{lead_name}}, your table is ready.", footer="Reply STOP to opt out").footer
    'Reply STOP to opt out'
    """

    content_type: ClassVar[str] = "whatsapp/card"
    type_label: ClassVar[str] = "WhatsApp card"
    header_text: str | None = None
    body: str
    footer: str | None = None
    media: list[str] | None = None
    actions: list[TwilioAction] | None = None

    field_rules: ClassVar[Mapping[str, FieldRule]] = {
        "body": Text.of(_LIMITS["body"], variables=True),
        "header_text": Text.of(_LIMITS["header_text"], variables=True),
        "footer": Text.of(_LIMITS["footer"], no_variables="the WhatsApp footer takes no variables"),
        "media": MEDIA,
    }
    action_rule: ClassVar[ActionList | None] = ActionList("whatsapp/card")

    @classmethod
    def _template_issues(cls, data: Mapping[str, Any]) -> list[Issue]:
        issues = super()._template_issues(data)
        url = _LIMITS["body"].url
        if data.get("header_text") and data.get("media"):
            message = "a whatsapp/card can't have both a text header and a media header; keep one"
            issues.append(Issue("template", "one_header", message, source=facts.TWILIO, url=url))
        if data.get("body") and not any(data.get(name) for name in ("header_text", "footer", "media", "actions")):
            message = "a whatsapp/card needs a body and at least one more field: header_text, footer, media or buttons"
            issues.append(Issue("template", "required_one_of", message, source=facts.TWILIO, url=url))
        return issues
