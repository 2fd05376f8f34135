"""Preflight: whether a campaign may send, and what a send would do to each lead."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pandas as pd
from sqlalchemy.orm import Session

from campaign_sdk import experiments, service
from campaign_sdk.gateways import Gateway
from campaign_sdk.models import Campaign, CampaignType
from campaign_sdk.schemas import compile_variables, preview_text
from campaign_sdk.sending._report import Preflight

SCAN_CHUNK = 5000


def blockers(row: Campaign, gateway: Gateway | None, *, campaign_type: CampaignType) -> list[str]:
    """Every reason a send (marketing) or trigger (service) of ``row`` is refused now."""
    problems = []
    if gateway is None:
        problems.append("the client has no gateway; pass gateway=TwilioGateway(...) or use the sandbox")
    if row.campaign_type is not campaign_type:
        how = "campaign.trigger(...)" if row.campaign_type is CampaignType.SERVICE else "campaign.send()"
        problems.append(f"this is a {row.campaign_type} campaign; it sends with {how}")
    if not (row.status == "approved" and row.approval_state.can_send):
        problems.append(
            f"the template is {row.status} (WhatsApp: {row.approval_state}); only an approved template "
            "sends: submit_for_approval() then sync_approval() until it is approved"
        )
    elif row.content_sid is None:
        problems.append("the template has no Twilio content SID; submit it for approval through the gateway")
    if row.enabled is None:
        problems.append("the campaign is not enabled; call campaign.enable()")
    return problems


def required_variables(row: Campaign) -> list[str]:
    """The variable names every lead needs (the compiled template's name -> number mapping)."""
    return list(compile_variables(service.content_of(row)).mapping)


def preflight(
    session: Session, row: Campaign, gateway: Gateway | None, *, rate: float | None, sample: int = 3,
) -> Preflight:
    """What ``send()`` would do, reading the store only (nothing is sent or written)."""
    arms = experiments.send_arms(row)  # each lead's variant decides its content; holdouts are skipped
    counts: Counter[str] = Counter()
    skipped: list[dict[str, object]] = []
    preview: list[dict[str, object]] = []
    to_send, after = 0, 0
    while batch := service.lead_candidates(session, row.id, after_id=after, limit=SCAN_CHUNK):
        after = batch[-1].lead_id
        for lead in batch:
            reason = experiments.lead_skip(lead, arms)
            if reason is not None:
                counts[reason] += 1
                skipped.append({"lead_id": lead.lead_id, "phone_number": lead.phone_number, "reason": reason})
                continue
            to_send += 1
            if len(preview) < sample:
                content = arms.get(lead.variant, arms[None]).content
                text = preview_text(content, lead.custom_variables, missing="mark") if content else ""
                preview.append({"lead_id": lead.lead_id, "phone_number": lead.phone_number, "message": text,
                                **({"variant": lead.variant} if row.experiment_seed else {})})
    estimate = dt.timedelta(seconds=to_send / rate) if rate else None
    return Preflight(
        campaign=row.name, campaign_id=row.id, simulated=bool(getattr(gateway, "simulated", False)),
        campaign_type=str(row.campaign_type), status=str(row.status), approval_state=str(row.approval_state),
        enabled=row.enabled is not None, content_sid=row.content_sid, to_send=to_send,
        skipped={reason: counts[reason] for reason in service.SKIP_REASONS if counts[reason]},
        skipped_leads=pd.DataFrame(skipped, columns=["lead_id", "phone_number", "reason"]),
        preview=pd.DataFrame(preview, columns=["lead_id", "phone_number", "message",
                                               *(["variant"] if row.experiment_seed else [])]),
        rate=rate, estimated_duration=estimate,
        problems=blockers(row, gateway, campaign_type=CampaignType.MARKETING) + experiments.arm_problems(row)
        + experiments.plan_problems(session, row),
    )
