"""Campaign and lead routes: thin wrappers over CampaignClient / Campaign."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from pydantic import ValidationError

from campaign_sdk import service
from campaign_sdk._enums import CampaignStatus, CampaignType, LeadStatus
from campaign_sdk.schemas import CampaignLeadSchema, CampaignLeadUser, CampaignSchema
from campaign_sdk.server._auth import require_api_key
from campaign_sdk.server._deps import get_client, known_query_only, open_campaign
from campaign_sdk.server._errors import ERROR_RESPONSES
from campaign_sdk.server._models import (
    CampaignCreate,
    CampaignUpdate,
    InvalidTimezone,
    LeadItem,
    LeadLoadOut,
    MissingVariables,
    Page,
    RejectedRow,
    RemovedOut,
    RemoveLeads,
)

router = APIRouter(dependencies=[Depends(require_api_key), Depends(known_query_only)], responses=ERROR_RESPONSES)

CampaignId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The campaign's id")]
Limit = Annotated[int, Query(ge=1, le=500, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1, description="Items to skip")]
MAX_LEADS_PER_REQUEST = 100_000


@router.get("/campaigns", tags=["campaigns"])
def list_campaigns(
    request: Request,
    status: CampaignStatus | None = None,
    campaign_type: CampaignType | None = None,
    enabled: bool | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[CampaignSchema]:
    """Campaigns matching every given filter, oldest first, one page at a time."""
    client = get_client(request)
    with client.transaction() as session:
        rows, total = service.list_campaigns(
            session, status=status, campaign_type=campaign_type, enabled=enabled, limit=limit, offset=offset
        )
    items = client.schemas([row.id for row in rows]) if rows else []
    return Page[CampaignSchema](items=items, total=total, limit=limit, offset=offset)


@router.post("/campaigns", status_code=201, tags=["campaigns"])
def create_campaign(request: Request, body: CampaignCreate) -> CampaignSchema:
    """Create a campaign from a default template or a content context."""
    campaign = get_client(request).create_campaign(
        body.name, campaign_type=body.campaign_type, content_type=body.content_type,
        content_context=body.content_context, template=body.template, language=body.language,
    )
    return campaign.to_schema()


@router.get("/campaigns/{campaign_id}", tags=["campaigns"])
def get_campaign(request: Request, campaign_id: CampaignId, include_leads: bool = False) -> CampaignSchema:
    """The campaign with its aggregates (and its leads with ``include_leads=true``)."""
    schema = open_campaign(request, campaign_id).to_schema(include_leads=include_leads)
    if schema.leads is not None:
        schema.leads = [_utc(lead) for lead in schema.leads]
    return schema


@router.patch("/campaigns/{campaign_id}", tags=["campaigns"])
def update_campaign(request: Request, campaign_id: CampaignId, body: CampaignUpdate) -> CampaignSchema:
    """Rename; change type or content while the template is unsubmitted or rejected."""
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    if "content_type" in changes and "content_context" not in changes:
        raise ValueError("content_type alone changes nothing; send content_context with it")
    return open_campaign(request, campaign_id).update(**changes).to_schema()


@router.delete("/campaigns/{campaign_id}", status_code=204, tags=["campaigns"])
def delete_campaign(request: Request, campaign_id: CampaignId, force: bool = False) -> Response:
    """Delete the campaign and its leads (``force=true`` if it has sent messages)."""
    open_campaign(request, campaign_id).delete(force=force)
    return Response(status_code=204)


@router.post("/campaigns/{campaign_id}/add-leads", tags=["leads"])
def add_leads(
    request: Request,
    campaign_id: CampaignId,
    items: Annotated[list[LeadItem], Body(max_length=MAX_LEADS_PER_REQUEST)],
    strict: bool = False,
) -> LeadLoadOut:
    """Add ``CampaignLeadUser`` items. Valid items are loaded (atomically, idempotently);
    every item that breaks a lead rule is reported in ``rejected`` with its index and reason.
    ``strict=true`` also rejects leads missing a variable the template needs."""
    campaign = open_campaign(request, campaign_id)
    rejected, leads, index_of = _validate_leads(items)
    if not leads:
        out = LeadLoadOut(campaign=campaign.name, total_rows=0, inserted=0, updated=0, unchanged=0,
                          duplicates=0, skipped_opted_out=0, rejected=[], missing_variables=[])
    else:
        out = _report_out(campaign.add_leads(leads, strict=strict), index_of)
    out.total_rows = len(items)
    out.rejected = sorted(rejected + out.rejected, key=lambda r: r.row)
    return out


@router.post("/campaigns/{campaign_id}/remove-leads", tags=["leads"])
def remove_leads(request: Request, campaign_id: CampaignId, body: RemoveLeads) -> RemovedOut:
    """Soft-remove leads (they keep their history); answers how many were removed now."""
    campaign = open_campaign(request, campaign_id)
    removed = campaign.remove_leads(
        body.phone_numbers, user_ids=body.conversation_user_ids, default_region=body.default_region
    )
    return RemovedOut(removed=removed)


@router.get("/campaigns/{campaign_id}/leads", tags=["leads"])
def list_leads(
    request: Request,
    campaign_id: CampaignId,
    status: LeadStatus | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[CampaignLeadSchema]:
    """The campaign's leads (not removed) with where each stands, one page at a time: ``status``
    (``LeadStatus``: pending, skipped, deferred, scheduled, queued, sent, delivered, read, replied,
    not_received, opted_out), ``reason`` (why a deferred lead waits or a skipped one was dropped),
    ``due_at`` and ``skipped_at``. ``status=`` keeps one status."""
    leads = [_utc(lead) for lead in open_campaign(request, campaign_id).to_schema(include_leads=True).leads or []]
    if status is not None:
        leads = [lead for lead in leads if lead.status == status]
    return Page[CampaignLeadSchema](
        items=leads[offset : offset + limit], total=len(leads), limit=limit, offset=offset
    )


def _utc(lead: CampaignLeadSchema) -> CampaignLeadSchema:
    # Lead times come from the analytics frame as naive UTC; answer them as RFC 3339 (with +00:00).
    times = {
        name: value.replace(tzinfo=dt.UTC)
        for name in ("created_at", "removed_at", "due_at", "skipped_at")
        if (value := getattr(lead, name)) is not None and value.tzinfo is None
    }
    return lead.model_copy(update=times) if times else lead


def _validate_leads(items: list[LeadItem]) -> tuple[list[RejectedRow], list[CampaignLeadUser], list[int]]:
    rejected: list[RejectedRow] = []
    leads: list[CampaignLeadUser] = []
    index_of: list[int] = []
    for index, item in enumerate(items):
        try:
            leads.append(item.to_lead())
            index_of.append(index)
        except ValidationError as exc:
            rejected.append(_rejection(index, item, exc.errors()[0]))
    return rejected, leads, index_of


def _rejection(index: int, item: LeadItem, error: Any) -> RejectedRow:
    loc = [str(part) for part in error.get("loc", ())]
    message = str(error.get("ctx", {}).get("error") or error.get("msg", "invalid lead"))
    if loc:
        column = loc[0]
        value = getattr(item, column, None)
        reason = message.rsplit("[", 1)[-1].rstrip("]") if message.endswith("]") else str(error["type"])
    else:
        column, value, reason = "phone_number", item.phone_number, "one_identity"
    return RejectedRow(row=index, column=column, value=value, reason=reason, message=message)


def _report_out(report: Any, index_of: list[int]) -> LeadLoadOut:
    def original(row: Any) -> int:
        row = int(row)
        return index_of[row] if 0 <= row < len(index_of) else row

    rejected = [
        RejectedRow(**{**r, "row": original(r["row"]), "value": _plain(r["value"])})
        for r in _records(report.rejected)
    ]
    gone = {r.row for r in rejected}  # a rejected row is not stored, so it needs no variables
    missing = [MissingVariables(**{**m, "row": original(m["row"])}) for m in _records(report.missing_variables)]
    missing = [m for m in missing if m.row not in gone]
    zones = [InvalidTimezone(**{**z, "row": original(z["row"])}) for z in _records(report.invalid_timezones)]
    return LeadLoadOut(
        campaign=report.campaign, total_rows=report.total_rows, inserted=report.inserted,
        updated=report.updated, unchanged=report.unchanged, duplicates=report.duplicates,
        skipped_opted_out=report.skipped_opted_out, rejected=rejected, missing_variables=missing,
        invalid_timezones=zones,
    )


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
