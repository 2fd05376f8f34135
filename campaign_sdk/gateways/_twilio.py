"""``TwilioGateway``: the SDK's calls, made with twilio-python's ``Client``."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
from collections.abc import Callable, Iterator
from typing import Any, Literal, TypeVar

from twilio.base import deserialize, serialize
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException

from campaign_sdk._enums import ApprovalState
from campaign_sdk._exceptions import GatewayError
from campaign_sdk.facts import errors, scheduling
from campaign_sdk.facts.delivery import SMS_LONG_CODE_MPS, SMS_TOLL_FREE_MPS, WHATSAPP_SENDER_MPS
from campaign_sdk.facts.errors import ErrorKind
from campaign_sdk.gateways._base import (
    ApprovalResult,
    ContentRequest,
    MessageRecord,
    SendRequest,
    SentMessage,
    address,
    strip_channel,
)
from campaign_sdk.gateways import _environment as environment
from campaign_sdk.gateways._base import messaging_tier as check_tier
from campaign_sdk.gateways._http import RetryAfterHttpClient, retry_after
from campaign_sdk.gateways._sender import check_number_type, sender_type

T = TypeVar("T")
CHANNELS = ("whatsapp", "sms", "messenger", "rcs")
# The environment variables naming a Twilio account and its sender, in one place: read by
# TwilioGateway.from_env, `campaign-sdk worker` and the server (ServerSettings.from_env). "from":
# the sender's number, used when there is no Messaging Service.
TWILIO_ENV = {"account_sid": "TWILIO_ACCOUNT_SID", "auth_token": "TWILIO_AUTH_TOKEN",
              "messaging_service_sid": "TWILIO_MESSAGING_SERVICE_SID", "from": "TWILIO_FROM"}
ENV_VARS = (TWILIO_ENV["account_sid"], TWILIO_ENV["auth_token"], TWILIO_ENV["messaging_service_sid"])
FROM_ENV = TWILIO_ENV["from"]
# A sender's documented default rate by channel (facts.delivery). Messenger and RCS: none found in
# Twilio's docs; they keep WhatsApp's, as before (not a documented value).
DEFAULT_RATES = {"whatsapp": WHATSAPP_SENDER_MPS, "sms": SMS_LONG_CODE_MPS}
# the headers of twilio-python's MessageList.create
_FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}


class TwilioGateway:
    """Talks to Twilio through a ``twilio.rest.Client`` (any ``http_client``, region or edge).

    >>> from twilio.rest import Client
    >>> gateway = TwilioGateway(Client("AC" + "0" * 32, "secret"), messaging_service_sid="MG" + "1" * 32)
    >>> gateway
    <TwilioGateway account=AC000000…0000 messaging_service=MG111111…1111 channel=whatsapp rate=80/s>

    ``messaging_service_sid`` or ``from_`` names the sender; ``status_callback`` is passed on every
    send; ``rate`` is the default send rate in messages per second, by default the channel's
    documented one (:func:`default_rate`: WhatsApp allows 80 per sender,
    ``facts.delivery.WHATSAPP_SENDER_MPS``; an SMS sender's throughput depends on its number type
    and registration: 3 per second for a toll-free number (``sender_number_type`` or ``from_``
    tells it), else a long code's 1, ``SMS_LONG_CODE_MPS``, unless you pass it; a faster sender
    (a short code, a registered campaign) passes its own; None: no limit); ``messaging_tier`` is
    the WhatsApp sender's messaging limit (unique people per rolling 24 h, e.g. 2000), which
    ``send()`` and ``plan()`` keep to by deferring the rest. ``sender_number_type`` (local, mobile,
    national, toll free, shortcode) is the type of the number that sends, by which Twilio prices
    SMS; without it ``plan()`` tells it from ``from_`` or assumes local for a messaging service,
    and says so in the cost reason. The auth token never appears in reprs, logs or errors.

    Scheduling (``SendRequest.send_at``) needs ``messaging_service_sid``. A 429's ``Retry-After``
    header reaches ``GatewayError.retry_after`` when the client's ``http_client`` is a
    :class:`RetryAfterHttpClient` (``from_env`` builds one; twilio-python's default client keeps
    one last answer for all threads, so it is not read).

    Proxies (``HTTPS_PROXY``, ``NO_PROXY``, ...) and the CA bundle (``REQUESTS_CA_BUNDLE``) are
    honoured as requests honours them; the gateway's requests read them once per host and
    again after any change of ``os.environ``, not on every request (``gateways/_environment.py``).
    """

    simulated = False
    page_size = 1000  # messages per list request (Twilio's maximum)

    def __init__(
        self,
        client: Any,
        *,
        messaging_service_sid: str | None = None,
        from_: str | None = None,
        status_callback: str | None = None,
        channel: str = "whatsapp",
        rate: float | None | Literal["channel"] = "channel",
        messaging_tier: int | None = None,
        sender_number_type: str | None = None,
    ) -> None:
        if channel not in CHANNELS:
            raise ValueError(f"channel must be one of {', '.join(CHANNELS)}, not {channel!r}")
        if not messaging_service_sid and not from_:
            raise ValueError(
                "TwilioGateway needs a sender: messaging_service_sid='MG...' or from_='+1415...'"
            )
        self.client = client
        self.messaging_service_sid = messaging_service_sid
        self.from_ = address(from_, channel) if from_ else None
        self.status_callback = status_callback
        self.channel = channel
        self.messaging_tier = check_tier(messaging_tier)
        self.sender_number_type = check_number_type(sender_number_type)
        self.default_rate = default_rate(channel, self.number_type[0]) if rate == "channel" else rate
        # twilio-python imports its API modules on first use; doing it now keeps that pause out
        # of the first (rate-limited) sends, which would otherwise leave in a burst.
        _ = client.messages, client.content
        # requests reads the proxy and CA-bundle environment on every request: the gateway's
        # requests read it once per host, and again when os.environ changes (_environment.py)
        self._environment = environment.EnvironmentSettings()
        environment.hook(getattr(client, "http_client", None))

    @classmethod
    def from_env(cls, **options: Any) -> TwilioGateway:
        """A gateway from TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_MESSAGING_SERVICE_SID
        (the last one may be replaced by ``from_=`` or TWILIO_FROM, the sender's number; see
        :data:`TWILIO_ENV`). ``options`` go to the constructor."""
        from twilio.rest import Client

        env = {key: (os.environ.get(name) or "").strip() or None for key, name in TWILIO_ENV.items()}
        service = options.setdefault("messaging_service_sid", env["messaging_service_sid"])
        if not service and not options.get("from_"):
            options["from_"] = env["from"]
        needed = ["account_sid", "auth_token"] + ([] if service or options.get("from_") else ["messaging_service_sid"])
        missing = [TWILIO_ENV[key] for key in needed if env[key] is None]
        if missing:
            sender = f" (or {FROM_ENV})" if "messaging_service_sid" in needed else ""
            raise GatewayError(
                f"TwilioGateway.from_env() needs the environment variable(s) {', '.join(missing)}{sender}; "
                "set them, or build TwilioGateway(twilio.rest.Client(...), ...) yourself", kind=ErrorKind.AUTH,
            )
        client = Client(env["account_sid"], env["auth_token"], http_client=RetryAfterHttpClient())
        return cls(client, **options)

    @property
    def schedule_window(self) -> tuple[dt.timedelta, dt.timedelta] | None:
        """How far ahead Twilio schedules (15 minutes to 35 days), or None without a Messaging Service."""
        if self.messaging_service_sid is None and scheduling.SCHEDULING_NEEDS_MESSAGING_SERVICE:
            return None
        return scheduling.SEND_AT_MIN_AHEAD, scheduling.SEND_AT_MAX_AHEAD

    def now(self) -> dt.datetime:
        """The wall clock (UTC): Twilio's time."""
        return dt.datetime.now(dt.UTC)

    @property
    def key(self) -> str:
        return f"twilio:{self.client.account_sid}:{self.messaging_service_sid or self.from_}"

    @property
    def sender(self) -> str:
        """What sends this gateway's messages: its Messaging Service SID (``MG...``), else its From
        number (bare, as ``from_`` takes it). A deferred message keeps it: a worker sends only its
        own sender's (``deferred_sends.sender``). Not a secret."""
        return self.messaging_service_sid or strip_channel(self.from_)

    @functools.cached_property
    def number_type(self) -> tuple[str, str | None]:
        """The number type of the sender (:func:`._sender.sender_type`: given, told from
        ``from_``, or assumed local and a note saying so), read by the SMS default rate and the
        SMS prices of ``plan()``."""
        return sender_type(self.sender_number_type, from_=self.from_, messaging_service_sid=self.messaging_service_sid)

    def __repr__(self) -> str:
        sender = (
            f"messaging_service={_short(self.messaging_service_sid)}"
            if self.messaging_service_sid
            else f"from={self.from_}"
        )
        rate = f"{self.default_rate:g}/s" if self.default_rate else "unlimited"
        return (
            f"<TwilioGateway account={_short(self.client.account_sid)} {sender} "
            f"channel={self.channel} rate={rate}>"
        )

    # -- content and approval ---------------------------------------------------------------
    def create_content(self, request: ContentRequest) -> str:
        """Create a Content resource; returns its SID (``HX...``).

        The JSON body is exactly the SDK's content model: twilio-python 9.13's generated classes
        would drop fields its spec lacks (a twilio/card's ``body``, documented by Twilio's card
        page) and add every unset field as null, so the body is handed to it as it is.
        """
        payload = _content_payload(
            {
                "friendly_name": request.friendly_name,
                "language": request.language,
                "variables": dict(request.variables),
                "types": dict(request.types),
            }
        )
        content = self._call("create the Content resource", lambda: self.client.content.v1.contents.create(payload))
        return str(content.sid)

    def submit_approval(self, content_sid: str, *, name: str, category: str) -> ApprovalResult:
        """Submit ``content_sid`` for WhatsApp approval under ``name`` and ``category``."""
        from twilio.rest.content.v1.content.approval_create import ApprovalCreateList

        body = ApprovalCreateList.ContentApprovalRequest({"name": name, "category": category})
        created = self._call(
            f"submit {content_sid} for WhatsApp approval",
            lambda: self.client.content.v1.contents(content_sid).approval_create.create(body),
        )
        return _approval(
            {"status": created.status, "rejection_reason": created.rejection_reason,
             "name": created.name, "category": created.category},
            content_sid,
        )

    def fetch_approval(self, content_sid: str) -> ApprovalResult:
        """The WhatsApp approval status of ``content_sid`` (``unsubmitted`` if never submitted)."""
        fetched = self._call(
            f"fetch the approval status of {content_sid}",
            lambda: self.client.content.v1.contents(content_sid).approval_fetch().fetch(),
        )
        return _approval(fetched.whatsapp or {}, content_sid)

    # -- messages ---------------------------------------------------------------------------
    def send_message(self, request: SendRequest) -> SentMessage:
        """Send one template message: ``ContentSid`` + ``ContentVariables`` as a JSON *string*
        (a dict would be mangled by twilio-python), never ``Body``. ``send_at`` becomes
        ``ScheduleType=fixed`` + ``SendAt``; ``validity_period`` becomes ``ValidityPeriod``.

        The request is the one ``client.messages.create(...)`` makes (the same form fields in
        the same order, headers, URL, credentials and HTTP client, and twilio-python's own
        errors: :meth:`twilio.base.version.Version.create`), without building twilio-python's
        ``MessageInstance``, whose thirty-odd fields (dates, prices) a send does not read: it
        costs about 7% of a request's time in the sending process.
        """
        if request.send_at is not None and self.schedule_window is None:
            raise GatewayError(
                f"cannot schedule the message to {request.to}: Twilio schedules only through a Messaging "
                "Service (without one it drops SendAt and sends at once); build the gateway with "
                "messaging_service_sid='MG...'", kind=ErrorKind.SENDER,
            )
        # the fields in twilio-python's order (MessageList.create), the unset ones left out
        data: dict[str, Any] = {"To": address(request.to, self.channel)}
        if self.status_callback:
            data["StatusCallback"] = self.status_callback
        if request.validity_period is not None:
            data["ValidityPeriod"] = request.validity_period
        if request.send_at is not None:
            data["ScheduleType"] = scheduling.SCHEDULE_TYPE
            data["SendAt"] = serialize.iso8601_datetime(request.send_at.astimezone(dt.UTC))
        data["ContentVariables"] = json.dumps(dict(request.content_variables), ensure_ascii=False)
        if self.messaging_service_sid:
            data["MessagingServiceSid"] = self.messaging_service_sid
        else:
            data["From"] = self.from_
        data["ContentSid"] = request.content_sid
        version = self.client.api.v2010
        uri = f"/Accounts/{self.client.account_sid}/Messages.json"
        payload = self._call(
            f"send to {request.to}",
            lambda: version.create(method="POST", uri=uri, data=data, headers=dict(_FORM_HEADERS)),
        )
        return SentMessage(
            sid=str(payload["sid"]), status=str(payload.get("status") or "queued"), to=request.to,
            date_created=deserialize.rfc2822_datetime(payload.get("date_created")),
        )

    def cancel_message(self, sid: str) -> MessageRecord:
        """Cancel a scheduled message: update it with ``Status=canceled`` (Twilio refuses, 30409,
        when it is no longer scheduled)."""
        message = self._call(f"cancel {sid}", lambda: self.client.messages(sid).update(status="canceled"))
        return _record(message)

    def _call(self, action: str, fn: Callable[[], T]) -> T:
        """:func:`_call`, with the Retry-After of a refused request when the HTTP client kept it
        (and the environment's proxies and CA bundle read once, :mod:`._environment`)."""
        try:
            with environment.using(self._environment):
                return _call(action, fn)
        except GatewayError as exc:
            if exc.retry_after is None and exc.status == 429:
                exc.retry_after = retry_after(getattr(self.client, "http_client", None))
            raise

    def list_messages(
        self, *, to: str | None = None, since: dt.datetime | None = None, limit: int | None = None
    ) -> Iterator[MessageRecord]:
        """Messages of the account, newest first: ``to`` filters by recipient (E.164), ``since``
        by Twilio's DateSent (>=)."""
        options: dict[str, Any] = {"page_size": self.page_size if limit is None else min(limit, self.page_size)}
        if to is not None:
            options["to"] = address(to, self.channel)
        if since is not None:
            options["date_sent_after"] = since
        if limit is not None:
            options["limit"] = limit
        stream = self._call("list messages", lambda: self.client.messages.stream(**options))
        while True:
            message = self._call("list messages", lambda: next(stream, None))
            if message is None:
                return
            yield _record(message)


