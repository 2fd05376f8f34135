"""``plan_campaign``: the entry point ``Campaign.plan()`` calls (policy precedence, prices, spec)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa

from campaign_sdk.delivery._frame import DeliveryPlan
from campaign_sdk.delivery._limits import hold
from campaign_sdk.delivery._plan import BASE_TABLES, MIRROR_TABLES, build_plan
from campaign_sdk.delivery._policy import DeliveryPolicy
from campaign_sdk.delivery._prices import PriceInput, price_table
from campaign_sdk.delivery._render import LeadTemplate
from campaign_sdk.delivery._schedule import schedule, twilio_can_schedule, utc
from campaign_sdk.delivery._spec import PlanSpec
from campaign_sdk.delivery._warnings import decisions_warnings, plan_warnings
from campaign_sdk._exceptions import DeliveryPolicyError
from campaign_sdk.gateways import Gateway
from campaign_sdk.gateways._base import messaging_tier as check_tier
from campaign_sdk.gateways._pricing import gateway_prices


def policy_for(row: Any, *, given: DeliveryPolicy | None, client_policy: DeliveryPolicy | None) -> DeliveryPolicy:
    """``given`` > the campaign's stored policy > the client's > the default."""
    return policy_choice(row, given=given, client_policy=client_policy)[0]


def policy_choice(row: Any, *, given: DeliveryPolicy | None,
                  client_policy: DeliveryPolicy | None) -> tuple[DeliveryPolicy, str]:
    """:func:`policy_for`'s policy and whose it is, as the plan's details name it."""
    if given is not None:
        return given, "the policy passed to plan()"
    if row.delivery_policy:
        return DeliveryPolicy.model_validate(row.delivery_policy), "the campaign's delivery policy"
    if client_policy is not None:
        return client_policy, "the client's delivery policy"
    return DeliveryPolicy(), "the default delivery policy"


def plan_arms(row: Any, channel: str) -> list[tuple[tuple[str | None, ...], LeadTemplate | str]]:
    """Each arm's template (or why it is never sent), arms with the same content together: the
    campaign's own content for leads in no experiment (and the control arm), each variant's own
    content for its leads, the winner's for the rest once there is one."""
    from campaign_sdk.experiments import send_arms

    grouped: dict[LeadTemplate | str, list[str | None]] = {}
    for name, arm in send_arms(row).items():
        what: LeadTemplate | str = (LeadTemplate.of(arm.content, channel=channel) if arm.content is not None
                                    else arm.skip or "awaiting_winner")
        grouped.setdefault(what, []).append(name)
    return [(tuple(names), what) for what, names in grouped.items()]


def plan_campaign(
    engine: sa.Engine, row: Any, gateway: Gateway, *, arms: Sequence[tuple[tuple[str | None, ...], LeadTemplate | str]],
    policy: DeliveryPolicy, at: dt.datetime | str | None = None, local_time: str | None = None,
    prices: PriceInput | None = None, messaging_tier: int | None = None, now: dt.datetime | None = None,
    problems: list[str] | None = None, decisions_only: bool = False, policy_source: str = "the delivery policy",
) -> DeliveryPlan:
    """The delivery plan of the campaign ``row`` (see ``Campaign.plan``); ``decisions_only``:
    only the columns the send engine reads (``lead_id, action, reason, send_at, scheduler``,
    the same values), without rendering, zones or prices. ``policy_source``: whose ``policy`` it
    is (:func:`policy_choice`), as the plan's details name it."""
    from campaign_sdk.analytics import mirror_for

    moment = utc(now if now is not None else gateway.now())  # the sandbox simulates time: plan on its clock

    expires_at = utc(row.expires_at) if row.expires_at is not None else None
    when = schedule(at=at, local_time=local_time, now=moment, expires_at=expires_at)
    channel = gateway.channel
    category = str(row.campaign_type)
    table = price_table(prices) if prices is not None else None

    def lookup(countries: list[str]) -> tuple[pd.DataFrame, str]:
        if table is not None:
            return table, "the prices= table"
        return gateway_prices(gateway, countries, channel)

    if messaging_tier is not None:  # checked as the gateways' setting is: 0, -5 or True is refused, None is no limit
        try:
            check_tier(messaging_tier)
        except ValueError as exc:
            raise DeliveryPolicyError(f"plan({exc})") from None
    tier = messaging_tier or policy.messaging_tier or gateway.messaging_tier
    approved = row.approval_state.can_send if row.approval_state is not None else False
    spec = PlanSpec(
        campaign_id=row.id, category=category,
        price_category=(row.approval_category or category).lower(), channel=channel,
        arms=arms, policy=policy, schedule=when,
        now=moment, expires_at=expires_at, messaging_tier=tier,
        freeform=channel == "whatsapp" and category == "service" and not approved,
        twilio_scheduling=twilio_can_schedule(gateway), prices=lookup, policy_source=policy_source,
    )
    mirror = mirror_for(engine)
    with mirror.reading(MIRROR_TABLES) as con:
        hold(con, engine, spec)  # the worker's deferred sends the caps count (dropped by build_plan)
        plan = build_plan(con, spec, decisions_only=decisions_only, versions=mirror.versions(BASE_TABLES),
                          changed=mirror.changed, saved_at=(mirror.cache_path, mirror.identity))
        if decisions_only:  # no country column: the zone cache's, on the mirror
            plan.attrs["warnings"] = decisions_warnings(con, plan, channel=channel,
                                                        template_category=spec.price_category)
    plan.attrs["problems"] = list(problems or [])
    if not decisions_only:
        plan.attrs["warnings"] = plan_warnings(plan, channel=channel, template_category=spec.price_category)
    return plan
