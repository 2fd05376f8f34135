"""The public API is exactly what __all__ says, pinned so every addition and removal is deliberate
(the model: httpx's tests/test_exported_members.py)."""

from __future__ import annotations

import types

import campaign_sdk as cs
from campaign_sdk import _exceptions

EXPORTED = [
    "AnalyticsError", "ApprovalState", "Campaign", "CampaignClient", "CampaignError",
    "CampaignLeadSchema", "CampaignLeadUser", "CampaignNotFoundError", "CampaignSchema",
    "CampaignStateError", "CampaignStatus", "CampaignType", "CopyCodeAction", "DeliveryPlan",
    "DeliveryPolicy", "DeliveryPolicyError", "DuplicateCampaignError", "ExperimentPlan",
    "FrequencyCap", "GatewayError", "InvalidArgumentError", "Issue", "LeadLoadReport", "LeadStatus",
    "LeadValidationError", "MessageStatus", "PhoneAction", "Preflight", "QuickReplyAction",
    "SandboxGateway", "SendReport", "SendWindow", "SyncReport", "TemplateValidationError",
    "TwilioAction", "TwilioCallToActionContext", "TwilioCardContext", "TwilioGateway",
    "TwilioMediaContext", "TwilioQuickReplyContext", "TwilioTextContext", "UnknownContentTypeError",
    "UnknownStatusWarning", "UrlAction", "VoiceCallAction", "compile_variables",
    "default_templates", "find_and_validate_variables", "get_default_template",
    "get_variable_supported_fields", "lift_chart", "lint_whatsapp", "parse_content_context",
    "plan_experiment", "render_preview",
    # issue 11: the content types WhatsApp marketers use, VOICE_CALL_REQUEST, the channel check
    "AuthenticationAction", "CarouselCard", "CatalogItem", "ListItem", "TwilioCarouselContext",
    "TwilioCatalogContext", "TwilioListPickerContext", "TwilioLocationContext", "VoiceCallRequestAction",
    "WhatsAppAuthenticationContext", "WhatsAppCardContext", "check_whatsapp", "lint_channel",
]


def test_public_names_are_pinned_exactly() -> None:
    assert sorted(cs.__all__) == sorted(EXPORTED)
    for name in cs.__all__:
        assert getattr(cs, name) is not None


def test_every_public_member_is_exported() -> None:
    """Nothing public leaks from the package namespace without being in __all__ (subpackages and
    ``from __future__ import annotations`` aside)."""
    members = {
        name for name, value in vars(cs).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "annotations"
    }
    assert sorted(members) == sorted(cs.__all__)


def test_every_error_is_a_campaign_error_and_its_builtin() -> None:
    assert issubclass(cs.TemplateValidationError, ValueError)
    assert issubclass(cs.LeadValidationError, ValueError)
    assert issubclass(cs.CampaignNotFoundError, LookupError)
    assert issubclass(cs.CampaignStateError, RuntimeError)
    errors = [
        v for v in vars(_exceptions).values()
        if isinstance(v, type) and issubclass(v, Exception) and not issubclass(v, Warning)
    ]
    assert all(issubclass(e, cs.CampaignError) for e in errors)


def test_public_callables_are_documented() -> None:
    for name in cs.__all__:
        obj = getattr(cs, name)
        if callable(obj):
            assert (obj.__doc__ or "").strip(), f"{name} has no docstring"


def test_all_is_sorted_and_gateways_are_public() -> None:
    assert cs.__all__ == sorted(cs.__all__)
    assert {"TwilioGateway", "SandboxGateway", "SendReport", "Preflight"} <= set(cs.__all__)
