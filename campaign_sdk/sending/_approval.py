"""WhatsApp template approval through a gateway: create the Content resource, submit, sync."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaign_sdk import service
from campaign_sdk._exceptions import CampaignStateError
from campaign_sdk.gateways import ApprovalResult, ContentRequest, Gateway
from campaign_sdk.models import Campaign, CampaignLead, utcnow
from campaign_sdk.schemas import compile_variables
from campaign_sdk.templates import get_default_template


def pick_samples(session: Session, row: Campaign, explicit: Mapping[str, str] | None) -> dict[str, str]:
    """Sample values for approval: given explicitly, else the default template's, else the first
    lead that has every variable (empty if there is none)."""
    if explicit:
        return {str(k): str(v) for k, v in explicit.items()}
    if row.template_key:
        return dict(get_default_template(row.template_key).samples)
    names = list(compile_variables(service.content_of(row)).mapping)
    if not names:
        return {}
    leads = session.scalars(
        sa.select(CampaignLead.custom_variables)
        .where(CampaignLead.campaign_id == row.id, CampaignLead.removed_at.is_(None))
        .order_by(CampaignLead.id)
        .limit(1000)
    )
    for values in leads:
        if all(str((values or {}).get(name) or "").strip() for name in names):
            return {name: str(values[name]) for name in names}
    return {}


def content_request(row: Campaign, samples: Mapping[str, str], *, name: str) -> ContentRequest:
    """The Content resource for ``row``: named variables compiled to numbered ones, samples
    keyed by number."""
    compiled = compile_variables(service.content_of(row))
    numbered = {
        number: str(samples.get(variable, samples.get(number)))
        for variable, number in compiled.mapping.items()
        if samples.get(variable, samples.get(number)) is not None
    }
    return ContentRequest(
        friendly_name=name, content_type=row.content_type,
        types={row.content_type: compiled.context.to_twilio()}, variables=numbered,
    )


def submit(
    session: Session, row: Campaign, gateway: Gateway | None, *, category: str, samples: Mapping[str, str],
) -> Campaign:
    """Lint and record the submission (``service.submit_for_approval``), then create the Content
    resource and submit it through ``gateway``. Runs in the caller's transaction: if Twilio
    refuses, nothing is recorded."""
    name = service.default_approval_name(row)
    if row.approval_name is not None:  # submitted before: WhatsApp does not reuse a rejected name for 30 days
        name = f"{name}_{utcnow():%Y%m%d%H%M%S}"
    service.submit_for_approval(session, row, category=category, samples=samples, approval_name=name)
    if gateway is None:
        return row
    content_sid = gateway.create_content(content_request(row, samples, name=name))
    result = gateway.submit_approval(content_sid, name=name, category=row.approval_category or category)
    row.content_sid = content_sid
    return service.apply_approval_result(session, row, result.state, reason=result.reason)


def fetch(row: Campaign, gateway: Gateway | None) -> ApprovalResult:
    """Twilio's approval status for ``row`` (no database work)."""
    if gateway is None:
        raise CampaignStateError("the client has no gateway to ask about approvals")
    if row.content_sid is None:
        raise CampaignStateError(
            f"campaign {row.name!r} was not submitted through a gateway (no content SID); "
            "call campaign.submit_for_approval() first"
        )
    return gateway.fetch_approval(row.content_sid)