def default_rate(channel: str, number_type: str | None = None) -> float:
    """The documented default send rate (messages per second) of a Twilio sender on ``channel``;
    for SMS by the sender's ``number_type`` (``sender_type``: a toll-free number sends 3 a second,
    a long code or a number of unknown type 1).

    >>> default_rate("whatsapp"), default_rate("sms"), default_rate("sms", "toll free")
    (80, 1, 3)
    """
    if channel == "sms" and number_type == "toll free":
        return SMS_TOLL_FREE_MPS
    return DEFAULT_RATES.get(channel, WHATSAPP_SENDER_MPS)


def _content_payload(body: dict[str, Any]) -> Any:
    """A twilio-python ``ContentCreateRequest`` whose JSON is ``body``, unchanged."""
    from twilio.rest.content.v1.content import ContentList

    class _Exact(ContentList.ContentCreateRequest):
        def to_dict(self) -> dict[str, Any]:
            return body

    return _Exact(body)


def _call(action: str, fn: Callable[[], T]) -> T:
    """Run a twilio-python call, turning every failure into one GatewayError whose kind comes
    from ``facts.errors`` (TwilioServiceException, for RFC 9457 bodies, is not a
    TwilioRestException: both are caught).

    twilio-python's exceptions drop the response headers: ``TwilioGateway._call`` reads a 429's
    Retry-After from its HTTP client instead."""
    try:
        return fn()
    except TwilioRestException as exc:
        raise _error(action, exc.status, exc.code, exc.msg) from None
    except TwilioServiceException as exc:
        detail = f"{exc.title}: {exc.detail}" if exc.detail else exc.title
        raise _error(action, exc.status, exc.code, detail) from None
    except TwilioException as exc:
        # e.g. "Unable to fetch page" with the HTTP response as second argument.
        response = exc.args[1] if len(exc.args) > 1 else None
        status = getattr(response, "status_code", None)
        detail = str(exc.args[0]) if exc.args else ""
        raise _error(action, status, _code_of(getattr(response, "text", None)), detail) from None
    except OSError as exc:  # requests' ConnectionError / Timeout derive from OSError
        raise GatewayError(
            f"could not {action}: no answer from Twilio ({type(exc).__name__})", kind=ErrorKind.SERVER
        ) from None


