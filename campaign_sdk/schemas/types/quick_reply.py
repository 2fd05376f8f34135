"""``twilio/quick-reply``: https://www.twilio.com/docs/content/twilio-quick-reply
(``#/components/schemas/twilioQuickReply``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from campaign_sdk.facts import content as facts
from campaign_sdk.schemas._actions import ActionList, TwilioAction
from campaign_sdk.schemas._content import ContentBase
from campaign_sdk.schemas._rules import FieldRule, Text


class TwilioQuickReplyContext(ContentBase):
    """``twilio/quick-reply``: a body and 1 to 10 quick-reply buttons with unique ids.

    >>> yes = {"type": "QUICK_REPLY", "title": "Yes", "id": "yes"}
    >>> qr = TwilioQuickReplyContext(body="Still coming?", actions=[yes])
    >>> qr.to_twilio()["actions"]
    [{'type': 'QUICK_REPLY', 'title': 'Yes', 'id': 'yes'}]
    """

    content_type: ClassVar[str] = "twilio/quick-reply"
    type_label: ClassVar[str] = "Quick reply"
    body: str
    actions: list[TwilioAction]

    field_rules: ClassVar[Mapping[str, FieldRule]] = {
        "body": Text.of(facts.CONTENT_API["twilio/quick-reply"]["body"], variables=True)
    }
    action_rule: ClassVar[ActionList | None] = ActionList("twilio/quick-reply")
