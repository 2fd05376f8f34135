"""``TwilioTestServer``: a Twilio-compatible HTTP server on 127.0.0.1 for tests and benchmarks."""

from __future__ import annotations

import base64
import json
import math
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from campaign_sdk.facts.errors import Code
from campaign_sdk.simulator import Simulator
from campaign_sdk.testing._state import FakeTwilio, Fault, RecordedRequest, Reply, error

DEFAULT_ACCOUNT = "AC" + "5e" * 16
DEFAULT_TOKEN = "local-test-token"
HANG_LIMIT = 120.0  # seconds a "hang" fault holds a request at most
_PRICING = re.compile(r"^/v1/Messaging/Countries/([A-Z]{2})$")
# Pricing API answers (GET /v1/Messaging/Countries/{Iso}): a made-up table for tests, in the shape
# of https://www.twilio.com/docs/messaging/api/pricing. Replace ``server.prices`` to change it.
TEST_PRICES: dict[str, dict[str, Any]] = {
    "US": {"country": "United States", "price_unit": "USD", "outbound_sms_prices": [
        {"carrier": "Carrier A", "mcc": "310", "mnc": "012",
         "prices": [{"number_type": "local", "base_price": "0.0079", "current_price": "0.0079"},
                    {"number_type": "tollfree", "base_price": "0.0083", "current_price": "0.0083"}]},
        {"carrier": "Carrier B", "mcc": "311", "mnc": "480",
         "prices": [{"number_type": "local", "base_price": "0.0083", "current_price": "0.0083"}]}]},
    "GB": {"country": "United Kingdom", "price_unit": "USD", "outbound_sms_prices": [
        {"carrier": "Carrier C", "mcc": "234", "mnc": "10",
         "prices": [{"number_type": "local", "base_price": "0.0463", "current_price": "0.0463"}]}]},
}


