"""Campaign lifecycle rules: create, edit, delete, approval, enable / disable."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaign_sdk._exceptions import (
    CampaignNotFoundError,
    CampaignStateError,
    DuplicateCampaignError,
    InvalidArgumentError,
    Issue,
    TemplateValidationError,
)
from campaign_sdk.facts import content as facts
from campaign_sdk.models import (
    ApprovalState,
    Campaign,
    CampaignStatus,
    CampaignType,
    OutboundMessage,
    utcnow,
)
from campaign_sdk.schemas import ContentContext, lint_whatsapp, parse_content_context
from campaign_sdk.service._approval import category_issues, check_category, check_language, clean_samples
from campaign_sdk.templates import get_default_template

_EDITABLE = (CampaignStatus.UNSUBMITTED, CampaignStatus.REJECTED)
APPROVAL_CATEGORIES = facts.APPROVAL_CATEGORIES


def get_campaign(session: Session, id_or_name: int | str) -> Campaign:
    """The campaign with this id (int) or name (str); raises CampaignNotFoundError."""
    if isinstance(id_or_name, int):
        campaign = session.get(Campaign, id_or_name)
    else:
        campaign = session.scalar(sa.select(Campaign).where(Campaign.name == id_or_name))
    if campaign is None:
        raise CampaignNotFoundError(
            f"no campaign {id_or_name!r}; list them with client.campaigns()"
        )
    return campaign


def content_of(campaign: Campaign) -> ContentContext:
    """The campaign's validated content model."""
    return parse_content_context(campaign.content_type, campaign.content)


def create_campaign(
    session: Session,
    name: str,
    *,
    campaign_type: CampaignType | str = CampaignType.MARKETING,
    content: ContentContext | None = None,
    content_type: str | None = None,
    content_context: Mapping[str, Any] | str | None = None,
    template: str | None = None,
    language: str | None = None,
) -> Campaign:
    """Create a campaign from a content model, a raw content context, or a default template key.

    ``language`` is the template's WhatsApp locale (``en``, ``en_US``, ``pt_BR``, ...; default ``en``).
    A marketing campaign starts conversations, so in-session-only types (list-picker, location)
    are refused for it; a service campaign may use them.
    """
    name = _clean_name(name)
    language = check_language(language)
    content, template = _resolve_content(content, content_type, content_context, template)
    _check_starts_conversation(content, CampaignType(campaign_type))
    if session.scalar(sa.select(Campaign.id).where(Campaign.name == name)) is not None:
        raise DuplicateCampaignError(
            f"a campaign named {name!r} already exists; pick another name or open it with "
            f"client.campaign({name!r})"
        )
    campaign = Campaign(
        name=name,
        campaign_type=CampaignType(campaign_type),
        status=CampaignStatus.UNSUBMITTED,
        approval_state=ApprovalState.UNSUBMITTED,
        content_type=content.content_type,
        content=content.model_dump(mode="json", exclude_none=True),
        template_key=template,
        language=language,
    )
    session.add(campaign)
    session.flush()
    return campaign


def update_campaign(
    session: Session,
    campaign: Campaign,
    *,
    name: str | None = None,
    campaign_type: CampaignType | str | None = None,
    content: ContentContext | None = None,
    content_type: str | None = None,
    content_context: Mapping[str, Any] | str | None = None,
    language: str | None = None,
    approval_samples: Mapping[str, Any] | None = None,
) -> Campaign:
    """Rename a campaign, or change its type, content, language or approval samples (example
    values by variable name, checked when submitted) while the template is still editable.

    A submitted (pending) or approved template cannot be edited, as with WhatsApp; a rejected one
    can, and editing it makes it unsubmitted again.
    """
    if name is not None:
        name = _clean_name(name)
        clash = session.scalar(
            sa.select(Campaign.id).where(Campaign.name == name, Campaign.id != campaign.id)
        )
        if clash is not None:
            raise DuplicateCampaignError(f"a campaign named {name!r} already exists")
        campaign.name = name
    if campaign_type is not None or content is not None or content_context is not None or language is not None:
        _require_editable(campaign)
    if language is not None:
        campaign.language = check_language(language)
    if approval_samples is not None:
        _require_editable(campaign)
        campaign.approval_samples = clean_samples(approval_samples)
    if campaign_type is not None:
        campaign.campaign_type = CampaignType(campaign_type)
        _check_starts_conversation(content_of(campaign), campaign.campaign_type)
    if content is not None or content_context is not None:
        new, _ = _resolve_content(content, content_type, content_context, None)
        _check_starts_conversation(new, campaign.campaign_type)
        campaign.content_type = new.content_type
        campaign.content = new.model_dump(mode="json", exclude_none=True)
        campaign.status = CampaignStatus.UNSUBMITTED
        campaign.approval_state = ApprovalState.UNSUBMITTED
        campaign.rejection_reason = None
        campaign.content_sid = None
    session.flush()
    return campaign


