"""WhatsApp template approval through a gateway: create the Content resource, submit, sync."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from campaign_sdk import service
from campaign_sdk._exceptions import CampaignStateError
from campaign_sdk.gateways import ApprovalResult, ContentRequest, Gateway
from campaign_sdk.models import Campaign, utcnow
from campaign_sdk.schemas import compile_variables
from campaign_sdk.templates import get_default_template


def pick_samples(session: Session, row: Campaign, explicit: Mapping[str, str] | None) -> dict[str, str]:
    """Sample values for approval, declared by the author: ``explicit`` (merged over) the ones
    stored with the campaign, else the default template's. Never a lead's data: Meta reviews
    samples, so customer data must not be one; a variable left without a sample is refused by
    :func:`campaign_sdk.service.submit_for_approval` with the list of what is missing."""
    chosen: dict[str, str] = {}
    if row.template_key:
        chosen.update(get_default_template(row.template_key).samples)
    chosen.update({str(k): str(v) for k, v in (row.approval_samples or {}).items()})
    chosen.update({str(k): str(v) for k, v in (explicit or {}).items()})
    return chosen


def content_request(row: Campaign, samples: Mapping[str, str], *, name: str) -> ContentRequest:
    """The Content resource for ``row``: named variables compiled to numbered ones, samples
    keyed by number."""
    content = service.content_of(row)
    compiled = compile_variables(content)
    implicit = set(type(content).implicit_variables)  # e.g. an OTP: filled by Twilio's sender, no sample
    numbered = {
        number: str(samples.get(variable, samples.get(number)))
        for variable, number in compiled.mapping.items()
        if variable not in implicit and samples.get(variable, samples.get(number)) is not None
    }
    return ContentRequest(
        friendly_name=name, content_type=row.content_type,
        types={row.content_type: compiled.context.to_twilio()}, variables=numbered, language=row.language,
    )


def submit(
    session: Session, row: Campaign, gateway: Gateway | None, *, category: str, samples: Mapping[str, str],
) -> Campaign:
    """Lint and record the submission (``service.submit_for_approval``), then create the Content
    resource (with the campaign's ``language`` and the samples) and submit it through ``gateway``.
    Runs in the caller's transaction: if Twilio refuses, nothing is recorded and the campaign's
    state is unchanged; the GatewayError says why."""
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


def register(session: Session, row: Campaign, gateway: Gateway | None) -> Campaign:
    """Create the Content resource of a service campaign's template with no approval request: it
    sends free-form, only inside a 24-hour session (``service.sends_without_approval``). The
    campaign's status stays unsubmitted."""
    service.check_session_content(row)
    if gateway is None:
        raise CampaignStateError("the client has no gateway to create the Content resource with")
    name = service.default_approval_name(row)
    row.content_sid = gateway.create_content(content_request(row, {}, name=name))
    session.flush()
    return row


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
