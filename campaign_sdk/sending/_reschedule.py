"""A new delivery policy (or expiry) applied to the messages Twilio's scheduler already holds.

Twilio sends a scheduled message (``ScheduleType=fixed``) at its SendAt whatever the campaign's
policy says by then. So when a campaign's policy (``campaign.set_delivery``) or the client's
(``client.delivery_policy``, for the campaigns that set none) changes, each message of the
affected campaigns that Twilio holds (status ``scheduled``) is checked at its SendAt against the
NEW policy, with the plan's own rules:

- the send window in the recipient's zone(s): the window of its campaign type and country
  (``DeliveryPolicy.window_for``), in the lead's ``timezone`` value or else its number's zones
  (:func:`._deadline.recipient_zones`, :func:`campaign_sdk.delivery.number_zones`). A SendAt the
  window forbids moves to the next allowed moment after it (:func:`campaign_sdk.delivery.next_allowed`,
  reason ``quiet_hours``; one of a ``local_time`` send, kept with it since migration 0016, to that
  time of the next allowed day, as the plan moves it): later, never earlier;
- ``expires_at``: no allowed moment by then -> skipped ``expired`` (a stale message is never sent);
  an unknown zone under a window -> ``unknown_timezone``, zones without a common allowed minute ->
  ``no_common_window`` (skipped, as the plan skips them);
- frequency caps (marketing): the held messages of one person are taken in SendAt order and one is
  pulled back when, with the person's other counted messages (any campaign, sent or held, at the
  moment they reach the person) and the held ones kept before it, it would exceed a cap (the plan's
  rule: ``delivery._limits.caps``). It is deferred to its own SendAt (``frequency_cap``): the worker
  asks the plan again then and sends it, or skips it as ``frequency_cap``;
- WhatsApp's messaging limit (``messaging_tier`` of the policy, else the gateway's): the held
  messages beyond it, by the plan's rule (``delivery._limits.rank_tier``), are deferred to the day
  it allows them (``messaging_tier``; :mod:`._reschedule_tier`).

Such a message is canceled at Twilio as :func:`._cancel.cancel_scheduled` cancels, an intent
first (:mod:`._cancel_intents`), and in the transaction that records the cancel its lead is
deferred to that moment (a ``deferred_sends`` row: the local worker sends it when due, once; a
later ``send()`` leaves it to the worker) or marked skipped. A process killed between Twilio's
cancel and that transaction leaves the intent, which the next reschedule, ``sync()``, ``send()``
or ``run_due()`` finishes, once. A message Twilio had already sent (the cancel is refused, 30409)
is recorded as Twilio reports it and counts as sent (``already_sent``); one whose cancel failed
otherwise stays ``scheduled`` (``failed``: set the policy again to retry). Messages the new
policy allows stay scheduled at Twilio, untouched.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from campaign_sdk.delivery import DeliveryPolicy, policy_for, utc
from campaign_sdk.gateways import Gateway, strip_channel
from campaign_sdk.models import Campaign, CampaignLead, CampaignType, MessageStatus, OutboundMessage
from campaign_sdk.sending import _cancel_intents as intents
from campaign_sdk.sending import _deferred
from campaign_sdk.sending._cancel import HELD, LEASE_WAIT, CancelError, CancelReport, _quiet, listed
from campaign_sdk.sending._cancel_intents import Intent
from campaign_sdk.sending._deadline import allowed_from, timezone_value
from campaign_sdk.sending._lease import SendLease
from campaign_sdk.sending._reschedule_tier import tiered
from campaign_sdk.sending._trigger_rules import ARRIVES, COUNTED

FREED = "unknown_send_at"  # scheduled before migration 0010 (no SendAt kept) under an expiry: canceled, planned again


@dataclass
class RescheduleReport(CancelReport):
    """What a new delivery policy did to the messages Twilio's scheduler held: ``checked`` (held
    messages of the affected campaigns), ``kept`` (still allowed: untouched at Twilio),
    ``canceled`` (canceled at Twilio), ``deferred`` (of those, leads deferred to the next moment
    the policy allows, by why: ``quiet_hours``, ``frequency_cap``, ``messaging_tier``; also those a
    crash had left half done, finished by this call), ``skipped`` (leads the policy
    no longer sends, by reason: ``expired``, ...), ``moved`` (SID -> the lead's new due moment,
    None when skipped), ``already_sent`` (SID -> status: Twilio had sent it, the cancel was
    refused; it counts as sent), ``failed`` (SID -> why: still scheduled at Twilio) and ``notes``."""

    checked: int = 0
    kept: int = 0
    deferred: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    moved: dict[str, dt.datetime | None] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (f"<RescheduleReport checked={self.checked} kept={self.kept} canceled={self.canceled} "
                f"deferred={sum(self.deferred.values())} skipped={sum(self.skipped.values())} "
                f"already_sent={len(self.already_sent)} failed={len(self.failed)}>")


class RescheduleWarning(UserWarning):
    """Messages Twilio's scheduler held at a moment the new delivery policy forbids had already
    been sent by Twilio when it came (the cancel was refused): they count as sent."""


@dataclass(frozen=True)
class _Held:
    id: int
    sid: str
    to: str
    campaign_id: int
    lead_id: int
    user_id: int
    send_at: dt.datetime | None
    policy: DeliveryPolicy
    category: str
    expires_at: dt.datetime | None
    timezone: str | None
    channel: str | None  # the channel it was sent by (None: stored before migration 0011)
    local_time: str | None = None  # the send's ``local_time`` (migration 0016; None: at one moment, or before it)


Verdict = tuple[dt.datetime | None, str]  # (the lead's new due moment or None, why)


def reschedule_held(sessions: sessionmaker[Session], gateway: Gateway | None, campaign_ids: Sequence[int] | None, *,
                    client_policy: DeliveryPolicy | None, wait: float = LEASE_WAIT) -> RescheduleReport:
    """Apply the delivery policy now in force to the messages Twilio's scheduler holds for
    ``campaign_ids`` (None: every campaign that sets no policy of its own, after the client's
    changed), see the module. Nothing held: no request, no lease."""
    report = RescheduleReport()
    leases: list[SendLease] = []
    try:
        ids = _holding(sessions, campaign_ids)
        if not ids:
            return report
        if gateway is None:
            report.notes.append("the client has no gateway: the messages Twilio's scheduler holds were not checked "
                                "against the new delivery policy")
            return report
        leases = [lease for cid in ids if (lease := _quiet(sessions, cid, wait, report)) is not None]
        _account(report, intents.finish(sessions, gateway, report, campaign_ids=ids))  # left half done by a crash
        held = _held(sessions, ids, client_policy)
        verdicts = {h.sid: v for h in held if (v := _timing(h)) is not None}
        verdicts.update(_capped(sessions, held, verdicts))
        verdicts.update(tiered(sessions, gateway, held, verdicts, allowed))
        report.checked, report.kept = len(held), len(held) - len(verdicts)
        _apply(sessions, gateway, [(h, verdicts[h.sid]) for h in held if h.sid in verdicts], report)
    finally:
        for lease in leases:
            lease.release()
        report.seal()
    return report


def _holding(sessions: sessionmaker[Session], campaign_ids: Sequence[int] | None) -> list[int]:
    """The campaigns (of ``campaign_ids``, or those without a policy of their own) with a message
    Twilio's scheduler holds."""
    m = OutboundMessage
    query = sa.select(m.campaign_id).where(HELD).distinct()
    if campaign_ids is not None:
        query = query.where(m.campaign_id.in_(list(campaign_ids)))
    with sessions() as session:
        found = sorted(session.scalars(query))
        if campaign_ids is None:  # the client's policy is theirs only where they set none
            own = session.execute(sa.select(Campaign.id, Campaign.delivery_policy).where(Campaign.id.in_(found))).all()
            found = sorted(cid for cid, policy in own if not policy)
    return found


