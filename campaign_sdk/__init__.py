"""campaign_sdk: WhatsApp/SMS campaigns through Twilio's Content API, analysable in Jupyter.

>>> import campaign_sdk as cs
>>> client = cs.CampaignClient("sqlite:///:memory:")
>>> content = cs.TwilioTextContext(body="Hi {{lead_name}}, your order {{order_id}} is confirmed!")
>>> campaign = client.create_campaign("Orders", content=content)
>>> campaign.variables
['lead_name', 'order_id']
"""

from __future__ import annotations

from campaign_sdk._campaign import Campaign
from campaign_sdk._enums import (
    ApprovalState,
    CampaignStatus,
    CampaignType,
    LeadStatus,
    MessageStatus,
)
from campaign_sdk._exceptions import (
    AnalyticsError,
    CampaignError,
    CampaignNotFoundError,
    CampaignStateError,
    DeliveryPolicyError,
    DuplicateCampaignError,
    GatewayError,
    InvalidArgumentError,
    Issue,
    LeadValidationError,
    TemplateValidationError,
    UnknownContentTypeError,
    UnknownStatusWarning,
)
from campaign_sdk.client import CampaignClient
from campaign_sdk.delivery import DeliveryPlan, DeliveryPolicy, FrequencyCap, SendWindow
from campaign_sdk.gateways import SandboxGateway, TwilioGateway
from campaign_sdk.leads import LeadLoadReport
from campaign_sdk.schemas import (
    AuthenticationAction,
    CampaignLeadSchema,
    CampaignLeadUser,
    CampaignSchema,
    CarouselCard,
    CatalogItem,
    CopyCodeAction,
    ListItem,
    PhoneAction,
    QuickReplyAction,
    TwilioAction,
    TwilioCallToActionContext,
    TwilioCardContext,
    TwilioCarouselContext,
    TwilioCatalogContext,
    TwilioListPickerContext,
    TwilioLocationContext,
    TwilioMediaContext,
    TwilioQuickReplyContext,
    TwilioTextContext,
    UrlAction,
    VoiceCallAction,
    VoiceCallRequestAction,
    WhatsAppAuthenticationContext,
    WhatsAppCardContext,
    check_whatsapp,
    compile_variables,
    find_and_validate_variables,
    get_variable_supported_fields,
    lint_channel,
    lint_whatsapp,
    parse_content_context,
    render_preview,
)
from campaign_sdk.experiments import ExperimentPlan, lift_chart, plan_experiment
from campaign_sdk.sending import Preflight, SendReport, SyncReport
from campaign_sdk.templates import default_templates, get_default_template

__version__ = "0.1.0"

__all__ = [
    "AnalyticsError",
    "ApprovalState",
    "AuthenticationAction",
    "Campaign",
    "CampaignClient",
    "CampaignError",
    "CampaignLeadSchema",
    "CampaignLeadUser",
    "CampaignNotFoundError",
    "CampaignSchema",
    "CampaignStateError",
    "CampaignStatus",
    "CampaignType",
    "CarouselCard",
    "CatalogItem",
    "CopyCodeAction",
    "DeliveryPlan",
    "DeliveryPolicy",
    "DeliveryPolicyError",
    "DuplicateCampaignError",
    "ExperimentPlan",
    "FrequencyCap",
    "GatewayError",
    "InvalidArgumentError",
    "Issue",
    "LeadLoadReport",
    "LeadStatus",
    "LeadValidationError",
    "ListItem",
    "MessageStatus",
    "PhoneAction",
    "Preflight",
    "QuickReplyAction",
    "SandboxGateway",
    "SendReport",
    "SendWindow",
    "SyncReport",
    "TemplateValidationError",
    "TwilioAction",
    "TwilioCallToActionContext",
    "TwilioCardContext",
    "TwilioCarouselContext",
    "TwilioCatalogContext",
    "TwilioGateway",
    "TwilioListPickerContext",
    "TwilioLocationContext",
    "TwilioMediaContext",
    "TwilioQuickReplyContext",
    "TwilioTextContext",
    "UnknownContentTypeError",
    "UnknownStatusWarning",
    "UrlAction",
    "VoiceCallAction",
    "VoiceCallRequestAction",
    "WhatsAppAuthenticationContext",
    "WhatsAppCardContext",
    "check_whatsapp",
    "compile_variables",
    "default_templates",
    "find_and_validate_variables",
    "get_default_template",
    "get_variable_supported_fields",
    "lift_chart",
    "lint_channel",
    "lint_whatsapp",
    "parse_content_context",
    "plan_experiment",
    "render_preview",
]
