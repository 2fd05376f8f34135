"""The delivery policy for one triggered message: the rules ``plan()`` applies to a service
campaign's leads, checked for one person at the moment of the trigger.

``trigger()`` sends now or not at all: a message the plan would defer or skip is refused with
:class:`TriggerRefused`, whose ``reason`` is the plan's (``expired``, ``quiet_hours``,
``messaging_tier``, ``invalid_timezone``, ``unknown_timezone``, ``no_common_window``) and whose
``retry_at`` says when a trigger would be allowed (None: never, or not known). It is not
deferred: a deferred message (``deferred_sends``) is a campaign's one message to a lead, sent by
the worker with the lead's stored values, while a trigger is one of many messages to the same
lead, with its own values and idempotency key. The caller decides what a refused notification
becomes (send it later, drop it).

The checks are the plan's, on one person, read from the store directly (a plan of the whole
campaign for each trigger costs the campaign's size, not one lead's):

- ``expires_at`` passed, or the next allowed moment is after it: ``expired``;
- the policy's window for service messages (``service_window``, per-country windows replacing
  it; None: exempt) in the person's zone(s) (the lead's ``timezone`` value, else the number's);
- WhatsApp's messaging limit (``messaging_tier`` of the policy or the gateway): unique people
  messaged on WhatsApp in the last 24 h (``facts.delivery.MESSAGING_LIMIT_WINDOW``), every
  campaign (an SMS does not count; a message recorded before migration 0011 has no channel and
  counts, as in the plan); a person already among them, or inside their customer-service
  window, takes no new slot.
Frequency caps apply to marketing only (``DeliveryPolicy.caps_for``), as in the plan.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NoReturn

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaign_sdk._exceptions import CampaignStateError
from campaign_sdk.delivery import (
    ARRIVAL,
    DAYS,
    NOT_COUNTED,
    REASONS,
    UNKNOWN_ZONE,
    DeliveryPolicy,
    SendWindow,
    next_allowed,
    number_zones,
    utc,
)
from campaign_sdk.facts.delivery import MESSAGING_LIMIT_CHANNEL, MESSAGING_LIMIT_WINDOW, SERVICE_WINDOW
from campaign_sdk.gateways import Gateway
from campaign_sdk.leads import TIMEZONE_VARIABLE, iana_zone
from campaign_sdk.models import Campaign, InboundMessage, OutboundMessage


class TriggerRefused(CampaignStateError):
    """The delivery policy does not let this message go now: ``reason`` (a key of
    ``campaign_sdk.delivery.REASONS``) and ``retry_at`` (aware UTC: the first moment a trigger
    would be allowed; None: never, or not known)."""

    def __init__(self, message: str, *, reason: str, retry_at: dt.datetime | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_at = retry_at


def check(session: Session, row: Campaign, user_id: int, phone: str, values: dict[str, Any],
          gateway: Gateway, policy: DeliveryPolicy, now: dt.datetime) -> None:
    """Raise :class:`TriggerRefused` when the policy defers or skips a message to this person now."""
    expires_at = utc(row.expires_at) if row.expires_at is not None else None
    if expires_at is not None and now > expires_at:
        _refuse("expired", f"the campaign expired at {_iso(expires_at)} (a stale message is never sent)")
    window = policy.window_for("service", _country(phone))
    if window is not None:
        names = _zones(phone, values)
        moment = next_allowed(names, window, now)
        if moment is None:
            _refuse("no_common_window", f"{REASONS['no_common_window']} (zones {', '.join(names)}, "
                    f"service window {_window(window)})")
        if expires_at is not None and moment > expires_at:
            _refuse("expired", f"the service window opens at {_iso(moment)}, after expires_at {_iso(expires_at)}")
        if moment > now:
            _refuse("quiet_hours", f"outside the service window {_window(window)} in {', '.join(names)}",
                    retry_at=moment)
    tier = policy.messaging_tier or gateway.messaging_tier
    if tier and gateway.channel == "whatsapp":
        _messaging_limit(session, user_id, tier, now, expires_at)


# a message the limits count and the moment it reaches the person, as the plan has them
# (delivery.NOT_COUNTED, delivery.ARRIVAL): the triggers' limit and the rescheduling's caps read these
ARRIVES = sa.func.coalesce(*(getattr(OutboundMessage, column) for column in ARRIVAL))
COUNTED = sa.and_(~sa.and_(OutboundMessage.sid.is_(None), OutboundMessage.error_code.is_not(None)),
                  OutboundMessage.status.not_in(NOT_COUNTED))


def _messaging_limit(session: Session, user_id: int, limit: int, now: dt.datetime,
                     expires_at: dt.datetime | None) -> None:
    since = now - MESSAGING_LIMIT_WINDOW
    moment = ARRIVES
    on_whatsapp = sa.func.coalesce(OutboundMessage.channel, MESSAGING_LIMIT_CHANNEL) == MESSAGING_LIMIT_CHANNEL
    counted = sa.and_(COUNTED, on_whatsapp, moment > since)
    if session.scalar(sa.select(sa.exists().where(OutboundMessage.user_id == user_id, counted))):
        return  # already one of the unique people of the last 24 h
    last_in = session.scalar(sa.select(sa.func.max(InboundMessage.received_at)).where(InboundMessage.user_id == user_id))
    if last_in is not None and utc(last_in) + SERVICE_WINDOW > now:
        return  # inside their customer-service window: not counted
    used = session.execute(sa.select(sa.func.count(sa.distinct(OutboundMessage.user_id)), sa.func.min(moment))
                           .where(counted)).one()
    if int(used[0] or 0) < limit:
        return
    retry_at = utc(used[1]) + MESSAGING_LIMIT_WINDOW if used[1] is not None else None
    if retry_at is not None and expires_at is not None and retry_at > expires_at:
        _refuse("expired", f"the messaging limit ({limit} people per 24 h) frees a slot only after expires_at "
                f"{_iso(expires_at)}")
    _refuse("messaging_tier", f"WhatsApp's messaging limit: {used[0]} people were messaged in the last 24 h, "
            f"the limit is {limit}",
            retry_at=retry_at)


def _refuse(reason: str, detail: str, *, retry_at: dt.datetime | None = None) -> NoReturn:
    later = f"; a trigger is allowed from {_iso(retry_at)}" if retry_at is not None else ""
    raise TriggerRefused(f"trigger refused by the delivery policy ({reason}): {detail}{later}; nothing was sent",
                         reason=reason, retry_at=retry_at)


def _window(window: SendWindow) -> str:
    days = "" if len(window.days) == len(DAYS) else " on " + ",".join(window.days)
    return f"{window.start}-{window.end}{days}"


def _zones(phone: str, values: dict[str, Any]) -> tuple[str, ...]:
    """The person's zone(s): the lead's ``timezone`` value (an IANA name), else the number's."""
    named = str(values.get(TIMEZONE_VARIABLE) or "").strip()
    if named:
        if iana_zone(named) is None:
            _refuse("invalid_timezone", f"the lead's timezone {named!r} is not an IANA zone name (e.g. 'America/New_York')")
        return (named,)
    zones, _ = number_zones(phone)  # as the plan finds them (narrowed to the region's zones)
    if not zones or zones == (UNKNOWN_ZONE,):
        _refuse("unknown_timezone", f"{REASONS['unknown_timezone']} ({phone})")
    return zones


def _country(phone: str) -> str | None:
    return number_zones(phone)[1]


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="minutes")