def _held(sessions: sessionmaker[Session], campaign_ids: list[int], client_policy: DeliveryPolicy | None) -> list[_Held]:
    m, lead = OutboundMessage, CampaignLead
    with sessions() as session:
        rows = {r.id: r for r in session.scalars(sa.select(Campaign).where(Campaign.id.in_(campaign_ids)))}
        policies = {cid: policy_for(row, given=None, client_policy=client_policy) for cid, row in rows.items()}
        found = session.execute(
            sa.select(m.id, m.sid, m.to_number, m.campaign_id, m.lead_id, m.user_id, m.scheduled_for,
                      lead.custom_variables, m.channel, m.local_time)
            .join(lead, lead.id == m.lead_id)
            .where(m.campaign_id.in_(campaign_ids), HELD)
            .order_by(m.id)
        ).all()
    held = []
    for mid, sid, to, cid, lead_id, user_id, send_at, variables, channel, local_time in found:
        row = rows[cid]
        held.append(_Held(mid, str(sid), str(to), cid, lead_id, user_id, None if send_at is None else utc(send_at),
                          policies[cid], str(row.campaign_type),
                          None if row.expires_at is None else utc(row.expires_at),
                          timezone_value(variables), channel, local_time))
    return held


def _timing(held: _Held) -> Verdict | None:
    """What the policy's window and expiry say of a held message's SendAt (None: allowed)."""
    if held.send_at is None:  # its moment was not kept: canceled under an expiry (as before), never moved
        return (None, FREED) if held.expires_at is not None else None
    moment, why = allowed(held, held.send_at)
    if moment is None:
        return None, why
    return (moment, "quiet_hours") if moment != held.send_at else None


def allowed(held: _Held, start: dt.datetime) -> Verdict:
    """The first moment from ``start`` the held message's policy allows (its window in the
    recipient's zones, before ``expires_at``; at its send's ``local_time`` of the next allowed
    day when the window forbids ``start``), or None and why there is none
    (:func:`._deadline.allowed_from`)."""
    return allowed_from(strip_channel(held.to), held.timezone, held.policy, held.category, held.expires_at,
                        held.local_time, start)


