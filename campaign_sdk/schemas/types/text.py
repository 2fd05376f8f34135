"""``twilio/text``: https://www.twilio.com/docs/content/twilio-text (``#/components/schemas/twilioText``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from campaign_sdk.facts import content as facts
from campaign_sdk.schemas._content import ContentBase
from campaign_sdk.schemas._rules import FieldRule, Text


class TwilioTextContext(ContentBase):
    """``twilio/text``: plain text, the only type SMS can carry.

    >>> TwilioTextContext(body="Hi {{lead_name}}!").to_twilio()
    {'body': 'Hi {{lead_name}}!'}
    """

    content_type: ClassVar[str] = "twilio/text"
    type_label: ClassVar[str] = "Text"
    body: str

    field_rules: ClassVar[Mapping[str, FieldRule]] = {
        "body": Text.of(
            facts.CONTENT_API["twilio/text"]["body"],
            variables=True,
            rendered_max=facts.WA_BODY.value,
            rendered_note="WhatsApp rejects a template message over 1,024 characters (Twilio error 63021)",
        ),
    }
