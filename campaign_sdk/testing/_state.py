"""The local Twilio's API layer (no sockets here): Twilio's request and answer shapes over the
simulator, request records and injected faults."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import random
import re
import threading
from dataclasses import asdict, dataclass
from typing import Any, Literal
from urllib.parse import urlencode

from campaign_sdk.facts import errors, scheduling
from campaign_sdk.facts.errors import Code, ErrorKind
from campaign_sdk.facts.numbers import MAGIC_FROM_VALID
from campaign_sdk.simulator import Approval, Content, Record, SimError, Simulator
from campaign_sdk.simulator._rules import variable_error

FaultKind = Literal["throttle", "error", "server_error", "slow", "drop", "hang"]
_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(AC\w+)/Messages\.json$")
_MESSAGE = re.compile(r"^/2010-04-01/Accounts/(AC\w+)/Messages/(SM\w+)\.json$")
_CONTENT_APPROVAL = re.compile(r"^/v1/Content/(HX\w+)/ApprovalRequests(/whatsapp)?$")


@dataclass
class Fault:
    """A failure to inject into requests whose path contains ``path`` (and, for sends, whose
    ``To`` is ``to``). ``times`` limits how often it fires (None: always); ``probability`` draws
    from the server's seeded RNG; the first ``skip`` matching requests pass untouched.

    Kinds: ``throttle`` (HTTP 429, Twilio error 20429: not processed), ``error`` (``status`` / ``code``, not
    processed), ``server_error`` (``status`` 5xx), ``slow`` (``delay`` seconds), ``drop`` (the
    connection is closed without an answer), ``hang`` (the answer is held until ``release()``,
    then the connection is dropped). ``processed=True`` makes Twilio do the work before failing:
    the ambiguous case. ``problem=True`` answers with an RFC 9457 body (TwilioServiceException).
    ``retry_after`` (seconds) adds a ``Retry-After`` header to the answer.
    """

    kind: FaultKind
    path: str = "/Messages.json"
    method: str = "POST"
    to: str | None = None
    times: int | None = 1
    skip: int = 0
    processed: bool = False
    status: int = 500
    code: int | None = None
    delay: float = 0.0
    probability: float = 1.0
    problem: bool = False
    retry_after: float | None = None


@dataclass
class RecordedRequest:
    """One request as the server saw it (the Authorization header is never kept)."""

    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    json: Any
    account: str | None
    at: float
    status: int | None = None
    fault: str | None = None

    def field(self, name: str) -> str | None:
        """The first value of form field ``name`` (None when absent)."""
        values = self.form.get(name)
        return values[0] if values else None


@dataclass
class Reply:
    status: int
    body: Any = None
    action: Literal["respond", "drop", "hang"] = "respond"
    retry_after: float | None = None  # sent as a Retry-After header


class FakeTwilio:
    """Twilio's Messages and Content APIs over :class:`campaign_sdk.simulator.Simulator`: this
    layer only parses form fields / JSON, answers in Twilio's JSON shapes, records requests and
    injects HTTP faults. Every rule and every state lives in ``simulator``."""

    def __init__(self, account_sid: str, auth_token: str, *, seed: int = 0, simulator: Simulator | None = None) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.simulator = simulator or Simulator(seed)
        self.lock = threading.Lock()
        self.release_event = threading.Event()
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.hanging = 0
        self.active = 0  # requests being answered now
        self.peak = 0  # most requests answered at once
        self._rng = random.Random(seed)

    @property
    def number_errors(self) -> dict[str, int | str]:
        """Numbers whose sends are refused: a Twilio code or an error kind (the magic numbers too)."""
        return self.simulator.error_numbers

    @property
    def contents(self) -> dict[str, dict[str, Any]]:
        """Every Content resource, as ``GET /v1/Content/{sid}`` would answer."""
        with self.simulator.lock:
            return {sid: self.content_json(c) for sid, c in self.simulator.contents.items()}

    # -- bookkeeping ------------------------------------------------------------------------
    def record(self, request: RecordedRequest) -> None:
        with self.lock:
            self.requests.append(request)
            self.active += 1
            self.peak = max(self.peak, self.active)

    def done(self) -> None:
        with self.lock:
            self.active -= 1

    def take_fault(self, request: RecordedRequest) -> Fault | None:
        to = _bare(request.field("To"))
        with self.lock:
            for fault in self.faults:
                if fault.method != request.method or fault.path not in request.path:
                    continue
                if fault.to is not None and fault.to != to:
                    continue
                if fault.times is not None and fault.times <= 0:
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                if fault.probability < 1 and self._rng.random() >= fault.probability:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                return fault
        return None

    # -- API --------------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict[str, list[str]], request: RecordedRequest) -> Reply:
        if request.account != self.account_sid:
            return error(401, Code.AUTHENTICATION, "Authenticate")
        try:
            return self._route(method, path, query, request)
        except SimError as exc:
            return Reply(exc.status, _error_body(exc.status, exc.wire_code, exc.detail),
                         retry_after=exc.retry_after)

    def _route(self, method: str, path: str, query: dict[str, list[str]], request: RecordedRequest) -> Reply:
        if (m := _MESSAGES.match(path)) and method == "POST":
            return self._guard(m.group(1)) or self.create_message(request)
        if (m := _MESSAGES.match(path)) and method == "GET":
            return self._guard(m.group(1)) or self.list_messages(path, query)
        if (m := _MESSAGE.match(path)) and method == "GET":
            return self._guard(m.group(1)) or Reply(200, self.message_json(self.simulator.fetch(m.group(2))))
        if (m := _MESSAGE.match(path)) and method == "POST":
            return self._guard(m.group(1)) or self.update_message(m.group(2), request)
        if path == "/v1/Content" and method == "POST":
            return self.create_content(request.json)
        if (m := _CONTENT_APPROVAL.match(path)) and method == "POST" and m.group(2):
            return self.create_approval(m.group(1), request.json)
        if (m := _CONTENT_APPROVAL.match(path)) and method == "GET" and not m.group(2):
            return self.fetch_approval(m.group(1))
        return error(404, Code.NOT_FOUND, f"The requested resource {path} was not found")

    def _guard(self, account: str) -> Reply | None:
        return None if account == self.account_sid else error(403, Code.AUTHENTICATION, "Account SID does not match")

    def create_message(self, request: RecordedRequest) -> Reply:
        to, sender, service = request.field("To"), request.field("From"), request.field("MessagingServiceSid")
        content_sid, variables = request.field("ContentSid"), request.field("ContentVariables")
        if not to:
            return error(400, Code.TO_REQUIRED, "A 'To' phone number is required")
        if not sender and not service:
            return error(400, Code.FROM_REQUIRED, "A 'From' phone number or a MessagingServiceSid is required")
        if request.field("Body") is not None and content_sid:
            return error(400, None, "Body must not be sent together with ContentSid (test server rule)")
        if not content_sid and not request.field("Body"):
            return error(400, Code.BODY_REQUIRED, "Message body is required")
        if problem := variable_error(variables):
            return error(400, Code.CONTENT_VARIABLES_INVALID, problem)
        send_at, validity = _schedule(request)
        record = self.simulator.send(
            to, channel=to.split(":", 1)[0] if ":" in to else "sms", from_=sender, service=service,
            content_sid=content_sid, variables=json.loads(variables) if variables else {}, raw_variables=variables,
            body=request.field("Body"), send_at=send_at, validity_period=validity,
        )
        return Reply(201, self.message_json(record))

    def update_message(self, sid: str, request: RecordedRequest) -> Reply:
        status = request.field("Status")
        if status != "canceled":
            return error(400, None, f"Status {status!r}: a Message can only be updated to 'canceled' (test server)")
        return Reply(200, self.message_json(self.simulator.cancel(sid)))

    def list_messages(self, path: str, query: dict[str, list[str]]) -> Reply:
        one = {k: v[0] for k, v in query.items() if v}
        size = min(int(one.get("PageSize", 50)), 1000)
        found = sorted(self.simulator.records(), key=lambda r: r.order, reverse=True)
        found = [r for r in found if _matches(r, one)]
        token = one.get("PageToken", "")
        if token.startswith("PA"):
            after = next((i for i, r in enumerate(found) if r.sid == token[2:]), len(found))
            found = found[after + 1:]
        page, more = found[:size], len(found) > size
        base = {k: v for k, v in one.items() if k not in ("Page", "PageToken")}
        number = int(one.get("Page", 0))
        next_uri = None
        if more:
            next_uri = f"{path}?" + urlencode({**base, "Page": number + 1, "PageToken": f"PA{page[-1].sid}"})
        body = {
            "messages": [self.message_json(r) for r in page],
            "end": number * size + len(page) - 1, "first_page_uri": f"{path}?" + urlencode({**base, "Page": 0}),
            "next_page_uri": next_uri, "page": number, "page_size": size, "previous_page_uri": None,
            "start": number * size, "uri": f"{path}?" + urlencode(one),
        }
        return Reply(200, body)

    def create_content(self, payload: Any) -> Reply:
        if not isinstance(payload, dict):
            return error(400, None, "the Content API takes a JSON body")
        types = {k: _drop_nulls(v) for k, v in (payload.get("types") or {}).items() if v is not None}
        content = self.simulator.create_content(
            types, friendly_name=payload.get("friendly_name"), variables=payload.get("variables") or {},
            language=payload.get("language"),
        )
        return Reply(201, self.content_json(content))

    def create_approval(self, sid: str, payload: Any) -> Reply:
        payload = payload if isinstance(payload, dict) else {}
        name, category = str(payload.get("name") or ""), str(payload.get("category") or "")
        return Reply(201, self.approval_json(self.simulator.submit_approval(sid, name=name, category=category), sid))

    def fetch_approval(self, sid: str) -> Reply:
        approval = self.simulator.approval(sid)
        whatsapp = {} if approval.status == "unsubmitted" else {**self.approval_json(approval, sid), "type": "whatsapp"}
        body = {"sid": sid, "account_sid": self.account_sid, "whatsapp": whatsapp,
                "url": f"https://content.twilio.com/v1/Content/{sid}/ApprovalRequests"}
        return Reply(200, body)

    # -- controls used by tests -------------------------------------------------------------
    def inbound(self, from_: str, body: str, *, to: str = f"whatsapp:{MAGIC_FROM_VALID}") -> str:
        return self.simulator.inbound(from_, body, to=to)

    # -- Twilio's JSON shapes ---------------------------------------------------------------
    def message_json(self, r: Record) -> dict[str, Any]:
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{r.sid}.json"
        return {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": r.body,
            "date_created": _rfc2822(r.created), "date_sent": _rfc2822(_date_sent(r)),
            "date_updated": _rfc2822(r.updated), "direction": r.direction, "error_code": r.error_code,
            "error_message": errors.meaning(r.error_code) or None, "from": r.from_,
            "messaging_service_sid": r.messaging_service_sid, "num_media": "0", "num_segments": "1",
            "price": None, "price_unit": "USD", "sid": r.sid, "status": r.status,
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")}, "to": r.to, "uri": uri,
        }

    def content_json(self, c: Content) -> dict[str, Any]:
        sid, at = c.sid, _iso(c.created)
        return {
            "sid": sid, "account_sid": self.account_sid, "friendly_name": c.friendly_name,
            "language": c.language, "variables": c.variables, "types": c.types,
            "url": f"https://content.twilio.com/v1/Content/{sid}", "date_created": at, "date_updated": at,
            "links": {"approval_create": f"https://content.twilio.com/v1/Content/{sid}/ApprovalRequests/whatsapp",
                      "approval_fetch": f"https://content.twilio.com/v1/Content/{sid}/ApprovalRequests"},
        }

    def approval_json(self, a: Approval, sid: str) -> dict[str, Any]:
        kind = a.content_type or self.simulator.contents[sid].content_type
        return {"name": a.name, "category": a.category, "content_type": kind, "status": a.status,
                "rejection_reason": a.reason or "", "allow_category_change": True}

    def snapshot(self) -> dict[str, Any]:
        records = sorted(self.simulator.records(), key=lambda r: r.order)
        with self.lock:
            return {
                "requests": [asdict(r) for r in self.requests],
                "messages": [self.message_json(r) | {"content_sid": r.content_sid,
                                                     "content_variables": r.content_variables} for r in records],
                "hanging": self.hanging,
                "peak": self.peak,
            }


def error(status: int, code: int | None, message: str, *, problem: bool = False,
          retry_after: float | None = None) -> Reply:
    """An error answer, in Twilio's legacy shape or as RFC 9457 problem details."""
    return Reply(status, _error_body(status, code, message, problem=problem), retry_after=retry_after)