def delete_campaign(session: Session, campaign: Campaign, *, force: bool = False) -> None:
    """Delete a campaign and its leads. A campaign that has sent messages needs ``force=True``
    (its messages, and so its metrics, go with it)."""
    sent = session.scalar(
        sa.select(sa.func.count()).where(OutboundMessage.campaign_id == campaign.id)
    )
    if sent and not force:
        raise CampaignStateError(
            f"campaign {campaign.name!r} has {sent} message(s); deleting it deletes their history "
            "and metrics. Disable it instead, or pass force=True"
        )
    session.delete(campaign)
    session.flush()


def submit_for_approval(
    session: Session,
    campaign: Campaign,
    *,
    category: str = "MARKETING",
    samples: Mapping[str, str] | None = None,
    content_sid: str | None = None,
    approval_name: str | None = None,
) -> Campaign:
    """Record that the template was submitted for WhatsApp approval (status pending).

    Refuses, with every reason at once (TemplateValidationError), a template the WhatsApp lint
    finds errors in, a variable without a sample (Twilio refuses an approval request without
    one), an in-session-only type, or a category that does not fit the content (AUTHENTICATION is
    for whatsapp/authentication only, and that type is AUTHENTICATION only). Warnings do not
    block. The gateway (Twilio or sandbox) does the remote part; this records the outcome.
    """
    _require_editable(campaign)
    category = check_category(category)
    content = content_of(campaign)
    given = clean_samples(samples)
    issues = [i for i in lint_whatsapp(content, samples=given) if i.is_error]
    issues += [i for i in category_issues(content, category) if i.is_error]
    if issues:
        raise TemplateValidationError(issues, content_type=campaign.content_type)
    campaign.status = CampaignStatus.PENDING
    campaign.approval_state = ApprovalState.RECEIVED
    campaign.approval_category = category
    campaign.approval_name = approval_name or default_approval_name(campaign)
    campaign.approval_samples = given
    campaign.rejection_reason = None
    campaign.submitted_at = utcnow()
    if content_sid is not None:
        campaign.content_sid = content_sid
    session.flush()
    return campaign


def apply_approval_result(
    session: Session, campaign: Campaign, state: ApprovalState | str, *, reason: str | None = None
) -> Campaign:
    """Apply an approval status from WhatsApp (any of Twilio's seven) to the campaign.

    Rejected, paused or disabled templates stop an enabled campaign (``enabled`` becomes None).
    """
    state = ApprovalState(str(state).lower())
    campaign.approval_state = state
    campaign.status = CampaignStatus.from_twilio(state)
    campaign.rejection_reason = reason if state is ApprovalState.REJECTED else None
    if state not in (ApprovalState.APPROVED, ApprovalState.PENDING, ApprovalState.RECEIVED):
        campaign.enabled = None
    session.flush()
    return campaign


def check_session_content(campaign: Campaign) -> None:
    """Refuse unless ``campaign`` is a service campaign: only a service campaign sends a template
    WhatsApp has not approved (free-form, inside the person's 24-hour window)."""
    if campaign.campaign_type is not CampaignType.SERVICE:
        raise CampaignStateError(
            f"campaign {campaign.name!r} is a {campaign.campaign_type} campaign with {campaign.content_type}: only a "
            "service campaign sends without approval (free-form, inside the person's 24-hour window); "
            "submit this one with submit_for_approval()"
        )


