"""``SandboxGateway``: the simulator (:mod:`campaign_sdk.simulator`) as a gateway, in process.
Nothing it "sends" reaches anybody."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from campaign_sdk._enums import ApprovalState
from campaign_sdk._exceptions import GatewayError
from campaign_sdk.facts import scheduling
from campaign_sdk.gateways._base import (
    ApprovalResult,
    ContentRequest,
    MessageRecord,
    SendRequest,
    SentMessage,
    address,
    strip_channel,
)
from campaign_sdk.gateways._base import messaging_tier as check_tier
from campaign_sdk.simulator import REJECTION_MARKER, SENDER, Approval, Clock, Record, SimError, Simulator, World

# The sandbox's own Messaging Service: it can schedule, as a Twilio sender with one can.
SANDBOX_SERVICE = "MG" + "5a" * 16
__all__ = ["REJECTION_MARKER", "SENDER", "SandboxGateway"]


class SandboxGateway:
    """A simulated Twilio account: the embedded default, so everything works without credentials.

    >>> sandbox = SandboxGateway(seed=7, realtime=False)
    >>> sandbox
    <SandboxGateway seed=7 (simulator: nothing is really sent)>
    >>> sandbox.send_message(SendRequest("+15005550001", "HX" + "0" * 32, {"1": "Ana"}))
    Traceback (most recent call last):
      ...
    campaign_sdk._exceptions.GatewayError: sandbox: invalid_number: Invalid 'To' phone number (+15005550001)

    Outcomes depend only on ``seed`` and the message (recipient, content), never on timing or
    order, so concurrent sends are reproducible. Statuses progress over *simulated* time:
    ``accepted`` -> ``sent`` (1-3 s) -> ``delivered`` or ``failed``/``undelivered`` -> ``read``,
    with replies, STOP keywords (``opt_out_rate``) and conversions (:meth:`simulated_conversions`)
    later. The clock follows real time (``realtime=True``) plus :meth:`advance`.

    Approvals go ``received`` -> ``pending`` (1-5 simulated minutes) -> ``approved`` or
    ``rejected`` (2-30 simulated hours). A template is rejected when WhatsApp's lint finds a
    problem or when it contains ``rejection_marker``. ``failure_codes`` weighs the Twilio error
    codes of messages that are not delivered (as Twilio reports them with the status);
    ``error_numbers`` makes sends to a number fail with an error kind (``"invalid_number"``,
    ``"opted_out"``, ...) or a Twilio code, like Twilio's magic test numbers (+15005550001 ->
    invalid_number, +15005550004 -> opted_out). Errors are raised with their kind directly.

    Experiments: ``rates_by_text`` gives a message whose template contains a text its own true
    rates (``{"free delivery": {"conversion_rate": 0.09}}``: each variant's arm behaves
    differently), and ``baseline_conversion_rate`` is how often people who got no message
    convert anyway (:meth:`simulated_conversions` with ``population=``), so a holdout has a
    true lift to find: the arm's conversion rate minus the baseline. ``messaging_tier`` is the
    simulated sender's WhatsApp messaging limit (people per rolling 24 h) the plan keeps to.

    Scheduling (``SendRequest.send_at``, 15 minutes to 35 days ahead), ``validity_period``,
    :meth:`cancel_message`, the 24 h WhatsApp window and 429s (:meth:`throttle`) behave as the
    local Twilio server's do: both are :class:`campaign_sdk.simulator.Simulator`.
    """

    simulated = True
    channel = "whatsapp"
    sender = SANDBOX_SERVICE  # what sends its messages (a deferred message keeps it: deferred_sends.sender)
    schedule_window: tuple[dt.timedelta, dt.timedelta] | None = (
        scheduling.SEND_AT_MIN_AHEAD, scheduling.SEND_AT_MAX_AHEAD)

    def __init__(
        self,
        seed: int = 0,
        *,
        delivery_rate: float = 0.95,
        read_rate: float = 0.6,
        reply_rate: float = 0.15,
        conversion_rate: float = 0.05,
        opt_out_rate: float = 0.02,
        failure_codes: Mapping[int, float] | None = None,
        error_numbers: Mapping[str, int | str] | None = None,
        rejection_marker: str = REJECTION_MARKER,
        latency: float = 0.0,
        rate: float | None = None,
        start: dt.datetime | None = None,
        realtime: bool = True,
        rates_by_text: Mapping[str, Mapping[str, float]] | None = None,
        baseline_conversion_rate: float = 0.0,
        messaging_tier: int | None = None,
    ) -> None:
        world = World(delivery_rate, read_rate, reply_rate, conversion_rate, opt_out_rate,
                      rejection_marker=rejection_marker, rates_by_text=dict(rates_by_text or {}),
                      baseline_conversion_rate=baseline_conversion_rate,
                      **({"failure_codes": failure_codes} if failure_codes is not None else {}))
        self.simulator = Simulator(seed, world=world, clock=Clock(start, realtime=realtime),
                                   error_numbers=error_numbers, strict_content=False)
        self.seed = seed
        self.latency = latency
        self.default_rate = rate
        self.messaging_tier = check_tier(messaging_tier)

    @property
    def key(self) -> str:
        return f"sandbox:{self.seed}"

    def __repr__(self) -> str:
        return f"<SandboxGateway seed={self.seed} (simulator: nothing is really sent)>"

    # -- simulated time ---------------------------------------------------------------------
    def now(self) -> dt.datetime:
        """The sandbox's clock."""
        return self.simulator.now()

    def advance(self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> dt.datetime:
        """Move the simulated clock forward; returns the new time."""
        try:
            return self.simulator.clock.advance(days=days, hours=hours, minutes=minutes, seconds=seconds)
        except ValueError:
            raise ValueError("the sandbox clock only moves forward") from None

    # -- content and approval ---------------------------------------------------------------
    def create_content(self, request: ContentRequest) -> str:
        content = _call(lambda: self.simulator.create_content(
            request.types, friendly_name=request.friendly_name, variables=request.variables,
            language=request.language, content_type=request.content_type))
        return content.sid

    def submit_approval(self, content_sid: str, *, name: str, category: str) -> ApprovalResult:
        return _approval(_call(lambda: self.simulator.submit_approval(content_sid, name=name, category=category)))

    def fetch_approval(self, content_sid: str) -> ApprovalResult:
        return _approval(_call(lambda: self.simulator.approval(content_sid)))

    def set_approval(self, content_sid: str, state: ApprovalState | str, *, reason: str | None = None) -> None:
        """Force an approval status from now on (e.g. ``paused`` or ``disabled`` after complaints)."""
        _call(lambda: self.simulator.force_approval(content_sid, ApprovalState(state).value, reason=reason))

    # -- messages ---------------------------------------------------------------------------
    def send_message(self, request: SendRequest) -> SentMessage:
        if self.latency:
            time.sleep(self.latency)
        to = strip_channel(request.to)
        record = _call(lambda: self.simulator.send(
            to, channel=self.channel, from_=address(SENDER, self.channel), service=SANDBOX_SERVICE,
            content_sid=request.content_sid, variables=request.content_variables, send_at=request.send_at,
            validity_period=request.validity_period))
        return SentMessage(sid=record.sid, status=record.status, to=to, date_created=record.created)

    def cancel_message(self, sid: str) -> MessageRecord:
        """Cancel a scheduled message (it becomes ``canceled``); a GatewayError if it is not scheduled."""
        return _record(_call(lambda: self.simulator.cancel(sid)))

    def throttle(self, times: int = 1, *, retry_after: float | None = None) -> None:
        """Refuse the next ``times`` sends as rate limited (HTTP 429), asking to wait ``retry_after`` s."""
        self.simulator.throttle(times, retry_after=retry_after)

    def receive(self, from_: str, body: str, *, after: str | None = None) -> str:
        """Simulate an inbound message from ``from_`` now (a reply to message ``after`` if given,
        else to the latest message to that number); returns its SID."""
        phone = strip_channel(from_)
        if after is not None:
            _call(lambda: self.simulator.fetch(after))
        elif not self.simulator.sent_to(phone):
            raise GatewayError(f"the sandbox sent nothing to {phone}; nothing to reply to", kind="request")
        return self.simulator.inbound(address(phone, self.channel), body)

    def list_messages(
        self, *, to: str | None = None, since: dt.datetime | None = None, limit: int | None = None
    ) -> Iterator[MessageRecord]:
        wanted = strip_channel(to) if to else None
        records = [
            r for r in map(_record, self.simulator.records(to=wanted))
            if (wanted is None or r.to == wanted)
            and (since is None or (r.date_sent is not None and r.date_sent >= since))
        ]
        records.sort(key=lambda r: (r.date_created, r.sid), reverse=True)
        yield from records[:limit] if limit is not None else records

    def simulated_conversions(self, *, population: Iterable[str] = (), since: dt.datetime | None = None) -> Any:
        """Conversions (orders) the simulated customers made so far, as a DataFrame with the
        columns ``client.record_conversions`` takes (``external_id``, ``phone_number``,
        ``occurred_at``, ``value``).

        ``population`` (phone numbers, e.g. a campaign's leads) adds the people no message
        reached (never messaged, or refused, failed or undelivered): each converts with
        ``baseline_conversion_rate``, 10 minutes to 3 days after ``since`` (default: the
        sandbox's first message), like messaged people do."""
        import pandas as pd

        rows = self.simulator.conversions(population=population, since=since)
        return pd.DataFrame(rows, columns=["external_id", "phone_number", "occurred_at", "value"])


def _call(fn: Any) -> Any:
    """Run a simulator call; its refusal becomes a GatewayError with its kind (a Twilio code only
    where one was configured: the sandbox is not Twilio)."""
    try:
        return fn()
    except SimError as exc:
        detail = exc.detail
        if exc.status == 404 and detail.startswith("content "):
            detail = (f"{detail.removesuffix(' was not found')} is unknown to this sandbox (a simulator keeps its "
                      "state only while the process runs)")
        raise GatewayError(f"sandbox: {exc.kind}: {detail}", kind=exc.kind, code=exc.code,
                           status=None if exc.status == 400 else exc.status, retry_after=exc.retry_after) from None


def _approval(approval: Approval) -> ApprovalResult:
    return ApprovalResult(ApprovalState(approval.status), approval.reason, approval.name, approval.category)


def _record(r: Record) -> MessageRecord:
    return MessageRecord(
        sid=r.sid, direction=r.direction, to=strip_channel(r.to), from_=strip_channel(r.from_), status=r.status,
        body=r.body, error_code=r.error_code, date_created=r.created, date_sent=r.sent, date_updated=r.updated,
    )
