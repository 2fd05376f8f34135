"""The gateway interface: the few calls the SDK makes to Twilio (or to the sandbox).

A gateway creates Content resources, submits and fetches WhatsApp approvals, sends one message,
and lists messages (for reconciliation after a crash and for ``client.sync()``). Every failure is a
:class:`~campaign_sdk.GatewayError` carrying its ``kind`` (``campaign_sdk.facts.errors.ErrorKind``),
so the sending layer decides what to retry without knowing which gateway it talks to; Twilio's
code and HTTP status ride along for display when there are any.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from campaign_sdk._enums import ApprovalState


def address(phone: str, channel: str) -> str:
    """``+E164`` as Twilio's address for ``channel`` (``whatsapp:+E164`` on WhatsApp)."""
    bare = strip_channel(phone)
    return bare if channel == "sms" else f"{channel}:{bare}"


def messaging_tier(value: int | None) -> int | None:
    """A gateway's ``messaging_tier`` setting, checked: None (no limit) or at least 1 person per 24 h."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"messaging_tier={value!r}: WhatsApp's messaging limit is a number of people "
                         "per rolling 24 h (e.g. 250, 2000, 10000, 100000), or None for unlimited")
    return value


def missing_members(gateway: object) -> list[str]:
    """The members of the :class:`Gateway` protocol that ``gateway`` lacks (none for a gateway)."""
    names = {n for n in dir(Gateway) if not n.startswith("_")} | set(Gateway.__annotations__)
    return sorted(n for n in names if not hasattr(gateway, n))


def strip_channel(value: str | None) -> str:
    """``whatsapp:+14155552671`` -> ``+14155552671`` (unchanged when there is no prefix)."""
    text = value or ""
    return text.split(":", 1)[1] if ":" in text else text


@dataclass(frozen=True)
class ContentRequest:
    """A Content resource to create: ``types`` is keyed by the slash form (``"twilio/text"``),
    ``variables`` holds the numbered sample values (``{"1": "Ana"}``)."""

    friendly_name: str
    content_type: str
    types: Mapping[str, Any]
    variables: Mapping[str, str] = field(default_factory=dict)
    language: str = "en"


@dataclass(frozen=True)
class ApprovalResult:
    """A WhatsApp approval status as Twilio reports it."""

    state: ApprovalState
    reason: str | None = None
    name: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class SendRequest:
    """One message: ``to`` in E.164 (the gateway adds the channel prefix), numbered variables.

    ``send_at`` (aware UTC) asks Twilio to send it then (``ScheduleType=fixed`` + ``SendAt``,
    which needs a Messaging Service; see :attr:`Gateway.schedule_window`); the message is
    ``scheduled`` until then and can be canceled. ``validity_period`` (seconds, Twilio's
    ``ValidityPeriod``): a message still queued that long fails instead of going out late.
    """

    to: str
    content_sid: str
    content_variables: Mapping[str, str]
    send_at: dt.datetime | None = None
    validity_period: int | None = None

    def __post_init__(self) -> None:
        if self.send_at is not None and self.send_at.utcoffset() is None:
            raise ValueError(f"send_at must be an aware datetime (UTC), not {self.send_at!r}")


@dataclass(frozen=True)
class SentMessage:
    """Twilio's answer to a send: the message SID and its initial status."""

    sid: str
    status: str
    to: str
    date_created: dt.datetime | None = None


@dataclass(frozen=True)
class MessageRecord:
    """A message as listed by Twilio (outbound or inbound). Phone numbers are bare E.164."""

    sid: str
    direction: str
    to: str
    from_: str
    status: str
    body: str | None = None
    error_code: int | None = None
    date_created: dt.datetime | None = None
    date_sent: dt.datetime | None = None
    date_updated: dt.datetime | None = None

    @property
    def inbound(self) -> bool:
        return self.direction == "inbound"


@runtime_checkable
class Gateway(Protocol):
    """What the SDK needs from a messaging gateway (see :class:`TwilioGateway`, :class:`SandboxGateway`).

    ``simulated`` is True for a simulator, whose sends reach nobody; reports say so.
    ``default_rate`` is the send rate (messages per second) used when ``send(rate=None)``; None
    means no limit. ``key`` names the account for sync cursors (never a secret).
    ``schedule_window`` is how far ahead ``SendRequest.send_at`` may be (least, most), or None
    when the gateway cannot schedule (Twilio needs a Messaging Service); a send outside it fails
    with kind ``schedule``. ``now()`` is the gateway's clock (a simulator's may run ahead).
    ``messaging_tier`` is the WhatsApp sender's messaging limit (unique people per rolling 24 h;
    ``facts.delivery``) that the delivery plan keeps to, or None for no limit.
    """

    simulated: bool
    default_rate: float | None
    channel: str
    schedule_window: tuple[dt.timedelta, dt.timedelta] | None
    messaging_tier: int | None

    @property
    def key(self) -> str: ...

    def create_content(self, request: ContentRequest) -> str: ...

    def submit_approval(self, content_sid: str, *, name: str, category: str) -> ApprovalResult: ...

    def fetch_approval(self, content_sid: str) -> ApprovalResult: ...

    def now(self) -> dt.datetime: ...

    def send_message(self, request: SendRequest) -> SentMessage: ...

    def cancel_message(self, sid: str) -> MessageRecord: ...

    def list_messages(
        self, *, to: str | None = None, since: dt.datetime | None = None, limit: int | None = None
    ) -> Iterator[MessageRecord]: ...
