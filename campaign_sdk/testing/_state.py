"""The local Twilio's state and API logic (no HTTP here): messages, contents, approvals, faults."""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import random
import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

from campaign_sdk.facts import errors
from campaign_sdk.facts.errors import Code
from campaign_sdk.facts.numbers import E164, MAGIC_FROM_VALID
from campaign_sdk.gateways._content_rules import approval_problem, content_problem
from campaign_sdk.gateways._rules import (
    APPROVAL_CATEGORIES,
    APPROVAL_NAME,
    fill,
    main_text,
    variable_error,
)

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


@dataclass
class _Message:
    seq: int
    sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str | None
    status: str
    direction: str
    created: dt.datetime
    content_sid: str | None = None
    content_variables: str | None = None
    error_code: int | None = None
    updated: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


class FakeTwilio:
    """Twilio's Messages and Content APIs, in memory, with fault injection."""

    def __init__(self, account_sid: str, auth_token: str, *, seed: int = 0) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.lock = threading.Lock()
        self.release_event = threading.Event()
        self.requests: list[RecordedRequest] = []
        self.messages: dict[str, _Message] = {}
        self.contents: dict[str, dict[str, Any]] = {}
        self.approvals: dict[str, dict[str, Any]] = {}
        self.faults: list[Fault] = []
        self.number_errors: dict[str, int] = dict(errors.MAGIC_NUMBERS)
        self.hanging = 0
        self.active = 0  # requests being answered now
        self.peak = 0  # most requests answered at once
        self._seq = 0
        self._rng = random.Random(seed)

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

    def _next(self, prefix: str) -> tuple[int, str]:
        self._seq += 1
        digest = hashlib.sha256(f"{self.account_sid}|{prefix}|{self._seq}".encode()).hexdigest()[:32]
        return self._seq, prefix + digest

    # -- API --------------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict[str, list[str]], request: RecordedRequest) -> Reply:
        if request.account != self.account_sid:
            return error(401, Code.AUTHENTICATION, "Authenticate")
        if (m := _MESSAGES.match(path)) and method == "POST":
            return self._guard(m.group(1)) or self.create_message(request)
        if (m := _MESSAGES.match(path)) and method == "GET":
            return self._guard(m.group(1)) or self.list_messages(path, query)
        if (m := _MESSAGE.match(path)) and method == "GET":
            return self._guard(m.group(1)) or self.fetch_message(m.group(2))
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
        with self.lock:
            content = self.contents.get(content_sid or "")
            if content_sid and content is None:
                return error(400, Code.CONTENT_SID_INVALID, f"The ContentSid {content_sid} is invalid")
            if problem := variable_error(variables):
                return error(400, Code.CONTENT_VARIABLES_INVALID, problem)
            bare = _bare(to)
            if not E164.match(bare):
                return error(400, Code.INVALID_TO, f"The 'To' number {to} is not a valid phone number")
            if code := self.number_errors.get(bare):
                return error(400, code, f"{errors.meaning(code) or 'error'}: {to}")
            values = json.loads(variables) if variables else {}
            body = fill(main_text(content["types"]), values) if content else request.field("Body")
            seq, sid = self._next("SM")
            now = dt.datetime.now(dt.UTC)
            message = _Message(
                seq=seq, sid=sid, to=to, from_=sender, messaging_service_sid=service, body=body,
                status="accepted" if service else "queued", direction="outbound-api", created=now,
                content_sid=content_sid, content_variables=variables, updated=now,
            )
            self.messages[sid] = message
            return Reply(201, self.message_json(message))

    def list_messages(self, path: str, query: dict[str, list[str]]) -> Reply:
        one = {k: v[0] for k, v in query.items() if v}
        size = min(int(one.get("PageSize", 50)), 1000)
        token = int(one["PageToken"][2:]) if one.get("PageToken", "").startswith("PA") else None
        with self.lock:
            found = sorted(self.messages.values(), key=lambda m: m.seq, reverse=True)
        found = [m for m in found if _matches(m, one) and (token is None or m.seq < token)]
        page, more = found[:size], len(found) > size
        base = {k: v for k, v in one.items() if k not in ("Page", "PageToken")}
        number = int(one.get("Page", 0))
        next_uri = None
        if more:
            next_uri = f"{path}?" + urlencode({**base, "Page": number + 1, "PageToken": f"PA{page[-1].seq}"})
        body = {
            "messages": [self.message_json(m) for m in page],
            "end": number * size + len(page) - 1, "first_page_uri": f"{path}?" + urlencode({**base, "Page": 0}),
            "next_page_uri": next_uri, "page": number, "page_size": size, "previous_page_uri": None,
            "start": number * size, "uri": f"{path}?" + urlencode(one),
        }
        return Reply(200, body)

    def fetch_message(self, sid: str) -> Reply:
        with self.lock:
            message = self.messages.get(sid)
            if message is None:
                return error(404, Code.NOT_FOUND, f"The requested resource Message {sid} was not found")
            return Reply(200, self.message_json(message))

    def create_content(self, payload: Any) -> Reply:
        if not isinstance(payload, dict):
            return error(400, None, "the Content API takes a JSON body")
        types = {k: _drop_nulls(v) for k, v in (payload.get("types") or {}).items() if v is not None}
        if not types:
            return error(400, None, "types must hold at least one content type")
        if problem := content_problem(types, payload.get("language")):
            return error(400, None, problem)
        with self.lock:
            _, sid = self._next("HX")
            now = _iso(dt.datetime.now(dt.UTC))
            content = {
                "sid": sid, "account_sid": self.account_sid, "friendly_name": payload.get("friendly_name"),
                "language": payload["language"], "variables": payload.get("variables") or {}, "types": types,
                "url": f"https://content.twilio.com/v1/Content/{sid}", "date_created": now, "date_updated": now,
                "links": {"approval_create": f"https://content.twilio.com/v1/Content/{sid}/ApprovalRequests/whatsapp",
                          "approval_fetch": f"https://content.twilio.com/v1/Content/{sid}/ApprovalRequests"},
            }
            self.contents[sid] = content
        return Reply(201, content)

    def create_approval(self, sid: str, payload: Any) -> Reply:
        payload = payload if isinstance(payload, dict) else {}
        name, category = str(payload.get("name") or ""), str(payload.get("category") or "")
        with self.lock:
            content = self.contents.get(sid)
            if content is None:
                return error(404, Code.NOT_FOUND, f"The requested resource Content {sid} was not found")
            if not APPROVAL_NAME.match(name):
                return error(400, None, f"name {name!r} must be lowercase letters, digits and underscores")
            if category not in APPROVAL_CATEGORIES:
                return error(400, None, f"category {category!r} must be one of {', '.join(APPROVAL_CATEGORIES)}")
            if any(a["name"] == name for a in self.approvals.values()):
                return error(400, None, f"a template named {name!r} already exists")
            if problem := approval_problem(content["types"], content["variables"], category):
                return error(400, None, problem)
            approval = {
                "name": name, "category": category, "content_type": next(iter(content["types"])),
                "status": "received", "rejection_reason": "", "allow_category_change": True,
            }
            self.approvals[sid] = approval
            return Reply(201, dict(approval))

    def fetch_approval(self, sid: str) -> Reply:
        with self.lock:
            if sid not in self.contents:
                return error(404, Code.NOT_FOUND, f"The requested resource Content {sid} was not found")
            whatsapp = dict(self.approvals.get(sid, {}))
        if whatsapp:
            whatsapp["type"] = "whatsapp"
        body = {"sid": sid, "account_sid": self.account_sid, "whatsapp": whatsapp,
                "url": f"https://content.twilio.com/v1/Content/{sid}/ApprovalRequests"}
        return Reply(200, body)

    # -- controls used by tests -------------------------------------------------------------
    def inbound(self, from_: str, body: str, *, to: str = f"whatsapp:{MAGIC_FROM_VALID}") -> str:
        with self.lock:
            seq, sid = self._next("SM")
            now = dt.datetime.now(dt.UTC)
            self.messages[sid] = _Message(
                seq=seq, sid=sid, to=to, from_=from_, messaging_service_sid=None, body=body,
                status="received", direction="inbound", created=now, updated=now,
            )
        return sid

    def message_json(self, m: _Message) -> dict[str, Any]:
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{m.sid}.json"
        return {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": m.body,
            "date_created": _rfc2822(m.created), "date_sent": _rfc2822(m.created),
            "date_updated": _rfc2822(m.updated), "direction": m.direction, "error_code": m.error_code,
            "error_message": errors.meaning(m.error_code) or None, "from": m.from_,
            "messaging_service_sid": m.messaging_service_sid, "num_media": "0", "num_segments": "1",
            "price": None, "price_unit": "USD", "sid": m.sid, "status": m.status,
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")}, "to": m.to, "uri": uri,
        }

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": [asdict(r) for r in self.requests],
                "messages": [self.message_json(m) | {"content_sid": m.content_sid,
                                                     "content_variables": m.content_variables}
                             for m in sorted(self.messages.values(), key=lambda m: m.seq)],
                "hanging": self.hanging,
                "peak": self.peak,
            }


def error(status: int, code: int | None, message: str, *, problem: bool = False) -> Reply:
    """An error answer, in Twilio's legacy shape or as RFC 9457 problem details."""
    more = errors.ERROR_PAGE.format(code=int(code)) if code else "https://www.twilio.com/docs/api/errors"
    if problem:
        return Reply(status, {"type": more, "title": message, "status": status, "code": int(code or status),
                              "detail": message, "instance": None})
    return Reply(status, {"code": None if code is None else int(code), "message": message, "more_info": more,
                          "status": status})


def _matches(m: _Message, one: dict[str, str]) -> bool:
    if "To" in one and _bare(m.to) != _bare(one["To"]):
        return False
    if "From" in one and _bare(m.from_) != _bare(one["From"]):
        return False
    for key, test in (("DateSent>", lambda a, b: a >= b), ("DateSent<", lambda a, b: a <= b),
                      ("DateSent", lambda a, b: a.date() == b.date())):
        if key in one and not test(m.created, _parse_date(one[key])):
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

