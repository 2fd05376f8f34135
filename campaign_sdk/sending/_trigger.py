"""``campaign.trigger()``: one transactional message of an enabled service campaign."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from campaign_sdk import service
from campaign_sdk._exceptions import CampaignStateError, GatewayError, LeadValidationError, TemplateValidationError
from campaign_sdk.phones import PhoneNumberError, normalize_phone
from campaign_sdk.gateways import Gateway, SentMessage
from campaign_sdk.delivery import REASONS, DeliveryPolicy, policy_for, utc
from campaign_sdk.facts.delivery import SERVICE_WINDOW
from campaign_sdk.models import (
    Campaign,
    CampaignLead,
    CampaignType,
    ConversationUser,
    InboundMessage,
    OutboundMessage,
)
from campaign_sdk.schemas import compile_variables
from campaign_sdk.schemas._payloads import clean_custom_variables
from campaign_sdk.sending import _trigger_rules
from campaign_sdk.sending._books import Outcome, apply_outcomes
from campaign_sdk.sending._delivery import EXPIRED, Delivery, Job
from campaign_sdk.sending._limiter import RateLimiter
from campaign_sdk.sending._planned import clock_of
from campaign_sdk.sending._policy import RetryPolicy
from campaign_sdk.sending._preflight import LeadCheck, blockers


def trigger(
    sessions: sessionmaker[Session], gateway: Gateway | None, campaign_id: int, lead_or_phone: int | str,
    variables: Mapping[str, Any] | None = None, *, key: str | None = None, retry: RetryPolicy | None = None,
    client_policy: DeliveryPolicy | None = None,
) -> SentMessage:
    """Send the campaign's template to one lead (id) or phone number, now.

    ``key`` makes the call idempotent: a second call with the same key returns the first message
    (reconciling with Twilio if the first call's outcome was never recorded) instead of sending.
    The campaign's delivery policy applies as in its plan (``service_window``, ``expires_at``,
    WhatsApp's messaging limit): a message the plan would defer or skip is refused with
    :class:`~campaign_sdk.sending.TriggerRefused` (``reason``, ``retry_at``), never deferred
    (see :mod:`._trigger_rules`).
    """
    with sessions.begin() as session:
        row = service.get_campaign(session, campaign_id)
        problems = blockers(row, gateway, campaign_type=CampaignType.SERVICE)
        if problems or gateway is None:  # blockers() names a missing gateway
            raise CampaignStateError(f"campaign {row.name!r} cannot trigger: " + "; ".join(problems))
        lead = _lead(session, row, lead_or_phone, clean_custom_variables(variables))
        _require_service_window(session, row, lead, gateway)
        values = {**(lead.custom_variables or {}), **clean_custom_variables(variables)}
        policy = policy_for(row, given=None, client_policy=client_policy)
        phone = session.get_one(ConversationUser, lead.user_id).phone_number
        expires_at = utc(row.expires_at) if row.expires_at is not None else None
        if key is None or not _has_intent(session, row, key):  # a retry of a key settles what it started
            _trigger_rules.check(session, row, lead.user_id, phone, values, gateway, policy, clock_of(gateway))
        content = service.content_of(row)
        numbered = compile_variables(content).content_variables(values)
        check = LeadCheck(content, channel=gateway.channel)
        if (issue := check.issue(values)) is not None:  # refused here rather than by Twilio
            raise TemplateValidationError([issue], content_type=content.content_type)
        job, done, existed = _intent(session, row, lead, numbered, key, gateway.channel)
        content_sid = str(row.content_sid)
    if done is not None:
        return done
    assert gateway is not None
    fatal: list[BaseException] = []
    delivery = Delivery(
        sessions, gateway, content_sid, limiter=RateLimiter(None), retry=retry or RetryPolicy(),
        stop=threading.Event(), on_fatal=fatal.append, validity_period=policy.validity_period,
        expires_at=expires_at,
    )
    outcome = delivery.settle(job, tries=1) if existed else None
    if outcome is None or outcome.kind == "released":
        outcome = delivery.deliver(job)
    with sessions.begin() as session:
        apply_outcomes(session, [outcome])
    return _result(outcome, job, fatal, key)


def _require_service_window(session: Session, row: Campaign, lead: CampaignLead, gateway: Gateway) -> None:
    """A free-form (in-session, never approved) WhatsApp message goes only inside the person's
    24-hour customer-service window (facts.delivery.SERVICE_WINDOW); outside it, the trigger is
    refused here with the reason, rather than sent and failed by Twilio (63016)."""
    if gateway.channel != "whatsapp" or not service.sends_without_approval(row):
        return
    last = session.scalar(sa.select(sa.func.max(InboundMessage.received_at)).where(InboundMessage.user_id == lead.user_id))
    now = clock_of(gateway)
    if last is None or utc(last) + SERVICE_WINDOW < now:
        since = "has never messaged you" if last is None else f"last messaged at {utc(last).isoformat(timespec='minutes')}"
        raise CampaignStateError(
            f"outside_service_window: {REASONS['outside_service_window']}; this person {since}. Send an approved "
            "template instead (a campaign whose template WhatsApp approved), or wait for them to write"
        )


def _dedupe(row: Campaign, key: str | None) -> str | None:
    return f"trigger:{row.id}:{key}" if key else None


def _has_intent(session: Session, row: Campaign, key: str) -> bool:
    return bool(session.scalar(sa.select(sa.exists().where(OutboundMessage.dedupe_key == _dedupe(row, key)))))


def _lead(session: Session, row: Campaign, lead_or_phone: int | str, variables: dict[str, str]) -> CampaignLead:
    if isinstance(lead_or_phone, int):
        lead = session.get(CampaignLead, lead_or_phone)
        if lead is None or lead.campaign_id != row.id:
            raise LeadValidationError(f"campaign {row.name!r} has no lead with id {lead_or_phone}")
    else:
        try:
            phone = normalize_phone(lead_or_phone)
        except PhoneNumberError as exc:
            raise LeadValidationError(f"cannot trigger to {lead_or_phone!r}: {exc}") from None
        lead = _lead_by_phone(session, row, phone)
        if lead is None:
            counts = service.upsert_leads(session, row, [service.NormalizedLead(phone, variables)])
            lead = _lead_by_phone(session, row, phone)
            if counts.skipped_opted_out or lead is None:
                raise CampaignStateError(f"{phone} opted out; opted-out users are never messaged")
    if lead.removed_at is not None:
        raise CampaignStateError(f"lead {lead.id} was removed from campaign {row.name!r}")
    if session.get_one(ConversationUser, lead.user_id).opted_out_at is not None:
        raise CampaignStateError(f"lead {lead.id} opted out; opted-out users are never messaged")
    return lead


def _lead_by_phone(session: Session, row: Campaign, phone: str) -> CampaignLead | None:
    return session.scalar(
        sa.select(CampaignLead)
        .join(ConversationUser, ConversationUser.id == CampaignLead.user_id)
        .where(CampaignLead.campaign_id == row.id, ConversationUser.phone_number == phone)
    )


def _intent(
    session: Session, row: Campaign, lead: CampaignLead, numbered: dict[str, str], key: str | None,
    channel: str,
) -> tuple[Job, SentMessage | None, bool]:
    phone = session.get_one(ConversationUser, lead.user_id).phone_number
    dedupe = _dedupe(row, key)
    existing = (
        session.scalar(sa.select(OutboundMessage).where(OutboundMessage.dedupe_key == dedupe)) if dedupe else None
    )
    if existing is not None:
        if existing.sid is not None:
            done = SentMessage(existing.sid, str(existing.status), existing.to_number, existing.created_at)
            return _job(existing, numbered), done, True
        if existing.error_kind is not None:
            raise GatewayError(
                f"the message with key {key!r} was refused ({_reason(existing.error_kind, existing.error_code)}); "
                "use another key to try again", kind=existing.error_kind, code=existing.error_code,
            )
        return _job(existing, numbered), None, True
    intent = {"lead_id": lead.id, "user_id": lead.user_id, "to_number": phone, "content_sid": row.content_sid,
              "content_variables": numbered, "dedupe_key": dedupe, "channel": channel}
    [intent_id] = service.create_intents(session, row, [intent])
    return _job(session.get_one(OutboundMessage, intent_id), numbered), None, False


def _job(message: OutboundMessage, numbered: dict[str, str]) -> Job:
    variables = dict(message.content_variables or numbered)
    return Job(message.id, message.lead_id, message.user_id, message.to_number, variables, message.created_at)


def _result(outcome: Outcome, job: Job, fatal: list[BaseException], key: str | None) -> SentMessage:
    if outcome.kind == "accepted" and outcome.sid:
        return SentMessage(outcome.sid, str(outcome.status), job.to, outcome.at)
    if outcome.kind == "released" and outcome.message == EXPIRED:
        raise _trigger_rules.TriggerRefused(
            f"expired: {REASONS['expired']} (less than a second was left when the request was ready). Nothing was sent",
            reason="expired")
    if outcome.kind == "rejected":
        raise GatewayError(
            f"the gateway refused the message to {job.to} ({_reason(outcome.error_kind, outcome.code)}): "
            f"{outcome.message}", kind=outcome.error_kind or "unknown", code=outcome.code,
        )
    if fatal:
        raise fatal[0]
    again = f"call trigger again with key={key!r} to reconcile" if key else "pass key=... to make triggers retryable"
    raise GatewayError(f"Twilio did not answer for {job.to}; the message may have been sent ({again})", kind="server")


def _reason(kind: str | None, code: int | None) -> str:
    return f"{kind or 'error'}" + (f", Twilio error {code}" if code else "")
