"""``whatsapp/authentication``: https://www.twilio.com/docs/content/whatsappauthentication
(``#/components/schemas/whatsappAuthentication``, ``authenticationAction``).

WhatsApp presets the text ("<code> is your verification code."); the template only chooses the
security recommendation, the expiry footer (1-90 whole minutes) and the copy-code button. At send
time one variable, ``{{1}}``, carries the one-time code (the SDK names it ``otp``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import StrictInt

from campaign_sdk._exceptions import Issue
from campaign_sdk.facts import content as facts
from campaign_sdk.schemas._content import ContentBase
from campaign_sdk.schemas._rules import FieldRule, Range, RuleModel, Text


class AuthenticationAction(RuleModel):
    """The one-time-password copy button; ``copy_code_text`` is its label.

    >>> AuthenticationAction(copy_code_text="Copy code").to_twilio()
    {'type': 'COPY_CODE', 'copy_code_text': 'Copy code'}
    """

    type: Literal["COPY_CODE"] = "COPY_CODE"
    copy_code_text: str

    field_rules: ClassVar[Mapping[str, FieldRule]] = {
        "copy_code_text": Text.of(facts.OTP_BUTTON_TEXT, no_variables="the copy-code button text takes no variables"),
    }

    def to_twilio(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class WhatsAppAuthenticationContext(ContentBase):
    """``whatsapp/authentication``: a one-time-password template (category AUTHENTICATION).

    >>> otp = WhatsAppAuthenticationContext(code_expiration_minutes=10, actions=[{"copy_code_text": "Copy code"}])
    >>> otp.to_twilio()["code_expiration_minutes"], otp.add_security_recommendation
    (10, True)
    """

    content_type: ClassVar[str] = "whatsapp/authentication"
    type_label: ClassVar[str] = "WhatsApp authentication (OTP)"
    whatsapp_body: ClassVar[str | None] = None
    implicit_variables: ClassVar[Mapping[str, str]] = {"otp": "1"}
    value_limits: ClassVar[Mapping[str, facts.Limit]] = {"otp": facts.OTP_CODE}
    add_security_recommendation: bool = True  # the page: "This field defaults to TRUE"
    code_expiration_minutes: StrictInt | None = None
    actions: list[AuthenticationAction]

    field_rules: ClassVar[Mapping[str, FieldRule]] = {
        "code_expiration_minutes": Range(
            *facts.OTP_EXPIRY_MINUTES, unit=" whole minutes", url=facts.OTP_EXPIRY_SOURCE
        ),
    }

    @classmethod
    def _template_issues(cls, data: Mapping[str, Any]) -> list[Issue]:
        issues = super()._template_issues(data)
        actions = data.get("actions")
        if isinstance(actions, list) and len(actions) != 1:
            message = (
                f"an authentication template has exactly one copy-code button; this one has {len(actions)}. "
                + ("Add one." if not actions else "Keep one.")
            )
            issues.append(Issue("actions", "otp_button", message, limit=1, source=facts.WHATSAPP_SOURCE,
                                url=facts.AUTH_SOURCE))
        return issues
