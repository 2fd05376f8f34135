"""Each variant's content through WhatsApp approval, and what a send gives each arm.

The campaign's own content is its first variant's, so the campaign's approval (sending/_approval)
covers variant 1; the other variants get their own Content resource and approval here, and the
campaign counts as approved only once every variant is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from campaign_sdk import service
from campaign_sdk._exceptions import InvalidArgumentError
from campaign_sdk.experiments._assign import GLOBAL_HOLDOUT, HOLDOUT, REST
from campaign_sdk.experiments._design import TREATMENT, design_of
from campaign_sdk.gateways import ApprovalResult, ContentRequest, Gateway
from campaign_sdk.models import ApprovalState, Campaign, CampaignVariant
from campaign_sdk.schemas import ContentContext, check_whatsapp, compile_variables, parse_content_context

# how far along WhatsApp's review a state is: the campaign is as far as its least advanced variant
_STOPPED = (ApprovalState.REJECTED, ApprovalState.DISABLED, ApprovalState.PAUSED)
_PROGRESS = (ApprovalState.UNSUBMITTED, ApprovalState.RECEIVED, ApprovalState.PENDING, ApprovalState.APPROVED)


def content_of(variant: CampaignVariant) -> ContentContext:
    return parse_content_context(variant.content_type, variant.content)


def extra_variants(row: Campaign) -> list[CampaignVariant]:
    """The variants that need their own approval (all but the first, which is the campaign's)."""
    return list(row.variants[1:])


def samples_for(session: Session, row: Campaign, content: ContentContext, explicit: Mapping[str, str] | None) -> dict[str, str]:
    """Approval samples for a variant: the author's (given, else stored with the campaign), never a
    lead's data (Meta reviews samples; issue 11). A missing one is reported by the lint."""
    chosen = {str(k): str(v) for k, v in (row.approval_samples or {}).items()}
    chosen.update({str(k): str(v) for k, v in (explicit or {}).items()})
    return chosen


def check_variants(session: Session, row: Campaign, explicit: Mapping[str, str] | None) -> dict[int, dict[str, str]]:
    """Lint every extra variant (before anything reaches the gateway); their samples by id."""
    chosen = {}
    for variant in extra_variants(row):
        samples = samples_for(session, row, content_of(variant), explicit)
        check_whatsapp(content_of(variant), samples=samples)
        chosen[variant.id] = samples
    return chosen


def submit_variants(
    session: Session, row: Campaign, gateway: Gateway | None, samples: Mapping[int, Mapping[str, str]]
) -> None:
    """Create and submit each extra variant's Content resource (after the campaign's own)."""
    if not row.variants:
        return
    _mirror_first(row)
    for variant in extra_variants(row):
        slug = re.sub(r"[^a-z0-9]+", "_", variant.name.lower()).strip("_") or str(variant.position)
        variant.approval_name = f"{row.approval_name}_{slug}"[:512]
        if gateway is None:
            variant.approval_state = ApprovalState.RECEIVED
            continue
        content = content_of(variant)
        compiled = compile_variables(content)
        values = samples.get(variant.id, {})
        numbered = {num: str(values.get(name, values.get(num))) for name, num in compiled.mapping.items()
                    if values.get(name, values.get(num)) is not None}
        sid = gateway.create_content(ContentRequest(
            friendly_name=variant.approval_name, content_type=variant.content_type,
            types={variant.content_type: compiled.context.to_twilio()}, variables=numbered, language=row.language,
        ))
        result = gateway.submit_approval(sid, name=variant.approval_name, category=row.approval_category or "MARKETING")
        variant.content_sid = sid
        _record(variant, result)
    combine(session, row)


def sync_variants(session: Session, row: Campaign, gateway: Gateway | None) -> None:
    """Fetch each extra variant's approval and fold every variant into the campaign's state."""
    if not row.variants or gateway is None:
        return
    _mirror_first(row)
    for variant in extra_variants(row):
        if variant.content_sid is not None:
            _record(variant, gateway.fetch_approval(variant.content_sid))
    combine(session, row)


def combine(session: Session, row: Campaign) -> None:
    """The campaign's approval from its variants': a stopped variant (rejected, disabled, paused)
    stops it (its reason names the variant); else it is as far along as its least advanced
    variant, so it is approved only when every variant is."""
    states = [(v.name, v.approval_state, v.rejection_reason) for v in row.variants]
    stopped = [s for s in states if s[1] in _STOPPED]
    if stopped:
        name, state, reason = min(stopped, key=lambda s: _STOPPED.index(s[1]))
        service.apply_approval_result(session, row, state, reason=f"variant {name!r}: {reason or state}")
        return
    least = min((s[1] for s in states), key=lambda s: _PROGRESS.index(s) if s in _PROGRESS else 0)
    service.apply_approval_result(session, row, least)


def set_variant_approval(
    session: Session, row: Campaign, state: ApprovalState | str, *, variant: str | None, reason: str | None = None
) -> None:
    """Apply an approval outcome reported by WhatsApp to one variant's template (or to the
    campaign's one template when it has no variants), then fold the variants into the
    campaign's state (:func:`combine`)."""
    try:
        state = ApprovalState(str(state).lower())
    except ValueError:
        raise InvalidArgumentError(
            f"approval state {state!r} is not one of {', '.join(s.value for s in ApprovalState)}"
        ) from None
    names = [v.name for v in row.variants]
    if not names:
        if variant is not None and variant != TREATMENT:
            raise InvalidArgumentError(
                f"campaign {row.name!r} has no variants (it has one template): leave variant= out, not {variant!r}"
            )
        service.apply_approval_result(session, row, state, reason=reason)
        return
    if variant not in names:
        given = "no variant=" if variant is None else f"variant={variant!r} is not one of them"
        raise InvalidArgumentError(
            f"campaign {row.name!r} has {len(names)} variants, each its own WhatsApp template "
            f"({', '.join(names)}); {given}. Say which template WhatsApp decided on, e.g. "
            f"campaign.set_approval_status({state.value!r}, variant={names[0]!r})"
        )
    target = next(v for v in row.variants if v.name == variant)
    _record(target, ApprovalResult(state, reason))
    combine(session, row)


def _mirror_first(row: Campaign) -> None:
    first = row.variants[0]
    first.content_sid, first.approval_name = row.content_sid, row.approval_name
    first.approval_state, first.rejection_reason = row.approval_state, row.rejection_reason


def _record(variant: CampaignVariant, result: ApprovalResult) -> None:
    variant.approval_state = result.state
    variant.rejection_reason = result.reason if result.state is ApprovalState.REJECTED else None


@dataclass(frozen=True)
class Arm:
    """What a send does for a lead of one arm: its content (SID and variable mapping), or why
    it is skipped (``skip``)."""

    content_sid: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    content: ContentContext | None = None
    skip: str | None = None


def send_arms(row: Campaign) -> dict[str | None, Arm]:
    """Arm name (None: no experiment) -> what a send does for its leads."""
    own = service.content_of(row)
    main = Arm(row.content_sid, dict(compile_variables(own).mapping), own)
    arms: dict[str | None, Arm] = {None: main, TREATMENT: main, HOLDOUT: Arm(skip="holdout"),
                                   GLOBAL_HOLDOUT: Arm(skip="global_holdout"), REST: Arm(skip="awaiting_winner")}
    for position, variant in enumerate(row.variants):
        content = content_of(variant)
        sid = row.content_sid if position == 0 else variant.content_sid
        arms[variant.name] = Arm(sid, dict(compile_variables(content).mapping), content)
    design = design_of(row)
    if design is not None and design.winner is not None:
        arms[REST] = arms[design.winner]
    return arms


def arm_problems(row: Campaign) -> list[str]:
    """Why the variants cannot send yet (a variant without an approved Content resource)."""
    missing = [v.name for v in extra_variants(row) if v.content_sid is None or not v.approval_state.can_send]
    if missing:
        return [f"variant(s) {', '.join(missing)} have no approved WhatsApp template yet: "
                "submit_for_approval() then sync_approval() until every variant is approved"]
    return []


def lead_skip(lead: service.LeadCandidate, arms: Mapping[str | None, Arm]) -> str | None:
    """Why a send skips ``lead`` given its arm (holdouts are never sent), or None."""
    arm = arms.get(lead.variant, arms[None])
    if lead.removed:
        return "removed"
    if arm.skip is not None:
        return arm.skip
    return service.skip_reason(lead, list(arm.mapping))
