"""Pure (no I/O) schemas for Twilio content templates.

Content contexts and actions (pydantic models), ``{{variable}}`` helpers, compilation to
WhatsApp's numbered variables, previews, and the WhatsApp approval lint.
"""

from __future__ import annotations

from campaign_sdk.schemas._actions import (
    CopyCodeAction,
    PhoneAction,
    QuickReplyAction,
    TwilioAction,
    UrlAction,
    VoiceCallAction,
    VoiceCallRequestAction,
)
from campaign_sdk.schemas._compile import CompiledTemplate, compile_variables, preview_text, render_preview
from campaign_sdk.schemas._content import CONTENT_TYPES, ContentContext, get_variable_supported_fields
from campaign_sdk.schemas.types import (
    AuthenticationAction,
    CarouselCard,
    CatalogItem,
    ListItem,
    TwilioCallToActionContext,
    TwilioCardContext,
    TwilioCarouselContext,
    TwilioCatalogContext,
    TwilioListPickerContext,
    TwilioLocationContext,
    TwilioMediaContext,
    TwilioQuickReplyContext,
    TwilioTextContext,
    WhatsAppAuthenticationContext,
    WhatsAppCardContext,
)
from campaign_sdk.schemas._lint import check_whatsapp, lint_channel, lint_whatsapp
from campaign_sdk.schemas._limits import ACTION_FIELD_LIMITS, ACTION_TYPES, FIELD_LIMITS
from campaign_sdk.schemas._payloads import CampaignLeadSchema, CampaignLeadUser, CampaignSchema
from campaign_sdk.schemas._validate import (
    find_and_validate_variables,
    parse_content_context,
    validate_context,
)
from campaign_sdk.schemas._variables import find_variables

__all__ = [
    "ACTION_FIELD_LIMITS",
    "ACTION_TYPES",
    "AuthenticationAction",
    "CONTENT_TYPES",
    "CampaignLeadSchema",
    "CampaignLeadUser",
    "CampaignSchema",
    "CarouselCard",
    "CatalogItem",
    "CompiledTemplate",
    "ContentContext",
    "CopyCodeAction",
    "FIELD_LIMITS",
    "ListItem",
    "PhoneAction",
    "QuickReplyAction",
    "TwilioAction",
    "TwilioCallToActionContext",
    "TwilioCardContext",
    "TwilioCarouselContext",
    "TwilioCatalogContext",
    "TwilioListPickerContext",
    "TwilioLocationContext",
    "TwilioMediaContext",
    "TwilioQuickReplyContext",
    "TwilioTextContext",
    "UrlAction",
    "VoiceCallAction",
    "VoiceCallRequestAction",
    "WhatsAppAuthenticationContext",
    "WhatsAppCardContext",
    "check_whatsapp",
    "compile_variables",
    "find_and_validate_variables",
    "find_variables",
    "get_variable_supported_fields",
    "lint_channel",
    "lint_whatsapp",
    "parse_content_context",
    "preview_text",
    "render_preview",
    "validate_context",
]
