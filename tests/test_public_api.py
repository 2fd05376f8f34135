"""The public API is what __all__ says; pinned so removals are deliberate."""

from __future__ import annotations

import campaign_sdk as cs
from campaign_sdk import _exceptions

EXPECTED = {
    "ApprovalState", "Campaign", "CampaignClient", "CampaignError", "CampaignLeadSchema",
    "CampaignLeadUser", "CampaignNotFoundError", "CampaignSchema", "CampaignStateError",
    "CampaignStatus", "CampaignType", "CopyCodeAction", "DuplicateCampaignError", "GatewayError",
    "Issue", "LeadLoadReport", "LeadStatus", "LeadValidationError", "MessageStatus", "PhoneAction",
    "QuickReplyAction", "TemplateValidationError", "TwilioAction", "TwilioCallToActionContext",
    "TwilioCardContext", "TwilioMediaContext", "TwilioQuickReplyContext", "TwilioTextContext",
    "UnknownContentTypeError", "UrlAction", "VoiceCallAction", "compile_variables",
    "default_templates", "find_and_validate_variables", "get_default_template",
    "get_variable_supported_fields", "lint_whatsapp", "parse_content_context", "render_preview",
    "ExperimentPlan", "lift_chart", "plan_experiment",
}


def test_public_names_are_pinned() -> None:
    assert EXPECTED <= set(cs.__all__)
    for name in cs.__all__:
        assert getattr(cs, name) is not None


def test_every_error_is_a_campaign_error_and_its_builtin() -> None:
    assert issubclass(cs.TemplateValidationError, ValueError)
    assert issubclass(cs.LeadValidationError, ValueError)
    assert issubclass(cs.CampaignNotFoundError, LookupError)
    assert issubclass(cs.CampaignStateError, RuntimeError)
    errors = [v for v in vars(_exceptions).values() if isinstance(v, type) and issubclass(v, Exception)]
    assert all(issubclass(e, cs.CampaignError) for e in errors)


def test_public_callables_are_documented() -> None:
    for name in cs.__all__:
        obj = getattr(cs, name)
        if callable(obj):
            assert (obj.__doc__ or "").strip(), f"{name} has no docstring"


def test_all_is_sorted_and_gateways_are_public() -> None:
    assert cs.__all__ == sorted(cs.__all__)
    assert {"TwilioGateway", "SandboxGateway", "SendReport", "Preflight"} <= set(cs.__all__)
