from __future__ import annotations

import campaign_sdk.schemas as schemas

EXPECTED = [
    "CONTENT_TYPES",
    "CompiledTemplate",
    "ContentContext",
    "CopyCodeAction",
    "PhoneAction",
    "QuickReplyAction",
    "TwilioAction",
    "TwilioCallToActionContext",
    "TwilioCardContext",
    "TwilioMediaContext",
    "TwilioQuickReplyContext",
    "TwilioTextContext",
    "UrlAction",
    "VoiceCallAction",
    "check_whatsapp",
    "compile_variables",
    "find_and_validate_variables",
    "find_variables",
    "get_variable_supported_fields",
    "lint_whatsapp",
    "parse_content_context",
    "preview_text",
    "render_preview",
    "validate_context",
]


def test_template_names_are_exported() -> None:
    # The payload schemas (CampaignLeadUser, ...) are exported from the same package; only the
    # template names are pinned here.
    assert set(EXPECTED) <= set(schemas.__all__)


def test_all_is_sorted_and_importable() -> None:
    assert schemas.__all__ == sorted(schemas.__all__)
    for name in schemas.__all__:
        assert getattr(schemas, name) is not None
