"""Tables. Every timestamp is stored and returned as timezone-aware UTC."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from campaign_sdk._enums import ApprovalState, CampaignStatus, CampaignType, MessageStatus


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """A datetime stored as UTC; naive input is taken as UTC, output is always aware UTC.

    SQLite has no time zones, so without this a value would come back naive on one engine and
    aware on the other.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _enum(enum: type[StrEnum], name: str) -> sa.Enum:
    return sa.Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class InboundKind(StrEnum):
    """What an inbound message means for the campaign funnel."""

    REPLY = "reply"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: sa.JSON()}


def _row_version_column() -> Mapped[int | None]:
    """The row's version for the analytics mirror: on SQLite set by triggers (migration 0007)
    whenever the row is updated (or inserted below the table's highest id), so any writer,
    raw SQL included, is seen; NULL on rows never updated. PostgreSQL uses ``xmin`` instead."""
    return mapped_column(sa.BigInteger)


def _row_version_index(table: str) -> sa.Index:
    return sa.Index(f"ix_{table}_row_version", "row_version", sqlite_where=sa.text("row_version IS NOT NULL"),
                    postgresql_where=sa.text("row_version IS NOT NULL"))


SCHEDULED_ONLY = f"status = '{MessageStatus.SCHEDULED.value}'"


def _scheduled_index() -> sa.Index:
    """The messages Twilio's scheduler holds, by campaign (migration 0012): the cancels of
    ``disable()``, of an expiry or a policy change, and the sweep after an opt-out read these
    few rows, not every message ever sent."""
    return sa.Index("ix_outbound_scheduled", "campaign_id", sqlite_where=sa.text(SCHEDULED_ONLY),
                    postgresql_where=sa.text(SCHEDULED_ONLY))


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    campaign_type: Mapped[CampaignType] = mapped_column(_enum(CampaignType, "campaign_type"))
    status: Mapped[CampaignStatus] = mapped_column(
        _enum(CampaignStatus, "campaign_status"), default=CampaignStatus.UNSUBMITTED
    )
    approval_state: Mapped[ApprovalState] = mapped_column(
        _enum(ApprovalState, "approval_state"), default=ApprovalState.UNSUBMITTED
    )
    rejection_reason: Mapped[str | None] = mapped_column(sa.Text)
    enabled: Mapped[dt.datetime | None]
    content_type: Mapped[str] = mapped_column(sa.String(40))
    content: Mapped[dict[str, Any]]
    template_key: Mapped[str | None] = mapped_column(sa.String(80))
    content_sid: Mapped[str | None] = mapped_column(sa.String(34), unique=True)
    approval_name: Mapped[str | None] = mapped_column(sa.String(512))
    approval_category: Mapped[str | None] = mapped_column(sa.String(20))
    # WhatsApp locale of the template (sent as the Content resource's ``language``).
    language: Mapped[str] = mapped_column(sa.String(20), default="en", server_default="en")
    # Example values the author declared for approval, by variable name (never a lead's data).
    approval_samples: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    submitted_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Delivery (migration 0005): no message of the campaign is sent after expires_at; the
    # delivery policy (send windows, frequency caps) as DeliveryPolicy's JSON, None = the client's.
    expires_at: Mapped[dt.datetime | None]
    delivery_policy: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    # Experiments (migration 0006): the seed of the lead assignment, the control fraction, the
    # share of leads in the test phase (None: everyone), the winning variant and the plan.
    experiment_seed: Mapped[str | None] = mapped_column(sa.String(64))
    holdout_fraction: Mapped[float | None]
    test_fraction: Mapped[float | None]
    winner_variant: Mapped[str | None] = mapped_column(sa.String(40))
    planned_per_arm: Mapped[int | None]

    leads: Mapped[list[CampaignLead]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", passive_deletes=True
    )
    variants: Mapped[list[CampaignVariant]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", passive_deletes=True,
        order_by="CampaignVariant.position",
    )

    def __repr__(self) -> str:
        return f"<Campaign {self.id} {self.name!r} {self.status}>"


class CampaignVariant(Base):
    """One arm of a campaign's experiment: its own content, weight and WhatsApp approval."""

    __tablename__ = "campaign_variants"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "name", name="uq_campaign_variants_campaign_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(40))
    position: Mapped[int]
    weight: Mapped[float]
    content_type: Mapped[str] = mapped_column(sa.String(40))
    content: Mapped[dict[str, Any]]
    content_sid: Mapped[str | None] = mapped_column(sa.String(34))
    approval_name: Mapped[str | None] = mapped_column(sa.String(512))
    approval_state: Mapped[ApprovalState] = mapped_column(
        _enum(ApprovalState, "approval_state"), default=ApprovalState.UNSUBMITTED
    )
    rejection_reason: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    campaign: Mapped[Campaign] = relationship(back_populates="variants")


