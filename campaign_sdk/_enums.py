"""Enumerations shared by schemas, models and service (imports only ``campaign_sdk.facts``)."""

from __future__ import annotations

from enum import StrEnum

from campaign_sdk.facts import statuses


class CampaignStatus(StrEnum):
    """Approval status of a campaign's template (the seed's four states).

    Twilio's WhatsApp approval statuses map onto these with :meth:`from_twilio`.
    """

    UNSUBMITTED = "unsubmitted"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"

    @classmethod
    def from_twilio(cls, status: str) -> CampaignStatus:
        """Map a Twilio approval status (unsubmitted, received, pending, approved, rejected,
        paused, disabled) onto the campaign status.

        ``received`` (with Twilio, not yet with WhatsApp) counts as pending; ``paused`` and
        ``disabled`` keep the template approved but block sending (see :class:`ApprovalState`).
        """
        try:
            return _TWILIO_TO_STATUS[ApprovalState(status.lower())]
        except ValueError:
            raise ValueError(
                f"unknown Twilio approval status {status!r}; expected one of "
                f"{', '.join(s.value for s in ApprovalState)}"
            ) from None


class ApprovalState(StrEnum):
    """Twilio's own WhatsApp approval status, kept verbatim next to :class:`CampaignStatus`."""

    UNSUBMITTED = "unsubmitted"
    RECEIVED = "received"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    PAUSED = "paused"
    DISABLED = "disabled"

    @property
    def can_send(self) -> bool:
        """Whether WhatsApp lets a template in this state be sent."""
        return self is ApprovalState.APPROVED


_TWILIO_TO_STATUS = {
    ApprovalState.UNSUBMITTED: CampaignStatus.UNSUBMITTED,
    ApprovalState.RECEIVED: CampaignStatus.PENDING,
    ApprovalState.PENDING: CampaignStatus.PENDING,
    ApprovalState.APPROVED: CampaignStatus.APPROVED,
    ApprovalState.REJECTED: CampaignStatus.REJECTED,
    ApprovalState.PAUSED: CampaignStatus.APPROVED,
    ApprovalState.DISABLED: CampaignStatus.APPROVED,
}


class CampaignType(StrEnum):
    """Marketing campaigns are sent in bulk; service campaigns send one message per trigger."""

    MARKETING = "marketing"
    SERVICE = "service"


class MessageStatus(StrEnum):
    """Twilio's 13 message statuses (``campaign_sdk.facts.statuses``, from the Messages API spec),
    ordered by :attr:`rank` so status updates never move a message backwards.

    >>> MessageStatus.QUEUED.rank > MessageStatus.SCHEDULED.rank
    True
    >>> MessageStatus.PARTIALLY_DELIVERED.touch, MessageStatus.CANCELED.touch
    (True, False)
    """

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    RECEIVING = "receiving"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    READ = "read"
    PARTIALLY_DELIVERED = "partially_delivered"
    CANCELED = "canceled"

    @property
    def fact(self) -> statuses.StatusFact:
        return statuses.BY_NAME[self.value]

    @property
    def rank(self) -> int:
        """Progress rank: a status update with a lower rank than the stored one is ignored."""
        return self.fact.rank

    @property
    def touch(self) -> bool:
        """The message reached the recipient side (sent, delivered, read, ...): counts as sent."""
        return self.fact.touch

    @property
    def reached_recipient_side(self) -> bool:
        """Same as :attr:`touch` (counts as messages_sent)."""
        return self.fact.touch

    @property
    def not_received(self) -> bool:
        """failed or undelivered: the message did not reach the recipient."""
        return self.fact.not_received

    @property
    def absorbing(self) -> bool:
        """Nothing after this status changes the message (canceled)."""
        return self.fact.absorbing


if {s.value for s in MessageStatus} != set(statuses.NAMES):  # pragma: no cover - a facts edit
    raise ImportError("MessageStatus and campaign_sdk.facts.statuses disagree; update both together")


class LeadStatus(StrEnum):
    """Where a lead stands in its campaign (``campaign.leads``, ``lead_facts``), from the first
    that holds: ``opted_out`` (the person opted out); its latest message (not a canceled one):
    ``replied``, ``not_received`` (failed or undelivered), ``read``, ``delivered``, ``sent``,
    ``queued`` (with Twilio, not sent yet), ``scheduled`` (held by Twilio's scheduler until its
    ``due_at``); ``deferred`` (no message yet: held by the local worker until its ``due_at``, for
    its ``reason``: quiet_hours, scheduled, messaging_tier); ``skipped`` (a send dropped it without
    a message, for its ``reason``: expired, frequency_cap, ... and when, ``skipped_at``; a later
    message or deferred send supersedes it); else ``pending`` (not sent yet). ``removed`` leads
    are not listed with the others."""

    PENDING = "pending"
    SKIPPED = "skipped"
    DEFERRED = "deferred"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    REPLIED = "replied"
    NOT_RECEIVED = "not_received"
    OPTED_OUT = "opted_out"
    REMOVED = "removed"