def _error(action: str, status: int | None, code: int | None, detail: str) -> GatewayError:
    kind = errors.kind_of(code=code, status=status)
    more = f" (see {errors.ERROR_PAGE.format(code=code)})" if code and code >= 10000 else ""
    return GatewayError(
        f"Twilio refused to {action}: HTTP {status}, error {code} ({kind}): {detail}{more}",
        kind=kind, code=code, status=status,
    )


def _code_of(text: str | None) -> int | None:
    try:
        code = json.loads(text or "").get("code")
        return int(code) if code is not None else None
    except (ValueError, AttributeError, TypeError):
        return None


def _approval(whatsapp: dict[str, Any], content_sid: str) -> ApprovalResult:
    raw = str(whatsapp.get("status") or "unsubmitted").lower()
    try:
        state = ApprovalState(raw)
    except ValueError:
        raise GatewayError(
            f"Twilio reports approval status {raw!r} for {content_sid}, which the SDK does not know; "
            f"known: {', '.join(s.value for s in ApprovalState)}. Upgrade campaign_sdk", kind=ErrorKind.UNKNOWN,
        ) from None
    return ApprovalResult(
        state=state, reason=whatsapp.get("rejection_reason") or None,
        name=whatsapp.get("name"), category=whatsapp.get("category"),
    )


def _record(message: Any) -> MessageRecord:
    return MessageRecord(
        sid=str(message.sid), direction=str(message.direction or ""), to=strip_channel(message.to),
        from_=strip_channel(message.from_), status=str(message.status or ""), body=message.body,
        error_code=message.error_code, date_created=message.date_created,
        date_sent=message.date_sent, date_updated=message.date_updated,
    )


def _short(sid: str | None) -> str:
    return f"{sid[:8]}…{sid[-4:]}" if sid and len(sid) > 12 else str(sid)
