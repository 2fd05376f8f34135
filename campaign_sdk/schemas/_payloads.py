"""The seed's payload schemas: leads in, campaigns out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from campaign_sdk._enums import ApprovalState, CampaignStatus, CampaignType, LeadStatus
from campaign_sdk.phones import PhoneNumberError, normalize_phone


RESERVED_VARIABLES = frozenset({"phone_number", "conversation_user_id"})


def clean_custom_variables(values: Mapping[str, Any] | None) -> dict[str, str]:
    """Custom variable values as strings; None / NaN / empty strings are "missing" and dropped."""
    if values is not None and not isinstance(values, Mapping):
        raise ValueError(f"custom_variables must be a mapping of names to values, not {type(values).__name__}")
    out: dict[str, str] = {}
    for key, value in (values or {}).items():
        if value is None or (isinstance(value, float) and value != value):
            continue
        if isinstance(value, (Mapping, list, tuple, set)):
            raise ValueError(
                f"custom variable {key!r} must be a single value (text or number), "
                f"not a {type(value).__name__}"
            )
        text = str(value).strip()
        if text:
            out[str(key)] = text
    return out


class CampaignLeadUser(BaseModel):
    """A lead to add to a campaign: a phone number or an existing conversation user id.

    >>> CampaignLeadUser(phone_number="+14155552671", custom_variables={"lead_name": "Ana"})
    CampaignLeadUser(phone_number='+14155552671', conversation_user_id=None, custom_variables={'lead_name': 'Ana'})
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    phone_number: str | None = None
    conversation_user_id: int | None = Field(default=None, gt=0)
    custom_variables: dict[str, str] = Field(default_factory=dict)

    @field_validator("phone_number")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalize_phone(value)
        except PhoneNumberError as exc:
            raise ValueError(f"{exc} [{exc.code}]") from None

    @field_validator("custom_variables", mode="before")
    @classmethod
    def _strings(cls, value: Any) -> dict[str, str]:
        variables = clean_custom_variables(value)
        reserved = sorted(RESERVED_VARIABLES & variables.keys())
        if reserved:
            raise ValueError(
                f"{', '.join(reserved)} name the lead itself and cannot be custom variables; "
                "rename them (e.g. 'contact_phone')"
            )
        return variables

    @model_validator(mode="after")
    def _one_identity(self) -> CampaignLeadUser:
        if (self.phone_number is None) == (self.conversation_user_id is None):
            raise ValueError("give exactly one of phone_number or conversation_user_id")
        return self


class CampaignLeadSchema(BaseModel):
    """A lead as stored, with where its message stands."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    campaign_id: int
    conversation_user_id: int
    phone_number: str
    custom_variables: dict[str, str] = Field(default_factory=dict)
    status: LeadStatus = LeadStatus.PENDING
    reason: str | None = Field(default=None, description=(
        "why a deferred lead waits (quiet_hours, scheduled, messaging_tier) or a skipped one was dropped "
        "(expired, frequency_cap, ...); null otherwise"))
    due_at: dt.datetime | None = Field(default=None, description=(
        "when a deferred message is due (the local worker sends it) or the SendAt Twilio's scheduler holds "
        "a scheduled one for; null otherwise"))
    skipped_at: dt.datetime | None = Field(default=None, description="when a skipped lead was dropped")
    error_code: int | None = None
    message_sid: str | None = None
    created_at: dt.datetime | None = None
    removed_at: dt.datetime | None = None


class CampaignSchema(BaseModel):
    """The seed's campaign DTO, with aggregates computed by the analytics layer."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    status: CampaignStatus
    approval_state: ApprovalState = ApprovalState.UNSUBMITTED
    rejection_reason: str | None = None
    enabled: dt.datetime | None = None
    campaign_type: CampaignType
    content_type: str
    template_key: str | None = None
    language: str = Field(default="en", description="WhatsApp template locale sent with the Content resource")
    body: str | None = Field(default=None, description="Preview of the template text")
    total_leads: int = 0
    messages_sent: int = 0
    messages_replied: int = 0
    reply_rate: float | None = None
    conversion_rate: float | None = None
    custom_variable_keys: list[str] = Field(default_factory=list)
    context_variables: list[str] = Field(default_factory=list)
    leads: list[CampaignLeadSchema] | None = None
    created_at: dt.datetime | None = None

    @classmethod
    def from_model(
        cls,
        campaign: Any,
        metrics: Mapping[str, Any] | None = None,
        *,
        custom_variable_keys: list[str] | None = None,
        context_variables: list[str] | None = None,
        body: str | None = None,
        leads: list[CampaignLeadSchema] | None = None,
    ) -> CampaignSchema:
        """Build from a ``models.Campaign`` row and its precomputed metrics row.

        Pure: it issues no query. Use ``campaign_sdk.service.campaign_schemas`` to get schemas for
        many campaigns with their metrics computed in one pass.
        """
        metrics = metrics or {}
        return cls(
            id=campaign.id,
            name=campaign.name,
            status=campaign.status,
            approval_state=campaign.approval_state,
            rejection_reason=campaign.rejection_reason,
            enabled=campaign.enabled,
            campaign_type=campaign.campaign_type,
            content_type=campaign.content_type,
            template_key=campaign.template_key,
            language=getattr(campaign, "language", None) or "en",
            body=body,
            total_leads=int(metrics.get("total_leads", 0) or 0),
            messages_sent=int(metrics.get("messages_sent", 0) or 0),
            messages_replied=int(metrics.get("messages_replied", 0) or 0),
            reply_rate=_rate(metrics.get("reply_rate")),
            conversion_rate=_rate(metrics.get("conversion_rate")),
            custom_variable_keys=custom_variable_keys or [],
            context_variables=context_variables or [],
            leads=leads,
            created_at=campaign.created_at,
        )


def _rate(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return float(value)
