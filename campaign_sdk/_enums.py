"""Enumerations shared by schemas, models and service (a leaf module: imports nothing of ours)."""

from __future__ import annotations

from enum import StrEnum


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
    """Twilio's outbound message statuses, ordered by :attr:`rank` so callbacks never go backwards."""

    QUEUED = "queued"
    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNDELIVERED = "undelivered"
    DELIVERED = "delivered"
    READ = "read"
    CANCELED = "canceled"

    @property
    def rank(self) -> int:
        """Progress rank: a status update with a lower rank than the stored one is ignored."""
        return _MESSAGE_RANK[self]

    @property
    def reached_recipient_side(self) -> bool:
        """sent, delivered or read: the message left Twilio (counts as messages_sent)."""
        return self in (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ)

    @property
    def not_received(self) -> bool:
        """failed or undelivered: the message did not reach the recipient."""
        return self in (MessageStatus.FAILED, MessageStatus.UNDELIVERED)


# queued/accepted/scheduled < sending < sent < failed/undelivered/delivered < read.
# failed and undelivered outrank sent (Twilio reports them after sent) but never beat delivered/read:
# a late "undelivered" after "delivered" is stale. canceled is terminal for scheduled messages.
_MESSAGE_RANK = {
    MessageStatus.QUEUED: 0,
    MessageStatus.ACCEPTED: 0,
    MessageStatus.SCHEDULED: 0,
    MessageStatus.SENDING: 1,
    MessageStatus.SENT: 2,
    MessageStatus.FAILED: 3,
    MessageStatus.UNDELIVERED: 3,
    MessageStatus.DELIVERED: 4,
    MessageStatus.READ: 5,
    MessageStatus.CANCELED: 3,
}


class LeadStatus(StrEnum):
    """Where a lead stands in its campaign (derived from its latest message and the user's state)."""

    PENDING = "pending"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    REPLIED = "replied"
    NOT_RECEIVED = "not_received"
    OPTED_OUT = "opted_out"
    REMOVED = "removed"