def is_approved(campaign: Campaign) -> bool:
    """The campaign's template is approved and WhatsApp lets it send (not paused or disabled)."""
    return campaign.status is CampaignStatus.APPROVED and campaign.approval_state.can_send


def sends_without_approval(campaign: Campaign) -> bool:
    """A service campaign whose template WhatsApp has not approved (or never approves: list-picker,
    location) but whose Content resource exists: it sends free-form, only inside the person's
    24-hour customer-service window. Twilio: WhatsApp templates need Meta's approval to be sent
    outside that window (https://www.twilio.com/docs/whatsapp/key-concepts#message-templates;
    error 63016 outside it, https://www.twilio.com/docs/api/errors/63016)."""
    return campaign.campaign_type is CampaignType.SERVICE and campaign.content_sid is not None and not is_approved(campaign)


def enable_campaign(session: Session, campaign: Campaign, *, at: dt.datetime | None = None) -> Campaign:
    """Enable an approved campaign (``enabled`` = now). Marketing: sending may start; service:
    automatic sends are on. Idempotent: an enabled campaign keeps its original timestamp.
    A service campaign needs no approval, only its Content resource (``register_content``): it then
    sends free-form, inside each person's 24-hour window (:func:`sends_without_approval`)."""
    if not is_approved(campaign) and not sends_without_approval(campaign):
        raise CampaignStateError(
            f"campaign {campaign.name!r} is {campaign.status} (WhatsApp: {campaign.approval_state}); "
            "only an approved template can be enabled. Submit it for approval and sync first"
        )
    if campaign.enabled is None:
        campaign.enabled = at or utcnow()
    session.flush()
    return campaign


def disable_campaign(session: Session, campaign: Campaign) -> Campaign:
    """Pause the campaign (``enabled`` = None): marketing sends stop, service triggers are refused."""
    campaign.enabled = None
    session.flush()
    return campaign


def default_approval_name(campaign: Campaign) -> str:
    """WhatsApp template names: lowercase letters, digits and underscores, unique per account."""
    slug = re.sub(r"[^a-z0-9]+", "_", campaign.name.lower()).strip("_") or "campaign"
    return f"{slug[:400]}_{campaign.id}"


def _check_starts_conversation(content: ContentContext, campaign_type: CampaignType) -> None:
    if campaign_type is CampaignType.MARKETING and type(content).in_session_only():
        message = (
            f"{content.content_type} can't start a conversation (Twilio: in-session only, never approved), "
            "so a marketing campaign can't send it. Use a service campaign (campaign_type='service') "
            "that replies inside the 24-hour session, or another content type"
        )
        issue = Issue("content_type", "in_session_only", message, source=facts.TWILIO, url=facts.CHANNELS_SOURCE)
        raise TemplateValidationError([issue], content_type=content.content_type)


def _require_editable(campaign: Campaign) -> None:
    if campaign.status not in _EDITABLE:
        raise CampaignStateError(
            f"campaign {campaign.name!r} is {campaign.status}: a submitted or approved template "
            "cannot be edited (WhatsApp rule). Create a new campaign with the changed content"
        )


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidArgumentError("a campaign needs a non-empty name")
    if len(name) > 200:
        raise InvalidArgumentError(f"campaign names are at most 200 characters; this one has {len(name)}")
    return name


def _resolve_content(
    content: ContentContext | None,
    content_type: str | None,
    content_context: Mapping[str, Any] | str | None,
    template: str | None,
) -> tuple[ContentContext, str | None]:
    given = sum(x is not None for x in (content, content_context, template))
    if given != 1:
        raise InvalidArgumentError(
            "give exactly one of content= (a content model), content_type= + content_context= "
            "(raw JSON), or template= (a default template key)"
        )
    if template is not None:
        return get_default_template(template).context, template
    if content_context is not None:
        if content_type is None:
            raise InvalidArgumentError("content_context needs content_type, e.g. 'twilio/text'")
        return parse_content_context(content_type, content_context), None
    assert content is not None
    return parse_content_context(content.content_type, content), None
