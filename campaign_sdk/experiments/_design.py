"""An experiment's design on a campaign: variants, weights, holdout, test phase; lead assignment."""

from __future__ import annotations

import datetime as dt
import math
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaign_sdk._exceptions import CampaignStateError, Issue, InvalidArgumentError, TemplateValidationError
from campaign_sdk.experiments._assign import GLOBAL_HOLDOUT, HOLDOUT, RESERVED, REST, arm_of, unit
from campaign_sdk.models import (
    ApprovalState,
    Campaign,
    CampaignLead,
    CampaignStatus,
    CampaignType,
    CampaignVariant,
    ConversationUser,
    GlobalHoldout,
    OutboundMessage,
    utcnow,
)
from campaign_sdk.schemas import ContentContext, lint_whatsapp, parse_content_context

MIN_VARIANTS, MAX_VARIANTS = 2, 8
TREATMENT = "treatment"  # the one arm of a holdout-only experiment (the campaign's own content)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\- ]{0,39}$")
_WEIGHT_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Design:
    """A campaign's experiment as stored: arm weights (among test leads), holdout, test phase."""

    seed: str
    weights: dict[str, float]
    holdout: float | None
    test_fraction: float | None
    winner: str | None
    planned_per_arm: int | None

    @property
    def variants(self) -> list[str]:
        return [name for name in self.weights if name != TREATMENT]


def design_of(campaign: Campaign) -> Design | None:
    """The campaign's experiment, or None when it has none."""
    if campaign.experiment_seed is None:
        return None
    weights = {v.name: v.weight for v in campaign.variants} or {TREATMENT: 1.0}
    return Design(campaign.experiment_seed, weights, campaign.holdout_fraction, campaign.test_fraction,
                  campaign.winner_variant, campaign.planned_per_arm)


def messages_sent(session: Session, campaign: Campaign) -> int:
    """How many messages the campaign's sends have written (intents included)."""
    return int(session.scalar(
        sa.select(sa.func.count()).select_from(OutboundMessage).where(OutboundMessage.campaign_id == campaign.id)
    ) or 0)


def set_experiment(
    session: Session, campaign: Campaign, variants: Mapping[str, ContentContext] | None = None, *,
    weights: Mapping[str, float] | None = None, holdout: float | None = None,
    test_fraction: float | None = None, seed: str | None = None, planned_per_arm: int | None = None,
) -> Design:
    """Validate and store an experiment (every problem at once), then assign the leads."""
    sent = messages_sent(session, campaign)
    if sent:
        raise CampaignStateError(
            f"campaign {campaign.name!r} has already sent {sent} message(s): changing its variants or "
            "holdout now would break the experiment (leads already sent would change arm). Start a new "
            "experiment on a new campaign: client.create_campaign(...) then campaign.set_experiment(...)"
        )
    if campaign.campaign_type is CampaignType.SERVICE:
        raise CampaignStateError(
            f"campaign {campaign.name!r} is a service campaign: its messages are triggered one by one "
            "(campaign.trigger) and are never held out or split. Run experiments on marketing campaigns"
        )
    if campaign.status not in (CampaignStatus.UNSUBMITTED, CampaignStatus.REJECTED):
        raise CampaignStateError(
            f"campaign {campaign.name!r} is {campaign.status}: its content was submitted to WhatsApp, so "
            "its variants cannot change. Create a new campaign for the new experiment"
        )
    variants = dict(variants or {})
    problems = _check_shape(variants, weights, holdout, test_fraction, planned_per_arm)
    if problems:
        raise InvalidArgumentError(
            f"the experiment for campaign {campaign.name!r} cannot be used as given ({len(problems)} problem(s); "
            "nothing was changed):\n" + "\n".join(f"  - {p}" for p in problems)
        )
    contents = _check_contents(variants)
    names = list(contents)
    if names:
        shares = dict(weights) if weights is not None else {n: 1 / len(names) for n in names}
        first = contents[names[0]]
        campaign.content_type = first.content_type  # the campaign's own content is the first variant's
        campaign.content = first.model_dump(mode="json", exclude_none=True)
        campaign.template_key = None
    campaign.variants.clear()
    session.flush()
    for position, name in enumerate(names):
        content = contents[name]
        campaign.variants.append(CampaignVariant(
            name=name, position=position, weight=float(shares[name]), content_type=content.content_type,
            content=content.model_dump(mode="json", exclude_none=True), approval_state=ApprovalState.UNSUBMITTED,
        ))
    campaign.experiment_seed = seed or f"{campaign.id}-{secrets.token_hex(8)}"
    campaign.holdout_fraction = holdout
    campaign.test_fraction = test_fraction
    campaign.winner_variant = None
    campaign.planned_per_arm = planned_per_arm
    session.execute(sa.update(CampaignLead).where(CampaignLead.campaign_id == campaign.id).values(variant=None))
    session.flush()
    assign_leads(session, campaign)
    design = design_of(campaign)
    assert design is not None
    return design


