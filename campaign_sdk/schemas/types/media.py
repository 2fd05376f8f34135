"""``twilio/media``: https://www.twilio.com/docs/content/twilio-media (``#/components/schemas/twilioMedia``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from campaign_sdk.facts import content as facts
from campaign_sdk.schemas._content import MEDIA, ContentBase
from campaign_sdk.schemas._rules import FieldRule, Text


class TwilioMediaContext(ContentBase):
    """``twilio/media``: media URLs with an optional body (WhatsApp approval needs it).

    MMS carries up to 10 media, WhatsApp one attachment: the channel checks say so.

    >>> TwilioMediaContext(media=["https://example.com/img/{{sku}}.jpg"]).media
    ['https://example.com/img/{{sku}}.jpg']
    """

    content_type: ClassVar[str] = "twilio/media"
    type_label: ClassVar[str] = "Media"
    body: str | None = None
    media: list[str]

    field_rules: ClassVar[Mapping[str, FieldRule]] = {
        "body": Text.of(facts.CONTENT_API["twilio/media"]["body"], variables=True),
        "media": MEDIA,
    }
