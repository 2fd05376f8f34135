"""``twilio/card``: https://www.twilio.com/docs/content/twiliocard (``#/components/schemas/twilioCard``).

The card page (2026) says a card needs *either a title or a body* plus at least one more field
and lists ``body``; the OpenAPI spec (2026-04) and twilio-python 9.13's ``TwilioCard`` lag behind
and have no ``body``, so the gateway sends a card's body itself (see ``gateways/_twilio.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from campaign_sdk._exceptions import Issue
from campaign_sdk.facts import content as facts
from campaign_sdk.schemas._actions import ActionList, TwilioAction
from campaign_sdk.schemas._content import MEDIA, ContentBase
from campaign_sdk.schemas._rules import FieldRule, Text

_LIMITS = facts.CONTENT_API["twilio/card"]
_FIELDS = ("title", "body", "subtitle", "media", "actions")


class TwilioCardContext(ContentBase):
    """``twilio/card``: a title or a body, plus at least one more of title, body, subtitle,
    media or actions.

    >>> TwilioCardContext(title="Your cart, {{lead_name}}", subtitle="Reply STOP to opt out").subtitle
    'Reply STOP to opt out'
    >>> TwilioCardContext(body="Your order shipped", media=["https://example.com/box.png"]).body
    'Your order shipped'
    """

    content_type: ClassVar[str] = "twilio/card"
    type_label: ClassVar[str] = "Card"
    title: str | None = None
    body: str | None = None
    subtitle: str | None = None
    media: list[str] | None = None
    actions: list[TwilioAction] | None = None

    field_rules: ClassVar[Mapping[str, FieldRule]] = {
        "title": Text.of(_LIMITS["title"], variables=True),
        "body": Text.of(_LIMITS["body"], variables=True),
        "subtitle": Text.of(
            _LIMITS["subtitle"], no_variables="the subtitle becomes the WhatsApp footer, which takes no variables"
        ),
        "media": MEDIA,
    }
    action_rule: ClassVar[ActionList | None] = ActionList("twilio/card")

    def whatsapp_body_field(self) -> str | None:
        """WhatsApp reviews the body as the message text; a card without body shows its title."""
        return "body" if self.body else "title"

    @classmethod
    def _template_issues(cls, data: Mapping[str, Any]) -> list[Issue]:
        issues = super()._template_issues(data)
        present = [name for name in _FIELDS if data.get(name)]
        if not (data.get("title") or data.get("body")):
            message = "a twilio/card needs a title or a body (Twilio's card page); add one"
            issues.append(Issue("template", "required_one_of", message, source=facts.TWILIO, url=_LIMITS["title"].url))
        elif len(present) < 2:
            message = (
                f"a twilio/card needs at least one field besides its {present[0]}: add a title, body, "
                "subtitle, media or a button (Twilio's card page)"
            )
            issues.append(Issue("template", "required_one_of", message, source=facts.TWILIO, url=_LIMITS["title"].url))
        return issues
