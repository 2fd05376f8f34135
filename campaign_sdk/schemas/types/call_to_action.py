"""``twilio/call-to-action``: https://www.twilio.com/docs/content/twiliocall-to-action
(``#/components/schemas/twilioCallToAction``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from campaign_sdk.facts import content as facts
from campaign_sdk.schemas._actions import ActionList, TwilioAction
from campaign_sdk.schemas._content import ContentBase
from campaign_sdk.schemas._rules import FieldRule, Text


class TwilioCallToActionContext(ContentBase):
    """``twilio/call-to-action``: a body and buttons that open a URL, call, or copy a code.

    WhatsApp's button limits (2 URL, 1 phone, 1 copy code, 10 in all) are checked by the lint.

    >>> cta = TwilioCallToActionContext(
    ...     body="Your order {{order_id}} is on its way.",
    ...     actions=[{"type": "URL", "title": "Track", "url": "https://example.com/t/{{order_id}}"}],
    ... )
    >>> type(cta.actions[0]).__name__
    'UrlAction'
    """

    content_type: ClassVar[str] = "twilio/call-to-action"
    type_label: ClassVar[str] = "Call to action"
    body: str
    actions: list[TwilioAction]

    field_rules: ClassVar[Mapping[str, FieldRule]] = {
        "body": Text.of(facts.CONTENT_API["twilio/call-to-action"]["body"], variables=True)
    }
    action_rule: ClassVar[ActionList | None] = ActionList("twilio/call-to-action")