class GlobalHoldout(Base):
    """A stable fraction of users kept out of every marketing campaign during [starts_at, ends_at)."""

    __tablename__ = "global_holdouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    seed: Mapped[str] = mapped_column(sa.String(64))
    fraction: Mapped[float]
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ConversationUser(Base):
    """One person, identified by an E.164 number; opt-out state is per user, across campaigns."""

    __tablename__ = "conversation_users"
    __table_args__ = (_row_version_index("conversation_users"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_number: Mapped[str] = mapped_column(sa.String(16), unique=True)
    opted_out_at: Mapped[dt.datetime | None]
    opt_out_keyword: Mapped[str | None] = mapped_column(sa.String(20))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    row_version: Mapped[int | None] = _row_version_column()

    def __repr__(self) -> str:
        return f"<ConversationUser {self.id} {self.phone_number}>"


class CampaignLead(Base):
    """A user enrolled in a campaign, with the custom variables used to fill its template."""

    __tablename__ = "campaign_leads"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "user_id", name="uq_campaign_leads_campaign_user"),
        sa.Index("ix_campaign_leads_user", "user_id"),
        _row_version_index("campaign_leads"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("conversation_users.id", ondelete="RESTRICT"))
    custom_variables: Mapped[dict[str, Any]] = mapped_column(default=dict)
    removed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # the experiment arm (a variant name, "holdout", "global_holdout" or "rest"); None: no experiment
    variant: Mapped[str | None] = mapped_column(sa.String(40))
    row_version: Mapped[int | None] = _row_version_column()
    # Migration 0011: why and when a send last dropped this lead without a message (a deferred
    # send dropped as ``expired`` or over a ``frequency_cap``, a lead send() skipped; the codes of
    # ``delivery.SKIP``). The lead's status is ``skipped`` only while nothing later supersedes it
    # (a message, a deferred send); re-adding the lead with new values, or after its removal,
    # clears it.
    skip_reason: Mapped[str | None] = mapped_column(sa.String(40))
    skipped_at: Mapped[dt.datetime | None]

    campaign: Mapped[Campaign] = relationship(back_populates="leads")
    user: Mapped[ConversationUser] = relationship()


class OutboundMessage(Base):
    """A campaign message to one lead. ``sid`` is Twilio's, unique; statuses only move forward."""

    __tablename__ = "outbound_messages"
    __table_args__ = (
        sa.Index("ix_outbound_campaign_lead", "campaign_id", "lead_id"),
        sa.Index("ix_outbound_user_created", "user_id", "created_at"),
        sa.Index("ix_outbound_dedupe_key", "dedupe_key", unique=True),
        _scheduled_index(),
        _row_version_index("outbound_messages"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str | None] = mapped_column(sa.String(34), unique=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"))
    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign_leads.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("conversation_users.id", ondelete="RESTRICT"))
    to_number: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[MessageStatus] = mapped_column(_enum(MessageStatus, "message_status"))
    error_code: Mapped[int | None]
    content_variables: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    delivered_at: Mapped[dt.datetime | None]
    read_at: Mapped[dt.datetime | None]
    failed_at: Mapped[dt.datetime | None]
    # Send bookkeeping (migration 0003): the content sent, why Twilio refused it, and the key
    # that allows at most one message per lead and campaign send.
    content_sid: Mapped[str | None] = mapped_column(sa.String(34))
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(120))
    # Migration 0004: the gateway-neutral kind of the error (``facts.errors.ErrorKind``), which
    # is what the SDK decides by, and a status this SDK does not know, kept verbatim (``status``
    # keeps the latest known one, so the order and the metrics stay right).
    error_kind: Mapped[str | None] = mapped_column(sa.String(20))
    unknown_status: Mapped[str | None] = mapped_column(sa.String(40))
    row_version: Mapped[int | None] = _row_version_column()
    # Migration 0010: the ``SendAt`` of a message handed to Twilio's scheduler (when it arrives;
    # the caps and the messaging limit count it then, not at ``created_at``), else NULL.
    scheduled_for: Mapped[dt.datetime | None]
    # Migration 0011: the channel the message went by (the gateway's: ``whatsapp`` or ``sms``);
    # NULL for messages recorded before it (the store did not say: WhatsApp's messaging limit
    # counts them, to stay on the safe side).
    channel: Mapped[str | None] = mapped_column(sa.String(10))
    # Migration 0016: the send's ``local_time`` ("10:00") when it was scheduled so (a policy set
    # later that forbids the moment moves it to that time of the next allowed day); else NULL.
    local_time: Mapped[str | None] = mapped_column(sa.String(5))


class DeferredSend(Base):
    """A campaign message held back until ``due_at`` (quiet hours, a schedule, a messaging limit):
    the local worker sends it when due (migration 0009). ``claimed_by`` / ``claimed_until``: the
    worker sending it now; a claim whose worker died expires and another worker takes it over.
    ``twilio_sid``: the message was handed to Twilio's scheduler (``ScheduleType=fixed``)."""

    __tablename__ = "deferred_sends"
    __table_args__ = (
        sa.Index("ix_deferred_campaign_lead", "campaign_id", "lead_id", unique=True),
        sa.Index("ix_deferred_due", "due_at"),
        sa.Index("ix_deferred_claimed_by", "claimed_by"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"))
    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign_leads.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("conversation_users.id", ondelete="RESTRICT"))
    due_at: Mapped[dt.datetime]
    reason: Mapped[str] = mapped_column(sa.String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(200))
    claimed_until: Mapped[dt.datetime | None]
    # Migration 0013: the channel the message was planned for (the deferring gateway's); a worker
    # sends only its own channel's. NULL for rows deferred before it (sent on the worker's channel).
    channel: Mapped[str | None] = mapped_column(sa.String(10))
    # Migration 0014: the sender of the deferring send (its Messaging Service SID or From number);
    # a worker sends only its own sender's. NULL for rows deferred before it (any sender sends them).
    sender: Mapped[str | None] = mapped_column(sa.String(100))
    # Migration 0016: the deferring send's ``local_time`` ("10:00"), as ``OutboundMessage.local_time``.
    local_time: Mapped[str | None] = mapped_column(sa.String(5))
    # Migration 0017: the earliest moment it may go by what was asked of it (the send's ``at=``; the
    # old SendAt of a message moved off Twilio's scheduler); NULL: as soon as the policy allows.
    not_before: Mapped[dt.datetime | None]


class InboundMessage(Base):
    """A message from a user to the business; ``kind`` says whether it is a reply or a keyword."""

    __tablename__ = "inbound_messages"
    __table_args__ = (sa.Index("ix_inbound_user_received", "user_id", "received_at"),
                      _row_version_index("inbound_messages"))

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("conversation_users.id", ondelete="RESTRICT"))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    button_payload: Mapped[str | None] = mapped_column(sa.String(200))
    kind: Mapped[InboundKind] = mapped_column(_enum(InboundKind, "inbound_kind"))
    received_at: Mapped[dt.datetime]
    row_version: Mapped[int | None] = _row_version_column()


class Conversion(Base):
    """A business outcome (order, sign-up) for a user; idempotent by ``external_id``."""

    __tablename__ = "conversions"
    __table_args__ = (sa.Index("ix_conversions_user_occurred", "user_id", "occurred_at"),
                      _row_version_index("conversions"))

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(sa.String(200), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("conversation_users.id", ondelete="RESTRICT"))
    occurred_at: Mapped[dt.datetime]
    value: Mapped[float | None]
    row_version: Mapped[int | None] = _row_version_column()


class SyncState(Base):
    """Cursors for resumable jobs (e.g. the last time statuses were pulled from Twilio)."""

    __tablename__ = "sync_state"

    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StoreSetting(Base):
    """A setting of the whole store, shared by every process on it (migration 0015), by ``key``:
    ``delivery_policy`` is the client's delivery policy (``client.delivery_policy``, the policy of
    the campaigns that set none), as ``DeliveryPolicy.model_dump(mode="json")``."""

    __tablename__ = "store_settings"

    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    value: Mapped[dict[str, Any]]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RowDeletion(Base):
    """A row deleted from a tracked table (SQLite triggers write these, migration 0007), so the
    analytics mirror drops it too. ``seq`` only grows."""

    __tablename__ = "row_deletions"
    __table_args__ = (sa.Index("ix_row_deletions_table_row", "table_name", "row_id"),)

    seq: Mapped[int] = mapped_column(primary_key=True)
    table_name: Mapped[str] = mapped_column(sa.String(64))
    row_id: Mapped[int] = mapped_column(sa.BigInteger)


class InboxEvent(Base):
    """A webhook (or a ``record_statuses`` / ``record_replies`` row) as received, kept until
    applied. On a SQLite file store the inbox lives in a database of its own beside the store
    (``<store>.inbox``); elsewhere in this table. ``state``: pending, applied or failed."""

    __tablename__ = "inbox_events"
    __table_args__ = (
        sa.Index("ix_inbox_events_state", "state", "id"),
        sa.Index("ix_inbox_events_sid", "sid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    source: Mapped[str] = mapped_column(sa.String(20))
    dedupe_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    sid: Mapped[str] = mapped_column(sa.String(64))
    payload: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(sa.String(10), default="pending")
    note: Mapped[str | None] = mapped_column(sa.Text)
    attempts: Mapped[int] = mapped_column(default=0)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    applied_at: Mapped[dt.datetime | None]
