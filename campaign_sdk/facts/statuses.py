"""Twilio's message statuses and their one order (data only).

The 13 statuses are the enum of the Messages API spec:
``twilio_api_v2010.json#/components/schemas/message_enum_status`` (twilio-oai, copied in
/work/shared/twilio-oai at commit d50069b4), which ``api.v2010.account.message.properties.status``
refers to. Their meanings: https://www.twilio.com/docs/messaging/api/message-resource#message-status-values
and the status-callback guide https://www.twilio.com/docs/messaging/guides/track-outbound-message-status.

One order (:data:`RANK`) decides everywhere whether an update moves a message forward: an update
whose rank is lower than the stored one is stale and never moves the message back. Twilio sends
callbacks asynchronously and does not guarantee their order, so a late "sent" after "delivered"
is normal.

>>> ORDER[:5]  # equal ranks keep the spec's order
('scheduled', 'queued', 'receiving', 'accepted', 'sending')
>>> RANK["queued"] > RANK["scheduled"], RANK["delivered"] > RANK["failed"], is_known("delivered_to_moon")
(True, True, False)
"""

from __future__ import annotations

from dataclasses import dataclass

SPEC_PATH = "twilio_api_v2010.json#/components/schemas/message_enum_status"
SOURCE_PAGE = "https://www.twilio.com/docs/messaging/api/message-resource#message-status-values"


@dataclass(frozen=True)
class StatusFact:
    """One message status.

    ``rank``: its place in the one order (higher = further along). ``final``: Twilio expects no
    further status (but a late receipt may still move a message forward: ``failed`` can be
    followed by ``delivered``). ``absorbing``: nothing after it changes the message, not even a
    timestamp. ``touch``: the message reached the recipient side (counts as messages_sent).
    ``delivered`` / ``not_received``: the delivery outcome. ``time_column``: the outbound
    message's timestamp this status fills in.
    """

    name: str
    rank: int
    direction: str
    meaning: str
    final: bool = False
    absorbing: bool = False
    touch: bool = False
    delivered: bool = False
    not_received: bool = False
    time_column: str | None = None


# In the spec's enum order. Meanings from the Message resource page (SOURCE_PAGE).
STATUSES: tuple[StatusFact, ...] = (
    StatusFact("queued", 1, "outbound", "queued to be sent (no Messaging Service)"),
    StatusFact("sending", 2, "outbound", "being dispatched to the carrier or channel"),
    StatusFact("sent", 3, "outbound", "the carrier or channel accepted the message", touch=True,
               time_column="sent_at"),
    StatusFact("failed", 4, "outbound", "could not be sent (see the error code)", final=True,
               not_received=True, time_column="failed_at"),
    StatusFact("delivered", 6, "outbound", "the carrier or channel confirmed delivery", final=True,
               touch=True, delivered=True, time_column="delivered_at"),
    StatusFact("undelivered", 4, "outbound", "the carrier or channel reported non-delivery", final=True,
               not_received=True, time_column="failed_at"),
    StatusFact("receiving", 1, "inbound", "an inbound message is being received"),
    StatusFact("received", 3, "inbound", "an inbound message was received", final=True),
    StatusFact("accepted", 1, "outbound", "accepted by a Messaging Service, sender not chosen yet"),
    StatusFact("scheduled", 0, "outbound", "scheduled to be sent later (Messaging Service)"),
    StatusFact("read", 7, "outbound", "the recipient opened it (WhatsApp / RCS read receipts)", final=True,
               touch=True, delivered=True, time_column="read_at"),
    # Not described on the page (the spec lists it): taken as delivered in part, e.g. some parts
    # of a multi-part message. Inferred, so it ranks below "delivered", which can still follow.
    StatusFact("partially_delivered", 5, "outbound", "delivered in part (inferred: not documented)",
               touch=True, delivered=True, time_column="delivered_at"),
    # Only a scheduled message can be canceled, before it is sent; nothing follows it.
    StatusFact("canceled", 8, "outbound", "a scheduled message was canceled before it was sent",
               final=True, absorbing=True),
)

BY_NAME: dict[str, StatusFact] = {fact.name: fact for fact in STATUSES}
NAMES: tuple[str, ...] = tuple(fact.name for fact in STATUSES)
RANK: dict[str, int] = {fact.name: fact.rank for fact in STATUSES}
# The one order, earliest first (statuses of equal rank in spec order).
ORDER: tuple[str, ...] = tuple(sorted(NAMES, key=lambda name: (RANK[name], NAMES.index(name))))
TOUCH: tuple[str, ...] = tuple(f.name for f in STATUSES if f.touch)
DELIVERED: tuple[str, ...] = tuple(f.name for f in STATUSES if f.delivered)
NOT_RECEIVED: tuple[str, ...] = tuple(f.name for f in STATUSES if f.not_received)
# Statuses of an outbound message that never reached the person: not received, or canceled
# before it left Twilio's scheduler (frequency caps and the messaging limit do not count them).
NEVER_REACHED: tuple[str, ...] = (*NOT_RECEIVED, "canceled")
# Statuses after which a message may still change (a status sync keeps looking at it).
SETTLED: tuple[str, ...] = ("failed", "undelivered", "read", "canceled")
# The status an intent holds before Twilio answers, and the one assumed when Twilio gives none.
INITIAL = "queued"
# A status name Twilio may add later: at most this many characters are stored.
MAX_LENGTH = 40


def is_known(status: str | None) -> bool:
    """Whether ``status`` is one of the 13 statuses this SDK knows."""
    return status in BY_NAME


def rank(status: str | None) -> int | None:
    """The place of ``status`` in the order (None when unknown)."""
    return RANK.get(status or "")