def _capped(sessions: sessionmaker[Session], held: list[_Held], pulled: dict[str, Verdict]) -> dict[str, Verdict]:
    """The held messages the policy's frequency caps pull back (see the module), deferred to
    their own SendAt."""
    candidates = [h for h in held if h.sid not in pulled and h.send_at is not None and h.policy.caps_for(h.category)]
    if not candidates:
        return {}
    longest = max(cap.per for h in candidates for cap in h.policy.caps_for(h.category))
    arrival = [h.send_at for h in candidates if h.send_at is not None]
    others = _counted(sessions, sorted({h.user_id for h in candidates}), min(arrival) - longest, max(arrival) + longest)
    mine = {h.sid for h in candidates} | set(pulled)
    times: dict[int, list[dt.datetime]] = defaultdict(list)
    for sid, user_id, at in others:
        if sid not in mine:
            times[user_id].append(at)
    found: dict[str, Verdict] = {}
    for h in sorted(candidates, key=lambda c: (c.send_at, c.id)):
        assert h.send_at is not None
        near = times[h.user_id]
        if any(sum(h.send_at - cap.per < t < h.send_at + cap.per for t in near) + 1 > cap.limit
               for cap in h.policy.caps_for(h.category)):
            found[h.sid] = (h.send_at, "frequency_cap")
        else:
            near.append(h.send_at)  # kept: it counts for the person's later held messages
    return found


def _counted(sessions: sessionmaker[Session], users: list[int], start: dt.datetime,
             end: dt.datetime) -> list[tuple[str | None, int, dt.datetime]]:
    """The marketing messages of ``users`` the caps count (``delivery.NOT_COUNTED``), with the
    moment each reaches the person (``delivery.ARRIVAL``), between ``start`` and ``end``."""
    m = OutboundMessage
    found: list[tuple[str | None, int, dt.datetime]] = []
    with sessions() as session:
        for first in range(0, len(users), 900):
            found += [(sid, user_id, utc(at)) for sid, user_id, at in session.execute(
                sa.select(m.sid, m.user_id, ARRIVES).join(Campaign, Campaign.id == m.campaign_id)
                .where(Campaign.campaign_type == CampaignType.MARKETING, m.user_id.in_(users[first:first + 900]),
                       COUNTED, ARRIVES > start.replace(tzinfo=None), ARRIVES < end.replace(tzinfo=None)))]
    return found


def _apply(sessions: sessionmaker[Session], gateway: Gateway, pulled: list[tuple[_Held, Verdict]],
           report: RescheduleReport) -> None:
    """Cancel the pulled-back messages at Twilio, each an intent first (:mod:`._cancel_intents`:
    a crash cannot leave one half done); record each batch's outcome, deferrals and skips in one
    transaction."""
    now = utc(gateway.now())
    planned = []
    for held, (due, why) in pulled:
        later = skip = None
        if due is not None:
            later = {"lead_id": held.lead_id, "user_id": held.user_id, "due_at": due,
                     "reason": why if why in _deferred.POLICY_DEFERRALS else "scheduled",
                     "local_time": held.local_time, "not_before": held.send_at}  # never before its old SendAt
        elif why != FREED:
            skip = (held.lead_id, why)
        planned.append(Intent(held.sid, held.to, held.campaign_id, held.channel, later, skip, why,
                              sender=_deferred.sender_of(gateway)))  # the lead waits for this gateway's worker
    _account(report, intents.cancel(sessions, gateway, planned, report, now=now))


def _account(report: RescheduleReport, done: list[intents.Done]) -> None:
    """Count the completed cancels of held messages: deferred, skipped, moved."""
    for intent, status in done:
        if intent.why is None or status != MessageStatus.CANCELED:
            continue  # a pause's or an opt-out's; or Twilio had sent it (in report.already_sent)
        if intent.later is not None:
            report.deferred[intent.why] = report.deferred.get(intent.why, 0) + 1
        elif intent.skip is not None:
            report.skipped[intent.why] = report.skipped.get(intent.why, 0) + 1
        report.moved[intent.sid] = intent.due


def raise_reschedule_failures(report: RescheduleReport, what: str) -> None:
    """Warn (:class:`RescheduleWarning`) about held messages Twilio had already sent, and raise
    :class:`CancelError` when some it still holds at a forbidden moment could not be canceled.
    ``what``: where the policy was set (``campaign 'Orders'``, ``the client``)."""
    if report.already_sent:
        warnings.warn(
            f"{what}: {len(report.already_sent)} message(s) Twilio's scheduler held at a moment the new delivery "
            f"policy forbids had already been sent by Twilio, so the cancel was refused; they count as sent "
            f"({', '.join(f'{sid}: {status}' for sid, status in list(report.already_sent.items())[:5])})",
            RescheduleWarning, stacklevel=3)
    if report.failed:
        raise CancelError(
            f"{what}: the new delivery policy is stored, but {len(report.failed)} message(s) Twilio's scheduler "
            f"holds at a moment it forbids could not be canceled and may still go out ({listed(report)}); "
            f"{report.canceled} were canceled. Call set_delivery() again to retry", report)