class TwilioTestServer:
    """Messages (create / list / fetch), Content (create) and ApprovalRequests (create / fetch),
    answering like Twilio, recording every request, with injectable faults.

    >>> with TwilioTestServer(latency=0.001) as server:
    ...     client = server.twilio_client()
    ...     sid = server.add_content("Hi {{1}}, your order is ready.")
    ...     message = client.messages.create(to="whatsapp:+14155552671", messaging_service_sid="MG" + "0" * 32,
    ...                                       content_sid=sid, content_variables='{"1": "Ana"}')
    ...     message.status, message.body, server.requests[-1].field("ContentVariables")
    ('accepted', 'Hi Ana, your order is ready.', '{"1": "Ana"}')

    Use :meth:`twilio_client` for a real ``twilio.rest.Client`` pointed at the server, and
    :meth:`fail` to inject 429s, 5xx, slow answers, dropped connections and error codes.

    It is :class:`campaign_sdk.simulator.Simulator` over HTTP, the one behind ``SandboxGateway``
    too. By default it is scripted (statuses move with :meth:`set_status`, approvals with
    :meth:`set_approval`); pass ``simulator=Simulator(seed, world=World())`` for a live one whose
    statuses, replies and reviews progress with its clock (:meth:`advance`).
    """

    def __init__(
        self, *, latency: float = 0.0, account_sid: str = DEFAULT_ACCOUNT, auth_token: str = DEFAULT_TOKEN,
        seed: int = 0, port: int = 0, simulator: Simulator | None = None,
    ) -> None:
        self.latency = latency
        self.state = FakeTwilio(account_sid, auth_token, seed=seed, simulator=simulator)
        self._http = _Server(("127.0.0.1", port), _Handler)
        self._http.owner = self
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.02}, name="twilio-test-server", daemon=True
        )
        self._clients: list[Any] = []
        self.prices: dict[str, dict[str, Any]] = {k: dict(v) for k, v in TEST_PRICES.items()}

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> TwilioTestServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.state.release_event.set()  # stays set: nothing hangs any more
        for client in self._clients:
            client.close()
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> TwilioTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host if isinstance(host, str) else host.decode()}:{port}"

    @property
    def account_sid(self) -> str:
        return self.state.account_sid

    @property
    def auth_token(self) -> str:
        return self.state.auth_token

    # -- clients ------------------------------------------------------------------------------
    def http_client(self, **options: Any) -> Any:
        """A twilio-python ``HttpClient`` that sends every Twilio URL to this server."""
        from campaign_sdk.testing._http import LocalTwilioHttpClient

        client = LocalTwilioHttpClient(self.url, **options)
        self._clients.append(client)
        return client

    def twilio_client(self, **options: Any) -> Any:
        """A real ``twilio.rest.Client`` talking to this server."""
        from twilio.rest import Client

        return Client(self.account_sid, self.auth_token, http_client=self.http_client(**options))

    # -- controls -----------------------------------------------------------------------------
    def fail(self, kind: str, **options: Any) -> Fault:
        """Inject a fault (see :class:`Fault`), e.g. ``fail("throttle", times=3)`` or
        ``fail("server_error", processed=True)``."""
        fault = Fault(kind, **options)  # type: ignore[arg-type]
        with self.state.lock:
            self.state.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.state.lock:
            self.state.faults.clear()

    def reject_number(self, number: str, code: int | str) -> None:
        """Make sends to ``number`` (E.164) fail with Twilio error ``code`` (e.g. ``Code.INVALID_TO``)
        or with the usual code of an error kind (``"invalid_number"``)."""
        with self.simulator.lock:
            self.simulator.error_numbers[number] = code

    @property
    def simulator(self) -> Simulator:
        """The simulated account behind the HTTP API."""
        return self.state.simulator

    def advance(self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> None:
        """Move the simulated clock forward (scheduled sends, validity, the 24 h window, a live world)."""
        self.simulator.clock.advance(days=days, hours=hours, minutes=minutes, seconds=seconds)

    def add_content(self, body: str, *, variables: dict[str, str] | None = None) -> str:
        """Create a ``twilio/text`` Content resource directly; returns its SID."""
        content = self.simulator.create_content({"twilio/text": {"body": body}}, friendly_name="t",
                                                variables=variables or {}, language="en")
        return content.sid

    def set_approval(self, content_sid: str, status: str, *, reason: str = "") -> None:
        """Change a content's WhatsApp approval status, as WhatsApp's review would."""
        self.simulator.force_approval(content_sid, status, reason=reason)

    def set_status(self, sid: str, status: str, *, error_code: int | None = None) -> None:
        """Move a message to ``status`` (e.g. delivered, read, failed with ``error_code``)."""
        self.simulator.set_status(sid, status, error_code=error_code)

    def receive(self, from_: str, body: str) -> str:
        """An inbound message from ``from_`` (e.g. ``whatsapp:+1415...``); returns its SID."""
        return self.state.inbound(from_, body)

    def release(self) -> None:
        """Let the requests held by ``hang`` faults go now (their connections are dropped);
        later ``hang`` faults hold requests again."""
        with self.state.lock:
            self.state.release_event.set()
            self.state.release_event.clear()
            self.state.hanging = 0

    def wait_for(self, predicate: Callable[[TwilioTestServer], bool], *, timeout: float = 10.0) -> None:
        """Wait until ``predicate(server)`` holds (TimeoutError after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                raise TimeoutError("the test server did not reach the expected state in time")
            time.sleep(0.005)

    # -- inspection -------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        with self.state.lock:
            return list(self.state.requests)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every message the server holds (processed sends and inbound), oldest first, with the
        ``content_sid`` and ``content_variables`` it was sent with."""
        return self.state.snapshot()["messages"]

    def sent(self) -> list[dict[str, Any]]:
        """The outbound messages Twilio accepted (what really "went out")."""
        return [m for m in self.messages if m["direction"] == "outbound-api"]

    @property
    def hanging(self) -> int:
        return self.state.hanging

    @property
    def peak_concurrency(self) -> int:
        """The most requests the server was answering at the same time."""
        return self.state.peak


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    owner: TwilioTestServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (e.g. a killed sender) is normal here; anything else is not."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One segment per answer and no Nagle delay: keep-alive answers must not wait for ACKs.
    wbufsize = -1
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return None

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        owner = self.server.owner
        state = owner.state
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if parts.path.startswith("/_test/"):
            return self._admin(method, parts.path, raw)
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        request = RecordedRequest(
            method=method, path=parts.path, query=parse_qs(parts.query, keep_blank_values=True),
            form=parse_qs(raw.decode(), keep_blank_values=True) if kind == "application/x-www-form-urlencoded" else {},
            json=_json(raw) if kind == "application/json" else None,
            account=_account(self.headers.get("Authorization"), state.auth_token), at=time.time(),
        )
        state.record(request)
        try:
            self._answer(request, parts.path)
        finally:
            state.done()

    def _answer(self, request: RecordedRequest, path: str) -> None:
        owner = self.server.owner
        state = owner.state
        if owner.latency:
            time.sleep(owner.latency)
        fault = state.take_fault(request)
        request.fault = fault.kind if fault else None
        if fault is not None and not fault.processed and fault.kind != "slow":
            reply = _fault_reply(fault)
        else:
            if fault is not None and fault.kind == "slow":
                time.sleep(fault.delay)
            reply = _pricing(owner, request, path) or state.handle(request.method, path, request.query, request)
            if fault is not None and fault.kind != "slow":
                reply = _fault_reply(fault)
        if reply.action == "hang":
            with state.lock:
                state.hanging += 1
            state.release_event.wait(HANG_LIMIT)
            reply = Reply(0, action="drop")
        request.status = reply.status
        if reply.action == "drop":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return None
        return self._respond(reply.status, reply.body, retry_after=reply.retry_after)

    def _admin(self, method: str, path: str, raw: bytes) -> None:
        owner = self.server.owner
        if path == "/_test/state" and method == "GET":
            return self._respond(200, owner.state.snapshot())
        if path == "/_test/faults" and method == "POST":
            return self._respond(201, asdict(owner.fail(**_json(raw))))
        if path == "/_test/approval" and method == "POST":
            body = _json(raw)
            owner.set_approval(body["content_sid"], body["status"], reason=body.get("reason", ""))
            return self._respond(200, {})
        if path == "/_test/release" and method == "POST":
            owner.release()
            return self._respond(200, {})
        if path == "/_test/advance" and method == "POST":
            owner.advance(seconds=float(_json(raw).get("seconds", 0)))
            return self._respond(200, {"now": owner.simulator.now().isoformat()})
        return self._respond(404, {"message": f"no test endpoint {path}"})

    def _respond(self, status: int, body: Any, *, retry_after: float | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if retry_after is not None:
            self.send_header("Retry-After", str(max(0, math.ceil(retry_after))))  # delay-seconds: an integer
        self.end_headers()
        self.wfile.write(data)


def _pricing(owner: TwilioTestServer, request: RecordedRequest, path: str) -> Reply | None:
    """The Pricing API's messaging country resource (None: not a pricing request)."""
    match = _PRICING.match(path)
    if match is None or request.method != "GET":
        return None
    if request.account != owner.account_sid:
        return error(401, Code.AUTHENTICATION, "Authenticate")
    iso = match.group(1)
    found = owner.prices.get(iso)
    if found is None:
        return error(404, Code.NOT_FOUND, f"The requested resource {path} was not found")
    url = f"https://pricing.twilio.com/v1/Messaging/Countries/{iso}"
    return Reply(200, {"iso_country": iso, "url": url, "inbound_sms_prices": [], **found})


def _fault_reply(fault: Fault) -> Reply:
    if fault.kind == "throttle":
        return error(429, Code.TOO_MANY_REQUESTS, "Too many concurrent requests", problem=fault.problem,
                     retry_after=fault.retry_after)
    if fault.kind in ("drop", "hang"):
        return Reply(0, action=fault.kind)
    status = fault.status if fault.kind == "error" else max(fault.status, 500)
    return error(status, fault.code, f"injected {fault.kind}", problem=fault.problem)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return None


def _account(header: str | None, token: str) -> str | None:
    """The account SID of valid Basic credentials (None when the token is wrong)."""
    if not header or not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return None
    return user if password == token else None
