"""``twilio/location``: https://www.twilio.com/docs/content/twilio-location
(``#/components/schemas/twilioLocation``). In-session only: it can't start a conversation and
can't be submitted for WhatsApp approval."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import StrictFloat, StrictInt

from campaign_sdk.facts import content as facts
from campaign_sdk.schemas._content import ContentBase
from campaign_sdk.schemas._rules import FieldRule, Range, Text

_URL = facts.CONTENT_API["twilio/location"]["label"].url


class TwilioLocationContext(ContentBase):
    """``twilio/location``: a pin (``latitude`` -90..90, ``longitude`` -180..180) with an
    optional ``label`` and ``address``.

    >>> TwilioLocationContext(latitude=37.62, longitude=-122.38, label="Time to board @ SFO").label
    'Time to board @ SFO'
    """

    content_type: ClassVar[str] = "twilio/location"
    type_label: ClassVar[str] = "Location (in-session)"
    whatsapp_body: ClassVar[str | None] = None
    latitude: StrictFloat | StrictInt
    longitude: StrictFloat | StrictInt
    label: str | None = None
    id: str | None = None
    address: str | None = None

    field_rules: ClassVar[Mapping[str, FieldRule]] = {
        "latitude": Range(*facts.LATITUDE, unit=" degrees", url=_URL),
        "longitude": Range(*facts.LONGITUDE, unit=" degrees", url=_URL),
        "label": Text.of(facts.CONTENT_API["twilio/location"]["label"], variables=True),
        "address": Text.of(facts.CONTENT_API["twilio/location"]["address"], variables=True),
    }
