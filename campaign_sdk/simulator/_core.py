"""``Simulator``: one simulated Twilio account (Messages + Content + WhatsApp approvals), no I/O.

``SandboxGateway`` calls it in process; ``campaign_sdk.testing.TwilioTestServer`` serves it over
HTTP. Both faces translate its answers (records, :class:`SimError`) into their own shapes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from campaign_sdk._enums import MessageStatus as S
from campaign_sdk.facts import content as content_facts
from campaign_sdk.facts import errors, scheduling, statuses
from campaign_sdk.facts.errors import Code, ErrorKind
from campaign_sdk.facts.numbers import E164, MAGIC_FROM_VALID
from campaign_sdk.simulator._clock import Clock
from campaign_sdk.simulator._rules import (
    APPROVAL_CATEGORIES,
    APPROVAL_NAME,
    approval_problem,
    content_problem,
    fill,
    main_text,
)
from campaign_sdk.simulator._world import Step, World

SENDER = MAGIC_FROM_VALID
# WhatsApp's customer-service window: free-form messages only within 24 h of the user's last
# message (https://www.twilio.com/docs/api/errors/63016).
SERVICE_WINDOW = dt.timedelta(hours=24)
# How long after it is accepted a message refused by a rule (63016) is reported failed.
RULE_FAILURE_AFTER = dt.timedelta(seconds=1)
_REFUSED_APPROVALS = frozenset({"rejected", "paused", "disabled"})


class SimError(Exception):
    """A request the simulated Twilio refuses. ``kind`` is what went wrong; ``status`` the HTTP
    status; ``wire_code`` the error code Twilio's API answers; ``code`` the code the account was
    *configured* to answer (magic and rejected numbers) or None: the sandbox shows only that one,
    since it is not Twilio. ``retry_after``: seconds a throttled caller should wait."""

    def __init__(
        self, kind: ErrorKind, detail: str, *, status: int = 400, code: int | None = None,
        wire_code: int | None = None, retry_after: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.kind, self.detail, self.status, self.code = kind, detail, status, code
        self.wire_code = wire_code if wire_code is not None else code
        self.retry_after = retry_after


@dataclass(frozen=True)
class Record:
    """A message as the account lists it at one moment (addresses as Twilio shows them)."""

    sid: str
    direction: str
    to: str
    from_: str | None
    status: str
    body: str | None
    error_code: int | None
    created: dt.datetime
    sent: dt.datetime | None
    updated: dt.datetime
    order: tuple[dt.datetime, int, int]
    messaging_service_sid: str | None = None
    content_sid: str | None = None
    content_variables: str | None = None

    @property
    def inbound(self) -> bool:
        return self.direction == "inbound"


@dataclass(frozen=True)
class Approval:
    """A WhatsApp approval request as the account reports it (``status`` verbatim)."""

    status: str
    reason: str | None = None
    name: str | None = None
    category: str | None = None
    content_type: str | None = None


@dataclass
class Content:
    sid: str
    friendly_name: str | None
    content_type: str
    types: dict[str, Any]
    variables: dict[str, str]
    language: str
    created: dt.datetime
    name: str | None = None
    category: str | None = None
    submitted_at: dt.datetime | None = None
    pending_at: dt.datetime | None = None
    decided_at: dt.datetime | None = None
    verdict: tuple[str, str | None] | None = None
    forced: Approval | None = None


@dataclass
class _Message:
    seq: int
    sid: str
    phone: str  # the person: the recipient of an outbound message, the sender of an inbound one
    channel: str
    direction: str
    to: str
    from_: str | None
    body: str | None
    created: dt.datetime
    timeline: list[Step]
    service: str | None = None
    content_sid: str | None = None
    content_variables: str | None = None
    replies: list[tuple[dt.timedelta, str, str]] = field(default_factory=list)
    conversion: tuple[dt.timedelta, float] | None = None


class Simulator:
    """A simulated Twilio account.

    ``world`` (a :class:`World`) makes the account *live*: statuses progress over the clock by
    seeded draws, people reply, send STOP and convert, and WhatsApp reviews templates. Without
    it the account is *scripted*: a message stays in its first status and an approval in
    ``received`` until :meth:`set_status` / :meth:`force_approval` move them (rules still apply:
    SendAt, ValidityPeriod, the 24 h window). ``strict_content``: a ContentSid the account does
    not hold is refused (Twilio's 21655); off, it is sent without a body (a sandbox restarted in
    a new process has forgotten its contents). ``strict_templates``: a WhatsApp content counts
    as a template only once approved (on Twilio, always); off, only a refused approval
    (rejected, paused, disabled) or an in-session-only type makes it free-form.
    """

    def __init__(
        self, seed: int = 0, *, world: World | None = None, clock: Clock | None = None,
        error_numbers: Mapping[str, int | str] | None = None, strict_content: bool = True,
        strict_templates: bool = False, api_rate: float | None = None,
    ) -> None:
        self.seed = seed
        self.world = world
        self.clock = clock or Clock()
        self.error_numbers: dict[str, int | str] = {**errors.MAGIC_NUMBERS, **dict(error_numbers or {})}
        wrong = sorted({str(v) for v in self.error_numbers.values() if isinstance(v, str) and v not in set(ErrorKind)})
        if wrong:
            raise ValueError(f"error_numbers values must be error kinds ({', '.join(ErrorKind)}) or Twilio codes; "
                             f"not {', '.join(wrong)}")
        self.strict_content, self.strict_templates = strict_content, strict_templates
        self.api_rate = api_rate
        self.lock = threading.RLock()
        self.contents: dict[str, Content] = {}
        self._messages: dict[str, _Message] = {}
        self._to: dict[str, list[_Message]] = {}  # outbound, by recipient
        self._from: dict[str, list[_Message]] = {}  # inbound (told), by sender
        self._counts: dict[str, int] = {}
        self._seq = 0
        self._throttles: list[float | None] = []
        self._bucket = (max(float(api_rate or 0), 1.0), time.monotonic())

    def now(self) -> dt.datetime:
        return self.clock.now()

    # -- content and approval ---------------------------------------------------------------
    def create_content(
        self, types: Mapping[str, Any], *, friendly_name: str | None = None, variables: Mapping[str, str] | None = None,
        language: str | None = "en", content_type: str | None = None,
    ) -> Content:
        if not types:
            raise SimError(ErrorKind.REQUEST, "types must hold at least one content type")
        if problem := content_problem(types, language):
            raise SimError(ErrorKind.REQUEST, problem)
        with self.lock:
            sid = "HX" + self._hash("content", friendly_name, len(self.contents))
            content = Content(sid, friendly_name, content_type or next(iter(types)), dict(types),
                              dict(variables or {}), str(language), self.now())
            self.contents[sid] = content
        return content

    def content(self, sid: str) -> Content:
        found = self.contents.get(sid)
        if found is None:
            raise SimError(ErrorKind.REQUEST, f"content {sid} was not found", status=404, wire_code=Code.NOT_FOUND)
        return found

    def submit_approval(self, sid: str, *, name: str, category: str) -> Approval:
        with self.lock:
            content = self.content(sid)
            if not APPROVAL_NAME.match(name):
                raise SimError(ErrorKind.REQUEST, f"template name {name!r}: use lowercase letters, digits and underscores")
            if category not in APPROVAL_CATEGORIES:
                raise SimError(ErrorKind.REQUEST, f"category {category!r} is not one of {', '.join(APPROVAL_CATEGORIES)}")
            if any(c.name == name for c in self.contents.values()):
                raise SimError(ErrorKind.REQUEST, f"a template named {name!r} was already submitted; pick another name")
            if problem := approval_problem(content.types, content.variables, category):
                raise SimError(ErrorKind.REQUEST, problem)
            now = self.now()
            content.name, content.category, content.submitted_at = name, category, now
            if self.world is not None:
                rng = self._rng("approval", sid)
                content.pending_at = now + dt.timedelta(minutes=rng.uniform(1, 5))
                content.decided_at = content.pending_at + dt.timedelta(hours=rng.uniform(2, 30))
                content.verdict = self.world.review(content.content_type, content.types, content.variables)
            return self._approval(content)

    def approval(self, sid: str) -> Approval:
        with self.lock:
            return self._approval(self.content(sid))

    def force_approval(self, sid: str, status: str, *, reason: str | None = None) -> None:
        """Set a content's approval status from now on, as WhatsApp's review (or a complaint) would."""
        with self.lock:
            content = self.content(sid)
            content.forced = Approval(status, reason or None, content.name, content.category, content.content_type)

    def _approval(self, content: Content) -> Approval:
        if content.forced is not None:
            return content.forced
        if content.submitted_at is None:
            return Approval("unsubmitted")
        now, status, reason = self.now(), "received", None
        if content.verdict is not None and content.pending_at and now >= content.pending_at:
            if content.decided_at and now >= content.decided_at:
                return Approval(*content.verdict)  # the review's verdict names no template
            status = "pending"
        return Approval(status, reason, content.name, content.category, content.content_type)

    # -- messages ---------------------------------------------------------------------------
    def throttle(self, times: int = 1, *, retry_after: float | None = None) -> None:
        """Refuse the next ``times`` sends with HTTP 429 (Twilio's 20429), asking to wait ``retry_after`` s."""
        with self.lock:
            self._throttles.extend([retry_after] * times)

    def limit_rate(self, per_second: float | None) -> None:
        """Answer 429 (with Retry-After: until the next free slot) beyond ``per_second`` sends
        (a token bucket holding one second's worth, at least one); None: no limit."""
        with self.lock:
            self.api_rate = per_second
            self._bucket = (max(float(per_second or 0), 1.0), time.monotonic())

    def send(
        self, to: str, *, channel: str, from_: str | None = None, service: str | None = None,
        content_sid: str | None = None, variables: Mapping[str, Any] | None = None, raw_variables: str | None = None,
        body: str | None = None, send_at: dt.datetime | None = None, validity_period: int | None = None,
    ) -> Record:
        """Create an outbound message to ``to`` (bare E.164 or ``channel:+E164``)."""
        phone = _bare(to)
        values = dict(variables or {})
        with self.lock:
            self._admit()
            content = self.contents.get(content_sid or "")
            if content_sid and content is None and self.strict_content:
                raise SimError(ErrorKind.REQUEST, f"The ContentSid {content_sid} is invalid",
                               wire_code=Code.CONTENT_SID_INVALID)
            empty = [k for k, v in values.items() if v is None or not str(v).strip()]
            if empty:
                raise SimError(ErrorKind.CONTENT, f"empty values for {empty}; every content variable needs a value",
                               wire_code=Code.CONTENT_VARIABLES_INVALID)
            if not E164.match(phone):
                raise SimError(ErrorKind.INVALID_NUMBER, f"The 'To' number {to} is not a valid phone number",
                               wire_code=Code.INVALID_TO)
            now = self.now()
            self._refuse(phone, now)
            if validity_period is not None and not (
                scheduling.VALIDITY_PERIOD_MIN <= validity_period <= scheduling.VALIDITY_PERIOD_MAX
            ):
                raise SimError(ErrorKind.REQUEST, f"ValidityPeriod {validity_period} is not a whole number of seconds "
                               f"from {scheduling.VALIDITY_PERIOD_MIN} to {scheduling.VALIDITY_PERIOD_MAX}",
                               wire_code=Code.VALIDITY_PERIOD_INVALID)
            if send_at is not None and service is None:
                send_at = None  # Twilio drops scheduling without a Messaging Service and sends now
            if send_at is not None:
                _check_window(send_at, now)
            key = f"{phone}|{content_sid}"
            count = self._counts.get(key, 0)
            self._counts[key] = count + 1
            sid = "SM" + self._hash("message", phone, content_sid, count)
            text = fill(main_text(content.types), values) if content else body
            first = S.ACCEPTED if service else S.QUEUED
            # a Messaging Service picks its sender: the account's one number
            sender = from_ or _address(SENDER, channel)
            message = _Message(self._next(), sid, phone, channel, "outbound-api", _address(phone, channel), sender,
                               text, now, [], service, content_sid, raw_variables)
            queued = (send_at - now) if send_at is not None else dt.timedelta()
            if self._free_form_outside_window(channel, content, body, phone, now):
                message.timeline = [(queued, first, None), (queued + RULE_FAILURE_AFTER, S.FAILED, Code.OUTSIDE_WINDOW)]
            elif self.world is not None:
                fate = self.world.fate(self._rng("message", phone, content_sid, count),
                                       self.world.rates(content.types if content else None),
                                       "SM" + self._hash("inbound", sid))
                message.timeline = [(queued + at, status, code) for at, status, code in fate.timeline]
                message.replies = [(queued + at, rsid, text) for at, rsid, text in fate.replies]
                message.conversion = (queued + fate.conversion[0], fate.conversion[1]) if fate.conversion else None
            else:
                message.timeline = [(queued, S.QUEUED if send_at is not None else first, None)]
            if validity_period is not None:
                _expire(message, queued, dt.timedelta(seconds=validity_period))
            if send_at is not None:
                message.timeline.insert(0, (dt.timedelta(), S.SCHEDULED, None))
            self._messages[sid] = message
            self._to.setdefault(phone, []).append(message)
            return self._records(message, now)[0]

    def _admit(self) -> None:
        if self._throttles:
            wait = self._throttles.pop(0)
            raise SimError(ErrorKind.RATE_LIMITED, "Too many requests", status=429, wire_code=Code.TOO_MANY_REQUESTS,
                           retry_after=wait)
        if self.api_rate:
            tokens, then = self._bucket
            now = time.monotonic()
            tokens = min(max(self.api_rate, 1.0), tokens + (now - then) * self.api_rate)
            if tokens < 1:
                self._bucket = (tokens, now)
                raise SimError(ErrorKind.RATE_LIMITED, f"Too many requests: at most {self.api_rate:g} per second",
                               status=429, wire_code=Code.TOO_MANY_REQUESTS,
                               retry_after=round((1 - tokens) / self.api_rate, 3))
            self._bucket = (tokens - 1, now)

    def _refuse(self, phone: str, now: dt.datetime) -> None:
        refusal = self.error_numbers.get(phone)
        if refusal is None and self._opted_out(phone, now):
            raise SimError(ErrorKind.OPTED_OUT, f"{phone} replied STOP", wire_code=Code.OPTED_OUT)
        if isinstance(refusal, str):
            kind = ErrorKind(refusal)
            raise SimError(kind, phone, wire_code=min(errors.codes_of(kind), default=None))
        if refusal is not None:
            meaning = errors.meaning(refusal) or f"Twilio error {refusal}"
            raise SimError(errors.kind_of(code=refusal, status=400), f"{meaning} ({phone})", code=refusal)

    def _free_form_outside_window(
        self, channel: str, content: Content | None, body: str | None, phone: str, now: dt.datetime
    ) -> bool:
        if channel != "whatsapp":
            return False
        if content is None:
            free = body is not None
        elif set(content.types) & content_facts.IN_SESSION_ONLY:
            free = True
        else:
            status = self._approval(content).status
            free = status in _REFUSED_APPROVALS or (self.strict_templates and status != "approved")
        if not free:
            return False
        last = max((at for at, text in self._inbound_from(phone, now)), default=None)
        return last is None or now - last > SERVICE_WINDOW

    def _inbound_from(self, phone: str, now: dt.datetime) -> list[tuple[dt.datetime, str]]:
        told = [(m.created, m.body or "") for m in self._from.get(phone, ())]
        drawn = [(m.created + at, text) for m in self._to.get(phone, ()) for at, _, text in m.replies
                 if m.created + at <= now]
        return told + drawn

    def _opted_out(self, phone: str, now: dt.datetime) -> bool:
        # a stable sort by time: messages told at the same instant keep the order they came in
        keywords = sorted(((at, text.upper()) for at, text in self._inbound_from(phone, now)
                           if text.upper() in ("STOP", "START")), key=lambda keyword: keyword[0])
        return bool(keywords) and keywords[-1][1] == "STOP"

    def cancel(self, sid: str) -> Record:
        """Cancel a scheduled message (Twilio: update it with ``Status=canceled``)."""
        with self.lock:
            message = self._message(sid)
            now = self.now()
            current = self._records(message, now)[0]
            if current.status != S.SCHEDULED:
                raise SimError(ErrorKind.REQUEST, f"message {sid} is {current.status}, not scheduled: it cannot be "
                               "canceled", wire_code=Code.CANNOT_CANCEL)
            message.replies, message.conversion = [], None
            self._move(message, now, S.CANCELED, None)
            return self._records(message, now)[0]

    def set_status(self, sid: str, status: str, *, error_code: int | None = None) -> None:
        """Move a message to ``status`` now (its simulated future is dropped)."""
        with self.lock:
            message = self._message(sid)
            self._move(message, self.now(), status, error_code)

    def _move(self, message: _Message, now: dt.datetime, status: str, code: int | None) -> None:
        offset = now - message.created
        message.timeline = [step for step in message.timeline if step[0] <= offset] + [(offset, status, code)]

    def inbound(self, from_: str, body: str, *, to: str | None = None) -> str:
        """A message from ``from_`` (``channel:+E164`` or bare) to the account now; returns its SID."""
        phone = _bare(from_)
        channel = from_.split(":", 1)[0] if ":" in from_ else "sms"
        with self.lock:
            mine = self._from.setdefault(phone, [])
            sid = "SM" + self._hash("received", phone, body, len(mine))
            now = self.now()
            message = _Message(self._next(), sid, phone, channel, "inbound", to or _address(SENDER, channel), from_,
                               body, now, [(dt.timedelta(), S.RECEIVED, None)])
            mine.append(message)
            self._messages[sid] = message
        return sid

    def fetch(self, sid: str) -> Record:
        with self.lock:
            return self._records(self._message(sid), self.now())[0]

    def sent_to(self, phone: str) -> bool:
        with self.lock:
            return bool(self._to.get(_bare(phone)))

    def records(self, *, to: str | None = None) -> list[Record]:
        """Every message listed now (outbound, told inbound, and drawn replies that happened);
        ``to`` (bare E.164): only the outbound messages to that number."""
        with self.lock:
            now = self.now()
            if to is not None and to != SENDER:
                return [self._records(m, now)[0] for m in self._to.get(to, ())]
            return [r for m in self._messages.values() for r in self._records(m, now)]

    def _message(self, sid: str) -> _Message:
        message = self._messages.get(sid)
        if message is None:
            raise SimError(ErrorKind.REQUEST, f"The requested resource Message {sid} was not found", status=404,
                           wire_code=Code.NOT_FOUND)
        return message

    def _records(self, m: _Message, now: dt.datetime) -> list[Record]:
        status, code, updated, sent = m.timeline[0][1], m.timeline[0][2], m.created, None
        for offset, step, step_code in m.timeline:
            if m.created + offset > now:
                break
            status, code, updated = step, step_code, m.created + offset
            if step == S.SENT:
                sent = updated
        first = Record(m.sid, m.direction, m.to, m.from_, str(status), m.body, code, m.created, sent, updated,
                       (m.created, m.seq, 0), m.service, m.content_sid, m.content_variables)
        records = [first]
        for i, (offset, sid, body) in enumerate(m.replies, 1):
            at = m.created + offset
            if at <= now:
                records.append(Record(sid, "inbound", m.from_ or _address(SENDER, m.channel), m.to, str(S.RECEIVED), body,
                                      None, at, at, at, (at, m.seq, i)))
        return records

    # -- conversions ------------------------------------------------------------------------
    def conversions(self, *, population: Iterable[str] = (), since: dt.datetime | None = None) -> list[dict[str, Any]]:
        """Conversions so far: of people a message reached (drawn with that delivered message)
        and, for the rest of ``population`` (never messaged, or whose messages were refused,
        failed or undelivered: nothing reached them), at the world's baseline rate from ``since``
        (default: the first message)."""
        if self.world is None:
            return []
        with self.lock:
            now = self.now()
            sent = [m for m in self._messages.values() if m.direction != "inbound"]
            rows = [
                {"external_id": f"sandbox-{m.sid}", "phone_number": m.phone,
                 "occurred_at": m.created + m.conversion[0], "value": m.conversion[1]}
                for m in sent if m.conversion is not None and m.created + m.conversion[0] <= now
            ]
            start = since or min((m.created for m in sent), default=None)
            reached = {m.phone for m in sent if any(step in statuses.DELIVERED for _, step, _ in m.timeline)}
            for phone in dict.fromkeys(_bare(p) for p in population):
                if phone in reached or start is None:
                    continue
                drawn = self.world.organic(self._rng("organic", phone), start)
                if drawn is not None and drawn[0] <= now:
                    rows.append({"external_id": f"sandbox-organic-{self._hash('organic', phone)[:16]}",
                                 "phone_number": phone, "occurred_at": drawn[0], "value": drawn[1]})
        return rows

    # -- determinism ------------------------------------------------------------------------
    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def _rng(self, *parts: object) -> random.Random:
        return random.Random("|".join(map(str, (self.seed, *parts))))

    def _hash(self, *parts: object) -> str:
        return hashlib.sha256("|".join(map(str, (self.seed, *parts))).encode()).hexdigest()[:32]


def _check_window(send_at: dt.datetime, now: dt.datetime) -> None:
    ahead = send_at - now
    if not scheduling.SEND_AT_MIN_AHEAD <= ahead <= scheduling.SEND_AT_MAX_AHEAD:
        raise SimError(ErrorKind.SCHEDULE, f"SendAt {send_at.isoformat()} is {ahead} ahead; it must be "
                       f"{scheduling.SEND_AT_MIN_AHEAD} to {scheduling.SEND_AT_MAX_AHEAD} ahead",
                       wire_code=Code.SEND_AT_UNSUPPORTED)


def _expire(message: _Message, queued: dt.timedelta, validity: dt.timedelta) -> None:
    """A message still waiting in the queue (not yet sent) past its validity fails with 30036."""
    deadline = queued + validity
    leaves = next((at for at, status, _ in message.timeline if status not in (S.ACCEPTED, S.QUEUED)), None)
    if leaves is None or leaves > deadline:
        message.timeline = [s for s in message.timeline if s[0] <= deadline] + [
            (deadline, S.FAILED, Code.VALIDITY_EXPIRED)]
        message.replies, message.conversion = [], None


def _bare(value: str | None) -> str:
    text = value or ""
    return text.split(":", 1)[1] if ":" in text else text


def _address(phone: str, channel: str) -> str:
    return phone if channel == "sms" else f"{channel}:{phone}"


def parse_variables(raw: str | None) -> dict[str, Any]:
    """ContentVariables (a JSON object string) as a dict ({} when absent)."""
    return dict(json.loads(raw)) if raw else {}