def _check_shape(
    variants: Mapping[str, Any], weights: Mapping[str, float] | None, holdout: float | None,
    test_fraction: float | None, planned_per_arm: int | None,
) -> list[str]:
    problems = []
    names = list(variants)
    if names and not MIN_VARIANTS <= len(names) <= MAX_VARIANTS:
        problems.append(f"an experiment has {MIN_VARIANTS}-{MAX_VARIANTS} variants, not {len(names)}; "
                        "for a holdout test of one content pass only holdout=")
    if not names and holdout is None:
        problems.append("give variants= (2-8 contents by name), a holdout= fraction, or both")
    for name in names:
        if not isinstance(name, str) or not _NAME.match(name):
            problems.append(f"variant name {name!r} must be 1-40 letters, digits, spaces, '_' or '-'")
        elif name.lower() in RESERVED:
            problems.append(f"variant name {name!r} is reserved (it names {', '.join(RESERVED)}); pick another")
    if weights is not None:
        if not names:
            problems.append("weights= needs variants=")
        elif set(weights) != set(names):
            problems.append(f"weights name {sorted(map(str, weights))} but the variants are {names}; "
                            "give one weight per variant")
        else:
            bad = {k: v for k, v in weights.items() if not _finite(v) or float(v) <= 0}
            if bad:
                problems.append(f"weights must be positive numbers; {bad} are not")
            elif abs(sum(float(v) for v in weights.values()) - 1) > _WEIGHT_TOLERANCE:
                total = sum(float(v) for v in weights.values())
                problems.append(f"weights sum to {total:g}, not 1: {dict(weights)}. Divide each by {total:g} "
                                "(or leave weights out for equal shares)")
    for label, value, hint in (
        ("holdout", holdout, "holdout=None for no control group, or a fraction such as 0.1"),
        ("test_fraction", test_fraction, "test_fraction=None to send every variant to all leads, or e.g. 0.2"),
    ):
        if value is not None and (not _finite(value) or not 0 < float(value) < 1):
            problems.append(f"{label}={value!r} must be a fraction strictly between 0 and 1 (use {hint})")
    if test_fraction is not None and len(names) < MIN_VARIANTS:
        problems.append("test_fraction= needs at least two variants to pick a winner from")
    if planned_per_arm is not None and (not isinstance(planned_per_arm, int) or planned_per_arm < 1):
        problems.append(f"planned_per_arm={planned_per_arm!r} must be a positive whole number")
    return problems


def _check_contents(variants: Mapping[str, Any]) -> dict[str, ContentContext]:
    """Each variant's content parsed and linted; every variant's issues in one error."""
    contents: dict[str, ContentContext] = {}
    issues: list[Issue] = []
    for name, content in variants.items():
        try:
            if isinstance(content, Mapping):
                parsed = parse_content_context(str(content.get("content_type")), content.get("content_context"))  # type: ignore[arg-type]
            else:
                parsed = parse_content_context(content.content_type, content)
        except TemplateValidationError as exc:
            issues.extend(Issue(f"variants[{name}].{i.field}", i.rule, i.message) for i in exc.issues)
            continue
        except AttributeError:
            issues.append(Issue(f"variants[{name}]", "not_content",
                                f"{type(content).__name__} is not a content model (e.g. cs.TwilioTextContext)"))
            continue
        issues.extend(Issue(f"variants[{name}].{i.field}", i.rule, i.message) for i in lint_whatsapp(parsed))
        contents[name] = parsed
    if issues:
        raise TemplateValidationError(issues)
    return contents


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def active_global_holdouts(session: Session, *, at: dt.datetime | None = None) -> list[GlobalHoldout]:
    """The global holdouts in force at ``at`` (default now)."""
    now = at or utcnow()
    return list(session.scalars(sa.select(GlobalHoldout).where(
        GlobalHoldout.starts_at <= now, sa.or_(GlobalHoldout.ends_at.is_(None), GlobalHoldout.ends_at > now)
    ).order_by(GlobalHoldout.id)))


