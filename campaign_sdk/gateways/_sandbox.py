"""``SandboxGateway``: a deterministic Twilio simulator. Nothing it "sends" reaches anybody."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from campaign_sdk._enums import ApprovalState
from campaign_sdk._enums import MessageStatus as S
from campaign_sdk._exceptions import GatewayError
from campaign_sdk.facts import errors, numbers
from campaign_sdk.facts.errors import Code, ErrorKind
from campaign_sdk.gateways._base import (
    ApprovalResult,
    ContentRequest,
    MessageRecord,
    SendRequest,
    SentMessage,
    strip_channel,
)
from campaign_sdk.gateways._content_rules import approval_problem
from campaign_sdk.gateways._rules import (
    APPROVAL_CATEGORIES,
    APPROVAL_NAME,
    fill,
    main_text,
)

SENDER = numbers.MAGIC_FROM_VALID
REPLIES = ("Thanks!", "Yes please", "When will it arrive?", "Great, thank you", "Can you call me?")
REJECTION_MARKER = "[sandbox:reject]"


@dataclass
class _Content:
    request: ContentRequest
    name: str | None = None
    category: str | None = None
    submitted_at: dt.datetime | None = None
    pending_at: dt.datetime | None = None
    decided_at: dt.datetime | None = None
    outcome: ApprovalResult | None = None
    forced: ApprovalResult | None = None


@dataclass
class _Message:
    sid: str
    to: str
    created: dt.datetime
    body: str | None
    timeline: list[tuple[dt.timedelta, str, int | None]]
    inbound: list[tuple[dt.timedelta, str, str]] = field(default_factory=list)
    conversion: tuple[dt.timedelta, float] | None = None


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
    true lift to find: the arm's conversion rate minus the baseline.
    """

    simulated = True
    channel = "whatsapp"

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
    ) -> None:
        for name, value in [("delivery_rate", delivery_rate), ("read_rate", read_rate),
                            ("reply_rate", reply_rate), ("conversion_rate", conversion_rate),
                            ("opt_out_rate", opt_out_rate), ("baseline_conversion_rate", baseline_conversion_rate),
                            *[(f"rates_by_text[{t!r}][{k!r}]", v) for t, r in (rates_by_text or {}).items()
                              for k, v in r.items()]]:
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be between 0 and 1, not {value!r}")
        self.seed = seed
        self.delivery_rate, self.read_rate, self.reply_rate = delivery_rate, read_rate, reply_rate
        self.conversion_rate, self.opt_out_rate = conversion_rate, opt_out_rate
        self.rates_by_text = {t: dict(r) for t, r in (rates_by_text or {}).items()}
        self.baseline_conversion_rate = baseline_conversion_rate
        default = {Code.INVALID_RECIPIENT: 3.0, Code.MARKETING_EXPERIMENT: 2.0, Code.UNKNOWN_ERROR: 1.0}
        self.failure_codes: dict[int, float] = {int(c): w for c, w in (failure_codes or default).items()}
        self.error_numbers: dict[str, int | str] = {**errors.MAGIC_NUMBERS, **dict(error_numbers or {})}
        wrong = sorted({str(v) for v in self.error_numbers.values() if isinstance(v, str) and v not in set(ErrorKind)})
        if wrong:
            raise ValueError(f"error_numbers values must be error kinds ({', '.join(ErrorKind)}) or Twilio codes; "
                             f"not {', '.join(wrong)}")
        self.rejection_marker = rejection_marker
        self.latency = latency
        self.default_rate = rate
        self._start = (start or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        self._realtime = realtime
        self._origin = time.monotonic()
        self._offset = dt.timedelta()
        self._lock = threading.Lock()
        self._contents: dict[str, _Content] = {}
        self._messages: dict[str, _Message] = {}
        self._by_to: dict[str, list[_Message]] = {}
        self._counts: dict[str, int] = {}

    @property
    def key(self) -> str:
        return f"sandbox:{self.seed}"

    def __repr__(self) -> str:
        return f"<SandboxGateway seed={self.seed} (simulator: nothing is really sent)>"

    # -- simulated time ---------------------------------------------------------------------
    def now(self) -> dt.datetime:
        """The sandbox's clock."""
        elapsed = dt.timedelta(seconds=time.monotonic() - self._origin) if self._realtime else dt.timedelta()
        return self._start + self._offset + elapsed

    def advance(self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> dt.datetime:
        """Move the simulated clock forward; returns the new time."""
        delta = dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if delta < dt.timedelta():
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += delta
        return self.now()

    # -- content and approval ---------------------------------------------------------------
    def create_content(self, request: ContentRequest) -> str:
        from campaign_sdk.gateways._content_rules import content_problem

        if problem := content_problem(request.types, request.language):
            raise _error(ErrorKind.REQUEST, problem)
        with self._lock:
            sid = "HX" + self._hash("content", request.friendly_name, len(self._contents))
            self._contents[sid] = _Content(request)
        return sid

    def submit_approval(self, content_sid: str, *, name: str, category: str) -> ApprovalResult:
        with self._lock:
            content = self._content(content_sid)
            if not APPROVAL_NAME.match(name):
                raise _error(ErrorKind.REQUEST, f"template name {name!r}: use lowercase letters, digits and underscores")
            if category not in APPROVAL_CATEGORIES:
                raise _error(ErrorKind.REQUEST, f"category {category!r} is not one of {', '.join(APPROVAL_CATEGORIES)}")
            if any(c.name == name for c in self._contents.values()):
                raise _error(ErrorKind.REQUEST, f"a template named {name!r} was already submitted; pick another name")
            if problem := approval_problem(content.request.types, content.request.variables, category):
                raise _error(ErrorKind.REQUEST, problem)
            rng = self._rng("approval", content_sid)
            now = self.now()
            content.name, content.category, content.submitted_at = name, category, now
            content.pending_at = now + dt.timedelta(minutes=rng.uniform(1, 5))
            content.decided_at = content.pending_at + dt.timedelta(hours=rng.uniform(2, 30))
            content.outcome = self._decide(content.request)
        return self._approval(content)

    def fetch_approval(self, content_sid: str) -> ApprovalResult:
        with self._lock:
            return self._approval(self._content(content_sid))

    def set_approval(self, content_sid: str, state: ApprovalState | str, *, reason: str | None = None) -> None:
        """Force an approval status from now on (e.g. ``paused`` or ``disabled`` after complaints)."""
        with self._lock:
            content = self._content(content_sid)
            content.forced = ApprovalResult(ApprovalState(state), reason, content.name, content.category)

    def _approval(self, content: _Content) -> ApprovalResult:
        if content.forced is not None:
            return content.forced
        if content.submitted_at is None or content.outcome is None:
            return ApprovalResult(ApprovalState.UNSUBMITTED)
        now = self.now()
        if content.pending_at and now < content.pending_at:
            state = ApprovalState.RECEIVED
        elif content.decided_at and now < content.decided_at:
            state = ApprovalState.PENDING
        else:
            return content.outcome
        return ApprovalResult(state, None, content.name, content.category)

    def _decide(self, request: ContentRequest) -> ApprovalResult:
        from campaign_sdk.schemas import lint_whatsapp, parse_content_context

        texts = [str(v) for payload in request.types.values() for v in _strings(payload)]
        if any(self.rejection_marker in text for text in texts):
            return ApprovalResult(ApprovalState.REJECTED, "sandbox: the template contains the rejection marker")
        try:
            context = parse_content_context(request.content_type, request.types[request.content_type])
            issues = lint_whatsapp(context, samples=dict(request.variables))
        except (ValueError, KeyError) as exc:
            return ApprovalResult(ApprovalState.REJECTED, f"sandbox: invalid content ({exc})")
        errors = [issue for issue in issues if issue.is_error]  # warnings are heuristics: not rejected
        if errors:
            return ApprovalResult(ApprovalState.REJECTED, f"sandbox: {errors[0].message}")
        return ApprovalResult(ApprovalState.APPROVED)

    def _content(self, content_sid: str) -> _Content:
        content = self._contents.get(content_sid)
        if content is None:
            raise _error(
                ErrorKind.REQUEST,
                f"content {content_sid} is unknown to this sandbox (a simulator keeps its state only "
                "while the process runs)", status=404,
            )
        return content

    # -- messages ---------------------------------------------------------------------------
    def send_message(self, request: SendRequest) -> SentMessage:
        if self.latency:
            time.sleep(self.latency)
        to = strip_channel(request.to)
        empty = [k for k, v in request.content_variables.items() if v is None or not str(v).strip()]
        if empty:
            raise _error(ErrorKind.CONTENT, f"empty values for {empty}; every content variable needs a value")
        with self._lock:
            now = self.now()
            refusal = self.error_numbers.get(to)
            if refusal is None and self._opted_out(to, now):
                refusal = ErrorKind.OPTED_OUT
            if refusal is not None:
                raise _refusal(refusal, to)
            count = self._counts.get(f"{to}|{request.content_sid}", 0)
            self._counts[f"{to}|{request.content_sid}"] = count + 1
            rng = self._rng("message", to, request.content_sid, count)
            sid = "SM" + self._hash("message", to, request.content_sid, count)
            content = self._contents.get(request.content_sid)
            body = fill(main_text(content.request.types), request.content_variables) if content else None
            message = self._simulate(_Message(sid, to, now, body, []), rng, self._rates(content))
            self._messages[sid] = message
            self._by_to.setdefault(to, []).append(message)
        return SentMessage(sid=sid, status=S.ACCEPTED, to=to, date_created=now)

    def _rates(self, content: _Content | None) -> dict[str, float]:
        """The true rates of a message of ``content``: the defaults, overridden by the first
        ``rates_by_text`` entry whose text the template contains."""
        rates = {"delivery_rate": self.delivery_rate, "read_rate": self.read_rate, "reply_rate": self.reply_rate,
                 "conversion_rate": self.conversion_rate, "opt_out_rate": self.opt_out_rate}
        texts = [] if content is None else [t for p in content.request.types.values() for t in _strings(p)]
        for marker, override in self.rates_by_text.items():
            if any(marker in text for text in texts):
                return {**rates, **override}
        return rates

    def _simulate(self, message: _Message, rng: random.Random, rates: Mapping[str, float] | None = None) -> _Message:
        r = rates or self._rates(None)
        sent = dt.timedelta(seconds=rng.uniform(1, 3))
        message.timeline = [(dt.timedelta(), S.ACCEPTED, None), (sent, S.SENT, None)]
        if rng.random() >= r["delivery_rate"]:
            codes, weights = zip(*sorted(self.failure_codes.items()), strict=True)
            code = rng.choices(codes, weights)[0]
            status = S.UNDELIVERED if code in errors.CARRIER_CODES else S.FAILED
            message.timeline.append((sent + dt.timedelta(seconds=rng.uniform(1, 8)), status, code))
            return message
        delivered = sent + dt.timedelta(seconds=rng.uniform(1, 5))
        message.timeline.append((delivered, S.DELIVERED, None))
        if rng.random() < r["read_rate"]:
            message.timeline.append((delivered + dt.timedelta(seconds=rng.uniform(30, 7200)), S.READ, None))
        draw = rng.random()
        at = delivered + dt.timedelta(seconds=rng.uniform(60, 6 * 3600))
        sid = "SM" + self._hash("inbound", message.sid)
        if draw < r["opt_out_rate"]:
            message.inbound.append((at, sid, "STOP"))
        elif draw < r["opt_out_rate"] + r["reply_rate"]:
            message.inbound.append((at, sid, rng.choice(REPLIES)))
        if rng.random() < r["conversion_rate"]:
            value = round(rng.uniform(10, 200), 2)
            message.conversion = (delivered + dt.timedelta(seconds=rng.uniform(600, 3 * 86400)), value)
        return message

    def _opted_out(self, to: str, now: dt.datetime) -> bool:
        keywords = sorted(
            (m.created + offset, body.upper())
            for m in self._by_to.get(to, ())
            for offset, _, body in m.inbound
            if m.created + offset <= now and body.upper() in ("STOP", "START")
        )
        return bool(keywords) and keywords[-1][1] == "STOP"

    def receive(self, from_: str, body: str, *, after: str | None = None) -> str:
        """Simulate an inbound message from ``from_`` now (attached to message ``after`` if given,
        else to the latest message to that number); returns its SID."""
        with self._lock:
            phone = strip_channel(from_)
            mine = self._by_to.get(phone, [])
            target = self._messages[after] if after else (mine[-1] if mine else None)
            if target is None:
                raise GatewayError(f"the sandbox sent nothing to {phone}; nothing to reply to", kind="request")
            sid = "SM" + self._hash("received", phone, body, sum(len(m.inbound) for m in mine))
            target.inbound.append((self.now() - target.created, sid, body))
        return sid

    def list_messages(
        self, *, to: str | None = None, since: dt.datetime | None = None, limit: int | None = None
    ) -> Iterator[MessageRecord]:
        wanted = strip_channel(to) if to else None
        with self._lock:
            now = self.now()
            pool = self._by_to.get(wanted, []) if wanted and wanted != SENDER else self._messages.values()
            records = [r for m in pool for r in self._records(m, now)]
        records = [
            r for r in records
            if (wanted is None or r.to == wanted)
            and (since is None or (r.date_sent is not None and r.date_sent >= since))
        ]
        records.sort(key=lambda r: (r.date_created or now, r.sid), reverse=True)
        yield from records[:limit] if limit is not None else records

    def _records(self, message: _Message, now: dt.datetime) -> list[MessageRecord]:
        status, code, updated, sent_at = S.ACCEPTED.value, None, message.created, None
        for offset, step, step_code in message.timeline:
            if message.created + offset > now:
                break
            status, code, updated = step, step_code, message.created + offset
            if step == S.SENT:
                sent_at = updated
        records = [
            MessageRecord(
                sid=message.sid, direction="outbound-api", to=message.to, from_=SENDER, status=status,
                body=message.body, error_code=code, date_created=message.created, date_sent=sent_at,
                date_updated=updated,
            )
        ]
        for offset, sid, body in message.inbound:
            at = message.created + offset
            if at <= now:
                records.append(
                    MessageRecord(
                        sid=sid, direction="inbound", to=SENDER, from_=message.to, status=S.RECEIVED,
                        body=body, date_created=at, date_sent=at, date_updated=at,
                    )
                )
        return records

    def simulated_conversions(self, *, population: Iterable[str] = (), since: dt.datetime | None = None) -> Any:
        """Conversions (orders) the simulated customers made so far, as a DataFrame with the
        columns ``client.record_conversions`` takes (``external_id``, ``phone_number``,
        ``occurred_at``, ``value``).

        ``population`` (phone numbers, e.g. a campaign's leads) adds the people the sandbox did
        not message: each converts with ``baseline_conversion_rate``, 10 minutes to 3 days after
        ``since`` (default: the sandbox's first message), like messaged people do."""
        import pandas as pd

        with self._lock:
            now = self.now()
            rows = [
                {"external_id": f"sandbox-{m.sid}", "phone_number": m.to,
                 "occurred_at": m.created + m.conversion[0], "value": m.conversion[1]}
                for m in self._messages.values()
                if m.conversion is not None and m.created + m.conversion[0] <= now
            ]
            start = since or min((m.created for m in self._messages.values()), default=None)
            for phone in dict.fromkeys(strip_channel(p) for p in population):
                if phone in self._by_to or start is None:
                    continue
                rng = self._rng("organic", phone)
                if rng.random() < self.baseline_conversion_rate:
                    at = start + dt.timedelta(seconds=rng.uniform(600, 3 * 86400))
                    if at <= now:
                        rows.append({"external_id": f"sandbox-organic-{self._hash('organic', phone)[:16]}",
                                     "phone_number": phone, "occurred_at": at,
                                     "value": round(rng.uniform(10, 200), 2)})
        return pd.DataFrame(rows, columns=["external_id", "phone_number", "occurred_at", "value"])

    # -- determinism ------------------------------------------------------------------------
    def _rng(self, *parts: object) -> random.Random:
        return random.Random("|".join(map(str, (self.seed, *parts))))

    def _hash(self, *parts: object) -> str:
        return hashlib.sha256("|".join(map(str, (self.seed, *parts))).encode()).hexdigest()[:32]


def _error(kind: ErrorKind, detail: str, *, status: int | None = None) -> GatewayError:
    """A sandbox failure: its kind, and no Twilio code (the sandbox is not Twilio)."""
    return GatewayError(f"sandbox: {kind}: {detail}", kind=kind, status=status)


def _refusal(refusal: int | str, to: str) -> GatewayError:
    """A send refused for ``to``: ``refusal`` is an error kind, or a Twilio code (shown, and
    mapped to its kind) as Twilio's magic test numbers answer."""
    if isinstance(refusal, str):
        return _error(ErrorKind(refusal), to)
    meaning = errors.meaning(refusal) or f"Twilio error {refusal}"
    kind = errors.kind_of(code=refusal, status=400)
    return GatewayError(f"sandbox: {kind}: {meaning} ({to})", kind=kind, code=refusal)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []

