"""Preflight: whether a campaign may send, and what a send would do to each lead.

``preflight()`` is a view of the campaign's delivery plan (``campaign.plan()``): the leads it
sends or defers, the ones it skips and why, and a few rendered messages, all computed set-wise by
the plan. The per-lead content checks (``missing_variables`` 21656, ``value_format``,
``message_too_long`` 63021) come from one renderer, ``delivery.LeadTemplate``, which the send
path (:class:`LeadCheck`, one lead at a time) and the plan (SQL over every lead) share.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from campaign_sdk import experiments, service
from campaign_sdk._exceptions import Issue
from campaign_sdk.delivery import DEFER as PLAN_DEFERS
from campaign_sdk.delivery import SKIP as PLAN_SKIPS
from campaign_sdk.delivery import DeliveryPlan
from campaign_sdk.delivery._render import LeadTemplate
from campaign_sdk.facts import content as facts
from campaign_sdk.gateways import Gateway
from campaign_sdk.models import Campaign, CampaignType
from campaign_sdk.schemas import ContentContext, compile_variables
from campaign_sdk.sending._report import Preflight, SendReport

SCAN_CHUNK = 5000
# Per-lead reasons found by filling the lead's values in (after the service's own reasons).
CONTENT_SKIPS = ("message_too_long", "value_format")
SKIP_REASONS = tuple(dict.fromkeys((*service.SKIP_REASONS, *CONTENT_SKIPS, *PLAN_SKIPS)))


class LeadCheck:
    """Why one lead must not be sent to: the service's reasons (opted out, missing variables ->
    21656, ...), then what its filled-in message would break: longer than the channel takes
    (WhatsApp 1,024 characters: error 63021) -> ``message_too_long``; a value with a line break, a
    tab or more than 4 consecutive spaces (Meta refuses them in values) -> ``value_format``.
    The rules are :class:`campaign_sdk.delivery._render.LeadTemplate`'s (the plan's, too).

    >>> from campaign_sdk.schemas import TwilioTextContext
    >>> check = LeadCheck(TwilioTextContext(body="Hi {{name}}, welcome to the shop!"))
    >>> check.content_reason({"name": "Ana"}), check.content_reason({"name": "A\\nB"})
    (None, 'value_format')
    """

    def __init__(self, content: ContentContext, *, channel: str = "whatsapp") -> None:
        self.template = LeadTemplate.of(content, channel=channel)
        self.required = list(compile_variables(content).mapping)
        self._limit = self.template.limit

    def reason(self, lead: service.LeadCandidate) -> str | None:
        return service.skip_reason(lead, self.required) or self.content_reason(lead.custom_variables or {})

    def issue(self, values: Mapping[str, Any]) -> Issue | None:
        """:meth:`content_reason` as an Issue that says what to change (for a single send)."""
        reason = self.content_reason(values)
        if reason == "value_format":
            message = ("a value holds a line break, a tab or more than 4 consecutive spaces; WhatsApp refuses "
                       "those in variable values. Put the value on one line")
            return Issue("variables", reason, message, source=facts.WHATSAPP_SOURCE, url=facts.WA_SOURCE_GUIDELINES)
        if reason == "message_too_long":
            message = (f"the message would be over {self._limit:,} characters once the values are filled in; "
                       "the channel refuses it (Twilio error 63021). Shorten the values")
            return Issue("variables", reason, message, limit=self._limit, source=facts.TWILIO)
        return None

    def content_reason(self, values: Mapping[str, Any]) -> str | None:
        return self.template.content_reason(values)


def blockers(row: Campaign, gateway: Gateway | None, *, campaign_type: CampaignType) -> list[str]:
    """Every reason a send (marketing) or trigger (service) of ``row`` is refused now."""
    problems = []
    if gateway is None:
        problems.append("the client has no gateway; pass gateway=TwilioGateway(...) or use the sandbox")
    if row.campaign_type is not campaign_type:
        how = "campaign.trigger(...)" if row.campaign_type is CampaignType.SERVICE else "campaign.send()"
        problems.append(f"this is a {row.campaign_type} campaign; it sends with {how}")
    if service.sends_without_approval(row):
        pass  # an in-session template of a service campaign: no approval, its Content resource exists
    elif not service.is_approved(row):
        problems.append(
            f"the template is {row.status} (WhatsApp: {row.approval_state}); only an approved template "
            "sends: submit_for_approval() then sync_approval() until it is approved"
        )
    elif row.content_sid is None:
        problems.append("the template has no Twilio content SID; submit it for approval through the gateway")
    if row.enabled is None:
        problems.append("the campaign is not enabled; call campaign.enable()")
    return problems


class ArmChecks:
    """Per-lead reasons of a send whose leads may be in experiment arms: the arm's own reasons
    (holdouts, and the service's: opted out, missing variables, ...), then :class:`LeadCheck` on
    the lead's values filled into its arm's content."""

    def __init__(self, arms: Mapping[str | None, Any], *, channel: str = "whatsapp") -> None:
        self.arms = arms
        self._checks = {name: LeadCheck(arm.content, channel=channel)
                        for name, arm in arms.items() if arm.content is not None}

    def reason(self, lead: service.LeadCandidate) -> str | None:
        skip = experiments.lead_skip(lead, self.arms)
        if skip is not None:
            return skip
        check = self._checks.get(lead.variant, self._checks.get(None))
        return check.content_reason(lead.custom_variables or {}) if check else None


def required_variables(row: Campaign) -> list[str]:
    """The variable names every lead needs (the compiled template's name -> number mapping)."""
    return list(compile_variables(service.content_of(row)).mapping)


def preflight(
    session: Session, row: Campaign, gateway: Gateway | None, *, plan: DeliveryPlan, rate: float | None,
    sample: int = 3,
) -> Preflight:
    """What ``send()`` would do now, as a view of the campaign's delivery ``plan`` (nothing is sent
    or written): the leads sent now; the deferred ones by reason, with the first and the last due
    moment (and how many of them the send hands to Twilio's scheduler, a request now each); the
    skipped and held-out leads with their reasons; the first ``sample`` messages the send
    delivers (now or later) as the preview. The duration at ``rate`` counts only the requests the send makes now."""
    action = plan["action"]
    now, later = action.eq("send").to_numpy(bool), action.eq("defer").to_numpy(bool)
    rows = np.flatnonzero(~(now | later))  # the held rows' columns converted, not every row's
    held = pd.DataFrame({"lead_id": plan["lead_id"].to_numpy()[rows],
                         "phone_number": plan["phone_number"].iloc[rows].to_numpy(),
                         "reason": plan["reason"].iloc[rows].astype(object).to_numpy()})
    counts = held["reason"].value_counts().to_dict()
    order = [*SKIP_REASONS, *sorted(set(counts) - set(SKIP_REASONS))]
    deferred, due = _waiting(plan, later)
    at_twilio = int((later & _at_twilio(plan)).sum())
    columns = ["lead_id", "phone_number", "message", *(["variant"] if row.experiment_seed else [])]
    preview = pd.DataFrame(plan[columns].iloc[np.flatnonzero(now | later)[:sample]]).reset_index(drop=True)
    to_send = int(now.sum())
    estimate = dt.timedelta(seconds=(to_send + at_twilio) / rate) if rate else None
    return Preflight(
        campaign=row.name, campaign_id=row.id, simulated=gateway is not None and gateway.simulated,
        campaign_type=str(row.campaign_type), status=str(row.status), approval_state=str(row.approval_state),
        enabled=row.enabled is not None, content_sid=row.content_sid, to_send=to_send,
        deferred=deferred,
        next_due=_moment(due.min()), last_due=_moment(due.max()), scheduled_at_twilio=at_twilio,
        skipped={reason: int(counts[reason]) for reason in order if counts.get(reason)},
        held_out=int(action.eq("holdout").sum()),
        skipped_leads=held, preview=preview, rate=rate, estimated_duration=estimate,
        problems=blockers(row, gateway, campaign_type=CampaignType.MARKETING) + experiments.arm_problems(row)
        + experiments.plan_problems(session, row),
        warnings=list(plan.attrs.get("warnings", [])),
    )


def dry_run(check: Preflight, plan: DeliveryPlan) -> SendReport:
    """``send(dry_run=True)``: the report the send would give now (nothing is sent or written), as
    :func:`preflight` ``check`` of ``plan`` has it, counted as :class:`SendReport` counts: a message
    the send hands to Twilio's scheduler is one of its requests (``to_send``), not deferred; ``deferred``
    and ``next_due`` are the leads the local worker would hold."""
    later = plan["action"].eq("defer").to_numpy(bool)
    deferred, due = _waiting(plan, later & ~_at_twilio(plan))
    to_send = check.to_send + check.scheduled_at_twilio
    return SendReport(
        campaign=check.campaign, campaign_id=check.campaign_id, simulated=check.simulated, dry_run=True,
        to_send=to_send, skipped=check.skipped, deferred=deferred, next_due=_moment(due.min()),
        remaining=to_send, rate=check.rate, stopped=None if check.ready else "; ".join(check.problems),
    ).seal()


def _at_twilio(plan: DeliveryPlan) -> np.ndarray:
    return plan["scheduler"].eq("twilio").fillna(False).to_numpy(bool)


def _waiting(plan: DeliveryPlan, rows: np.ndarray) -> tuple[dict[str, int], pd.Series]:
    """The deferred counts by reason (the plan's order) of the ``rows`` (a mask), and their due moments."""
    waiting = np.flatnonzero(rows)
    counts = plan["reason"].iloc[waiting].fillna("scheduled").value_counts().to_dict()
    order = [*PLAN_DEFERS, *sorted(set(counts) - set(PLAN_DEFERS))]
    return {r: int(counts[r]) for r in order if counts.get(r)}, plan["send_at"].iloc[waiting]


def _moment(value: Any) -> dt.datetime | None:
    """A plan's ``send_at`` value as an aware datetime (None for no moment)."""
    return None if pd.isna(value) else pd.Timestamp(value).to_pydatetime()