def assign_leads(session: Session, campaign: Campaign) -> dict[str, int]:
    """Store the arm of every lead of ``campaign`` that has none yet; returns how many per arm.

    Marketing leads in an active global holdout become ``global_holdout`` (service campaigns are
    never held out); the others get their experiment arm, or stay unassigned without one."""
    design = design_of(campaign)
    holdouts = active_global_holdouts(session) if campaign.campaign_type is CampaignType.MARKETING else []
    if design is None and not holdouts:
        return {}
    leads, users = cast(sa.Table, CampaignLead.__table__), cast(sa.Table, ConversationUser.__table__)
    connection = session.connection()  # Core rows: a million leads without ORM overhead
    rows = connection.execute(
        sa.select(leads.c.id, users.c.phone_number)
        .join(users, users.c.id == leads.c.user_id)
        .where(leads.c.campaign_id == campaign.id, leads.c.variant.is_(None))
    ).all()
    arms: dict[str, list[int]] = {}
    for lead_id, phone in rows:
        arm = None
        if any(unit(g.seed, phone) < g.fraction for g in holdouts):
            arm = GLOBAL_HOLDOUT
        elif design is not None:
            arm = arm_of(unit(design.seed, phone), design.weights, holdout=design.holdout,
                         test_fraction=design.test_fraction)
        if arm is not None:
            arms.setdefault(arm, []).append(lead_id)
    now = utcnow()
    for arm, ids in arms.items():
        for start in range(0, len(ids), 900):
            connection.execute(
                sa.update(leads).where(leads.c.id.in_(ids[start:start + 900])).values(variant=arm, updated_at=now)
            )
    return {arm: len(ids) for arm, ids in arms.items()}


def set_global_holdout(
    session: Session, fraction: float, *, seed: str | None = None, start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> GlobalHoldout:
    """Keep a stable ``fraction`` of users out of every marketing campaign during [start, end)."""
    if not _finite(fraction) or not 0 < float(fraction) < 1:
        raise InvalidArgumentError(f"a global holdout fraction must be strictly between 0 and 1, not {fraction!r}")
    start = start or utcnow()
    if end is not None and end <= start:
        raise InvalidArgumentError(f"the global holdout's end ({end}) must be after its start ({start})")
    row = GlobalHoldout(seed=seed or f"global-{secrets.token_hex(8)}", fraction=float(fraction),
                        starts_at=start, ends_at=end)
    session.add(row)
    session.flush()
    return row


def plan_problems(session: Session, campaign: Campaign) -> list[str]:
    """Why the stored plan cannot be met: arms with fewer leads than it needs."""
    design = design_of(campaign)
    if design is None or design.planned_per_arm is None:
        return []
    compared = [a for a in arm_names(design) if a != REST]
    counts: dict[str | None, int] = dict(session.execute(
        sa.select(CampaignLead.variant, sa.func.count())
        .where(CampaignLead.campaign_id == campaign.id, CampaignLead.removed_at.is_(None),
               CampaignLead.variant.in_(compared))
        .group_by(CampaignLead.variant)
    ).tuples().all())
    short = {a: int(counts.get(a, 0)) for a in compared if counts.get(a, 0) < design.planned_per_arm}
    if not short:
        return []
    listed = ", ".join(f"{a}: {n}" for a, n in short.items())
    return [f"too few leads for the plan: it needs {design.planned_per_arm} per arm, but {listed}. Add leads "
            "(campaign.add_leads), or plan for a larger minimum_effect / fewer arms and set_experiment(plan=...) again"]


def arm_names(design: Design) -> Sequence[str]:
    """Every arm a lead of this design can be in."""
    names = list(design.weights)
    if design.holdout:
        names.append(HOLDOUT)
    if design.test_fraction is not None:
        names.append(REST)
    return names