def _error_body(status: int, code: int | None, message: str, *, problem: bool = False) -> dict[str, Any]:
    more = errors.ERROR_PAGE.format(code=int(code)) if code else "https://www.twilio.com/docs/api/errors"
    if problem:
        return {"type": more, "title": message, "status": status, "code": int(code or status),
                "detail": message, "instance": None}
    return {"code": None if code is None else int(code), "message": message, "more_info": more, "status": status}


def _schedule(request: RecordedRequest) -> tuple[dt.datetime | None, int | None]:
    """SendAt (when ScheduleType is fixed) and ValidityPeriod from a create-message form."""
    kind, at, validity = request.field("ScheduleType"), request.field("SendAt"), request.field("ValidityPeriod")
    send_at = None
    if kind is not None or at is not None:
        if kind != scheduling.SCHEDULE_TYPE:
            raise SimError(ErrorKind.REQUEST, f"ScheduleType {kind!r} is not supported: only "
                           f"{scheduling.SCHEDULE_TYPE!r}", wire_code=Code.SCHEDULE_TYPE_UNSUPPORTED)
        if not at:
            raise SimError(ErrorKind.REQUEST, "SendAt is required when ScheduleType is 'fixed'",
                           wire_code=Code.SEND_AT_MISSING)
        try:
            send_at = _parse_date(at)
        except ValueError:
            raise SimError(ErrorKind.SCHEDULE, f"SendAt {at!r} is not an ISO 8601 UTC time",
                           wire_code=Code.SEND_AT_UNSUPPORTED) from None
    try:
        period = int(validity) if validity is not None else None
    except ValueError:
        raise SimError(ErrorKind.REQUEST, f"ValidityPeriod {validity!r} is not a number of seconds",
                       wire_code=Code.VALIDITY_PERIOD_INVALID) from None
    return send_at, period


def _date_sent(r: Record) -> dt.datetime:
    # Twilio's DateSent; a message not yet sent shows its creation time (as this server always did).
    return r.sent or r.created


def _matches(r: Record, one: dict[str, str]) -> bool:
    if "To" in one and _bare(r.to) != _bare(one["To"]):
        return False
    if "From" in one and _bare(r.from_) != _bare(one["From"]):
        return False
    for key, test in (("DateSent>", lambda a, b: a >= b), ("DateSent<", lambda a, b: a <= b),
                      ("DateSent", lambda a, b: a.date() == b.date())):
        if key in one and not test(_date_sent(r), _parse_date(one[key])):
            return False
    return True


def _parse_date(value: str) -> dt.datetime:
    text = value.replace("Z", "+00:00")
    parsed = dt.datetime.fromisoformat(text) if "T" in text else dt.datetime.fromisoformat(text + "T00:00:00+00:00")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _bare(value: str | None) -> str:
    text = value or ""
    return text.split(":", 1)[1] if ":" in text else text


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _rfc2822(value: dt.datetime) -> str:
    return email.utils.format_datetime(value.astimezone(dt.UTC)).replace("-0000", "+0000")


def _iso(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")

