"""One module per content type: its model, its limits (read from ``campaign_sdk.facts.content``)
and its Content API rules. Adding a content type = adding a module here (its class registers
itself in ``CONTENT_TYPES``) plus, for the Template Studio, one editor in ``campaign_sdk.widgets``.
"""

from __future__ import annotations

# Imported in the order the types are offered (it is the order of CONTENT_TYPES).
# isort: off
from campaign_sdk.schemas.types.text import TwilioTextContext
from campaign_sdk.schemas.types.media import TwilioMediaContext
from campaign_sdk.schemas.types.card import TwilioCardContext
from campaign_sdk.schemas.types.call_to_action import TwilioCallToActionContext
from campaign_sdk.schemas.types.quick_reply import TwilioQuickReplyContext
from campaign_sdk.schemas.types.carousel import CarouselCard, TwilioCarouselContext
from campaign_sdk.schemas.types.whatsapp_card import WhatsAppCardContext
from campaign_sdk.schemas.types.whatsapp_authentication import AuthenticationAction, WhatsAppAuthenticationContext
from campaign_sdk.schemas.types.list_picker import ListItem, TwilioListPickerContext
from campaign_sdk.schemas.types.location import TwilioLocationContext
from campaign_sdk.schemas.types.catalog import CatalogItem, TwilioCatalogContext
# isort: on

__all__ = [
    "AuthenticationAction",
    "CarouselCard",
    "CatalogItem",
    "ListItem",
    "TwilioCallToActionContext",
    "TwilioCardContext",
    "TwilioCarouselContext",
    "TwilioCatalogContext",
    "TwilioListPickerContext",
    "TwilioLocationContext",
    "TwilioMediaContext",
    "TwilioQuickReplyContext",
    "TwilioTextContext",
    "WhatsAppAuthenticationContext",
    "WhatsAppCardContext",
]
