"""Twilio's webhooks: message status callbacks and inbound messages, signature-checked.

Each request is verified with twilio-python's ``RequestValidator`` against the configured public
URL (never the Host header), then stored in the durable inbox (``campaign_sdk.inbox``) before it
is answered: an inbox that cannot be written answers 503, so Twilio retries. The stored event is
applied by the service's idempotent recorders (in batches, by the inbox worker, after the
answer: a store busy with a long write never holds Twilio up). ``ServerSettings.inbox_wait``
(default 0) makes the answer wait that many seconds at most for the event to be applied, so it
can say what the event changed. Duplicates and
out-of-order deliveries are harmless: a status never moves backwards, an inbound message is
stored once per SID, and a status for a SID not recorded yet waits in the inbox for it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Request, Response
from starlette.datastructures import ImmutableMultiDict
from twilio.request_validator import get_signature_algorithm

from campaign_sdk import service
from campaign_sdk.facts import statuses
from campaign_sdk.phones import normalize_phone
from campaign_sdk.server._errors import ERROR_RESPONSES
from campaign_sdk.server._models import RecordOut

log = logging.getLogger("campaign_sdk.server")
router = APIRouter(tags=["twilio"])

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
_SID = {"type": "string", "minLength": 1, "maxLength": 64}
# Twilio's statuses are lowercase words joined by "_"; a new one is taken if it looks like a name
# (stored verbatim up to statuses.MAX_LENGTH characters), so the callback is never refused for it.
_STATUS_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_STATUS_FORM = {
    "type": "object",
    "required": ["MessageSid", "MessageStatus"],
    "properties": {
        "MessageSid": _SID,
        # Any status *name*: one this SDK does not know is stored verbatim, never refused
        # (campaign_sdk.facts.statuses lists the 13 it knows).
        "MessageStatus": {"type": "string", "pattern": _STATUS_NAME.pattern, "examples": list(statuses.ORDER)},
        "ErrorCode": {"type": "string", "pattern": "^[0-9]{0,9}$"},
        "AccountSid": {"type": "string"},
    },
    "additionalProperties": {"type": "string"},
}
_INBOUND_FORM = {
    "type": "object",
    "required": ["MessageSid", "From"],
    "properties": {
        "MessageSid": _SID,
        "From": {"type": "string", "description": "whatsapp:+E164 or +E164"},
        "Body": {"type": "string"},
        "ButtonPayload": {"type": "string", "maxLength": 200},
        "ButtonText": {"type": "string"},
    },
    "additionalProperties": {"type": "string"},
}
_SIGNED = {
    "parameters": [{
        "name": "X-Twilio-Signature", "in": "header", "required": False, "schema": {"type": "string"},
        "description": "base64 HMAC-SHA1 of the public URL and the sorted form parameters",
    }],
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    403: ERROR_RESPONSES[401] | {"description": "missing or wrong X-Twilio-Signature"},
    422: ERROR_RESPONSES[422],
    503: ERROR_RESPONSES[422] | {"description": "webhooks not configured"},
}


def _form(schema: dict[str, Any]) -> dict[str, Any]:
    content = {"application/x-www-form-urlencoded": {"schema": schema}}
    return _SIGNED | {"requestBody": {"required": True, "content": content}}


@router.post("/twilio/status", openapi_extra=_form(_STATUS_FORM), responses=_RESPONSES)
async def status_callback(request: Request) -> RecordOut:
    """Twilio's message status callback: the status is recorded (never backwards) and answered."""
    params = await verified_params(request)
    sid = _required(params, "MessageSid", "SmsSid")
    status = _required(params, "MessageStatus", "SmsStatus")
    if not _STATUS_NAME.fullmatch(status):
        raise ValueError(
            f"MessageStatus must be a status name (letters, digits, _ - ., at most 64), not {status[:80]!r}"
        )
    status = status.lower()
    error_code = params.get("ErrorCode") or None
    if error_code is not None and not (error_code.isdigit() and len(error_code) <= 9):
        raise ValueError(f"ErrorCode must be Twilio's numeric error code, not {error_code!r}")
    event = {"sid": sid, "status": status, "error_code": error_code}
    result = await deliver(request.app, "status", event)
    log.debug("status %s for %s: %r", status, sid, result)
    return RecordOut(applied=result.applied, ignored=result.ignored, unmatched=result.unmatched,
                     pending=result.pending)


@router.post(
    "/twilio/inbound", openapi_extra=_form(_INBOUND_FORM), response_class=Response,
    responses=_RESPONSES | {200: {"content": {"application/xml": {"schema": {"type": "string"}}},
                                  "description": "empty TwiML: no automatic reply"}},
)
async def inbound_message(request: Request) -> Response:
    """An incoming message (a reply, a quick-reply button tap, STOP / START): stored once per
    SID, keywords applied to the sender's opt-out state; answered with empty TwiML."""
    params = await verified_params(request)
    payload = params.get("ButtonPayload") or None
    if payload is not None and len(payload) > 200:
        raise ValueError(f"ButtonPayload has {len(payload)} characters; quick-reply ids have at most 200")
    sender = _required(params, "From")
    normalize_phone(sender)  # a sender that is no phone number is refused (422) before anything is stored
    event = {
        "sid": _required(params, "MessageSid", "SmsMessageSid"),
        "from": sender,
        "body": params.get("Body") or params.get("ButtonText") or "",
        "button_payload": payload,
    }
    result = await deliver(request.app, "reply", event)
    log.debug("inbound %s: %r", event["sid"], result)
    return Response(EMPTY_TWIML, media_type="application/xml")


async def verified_params(request: Request) -> ImmutableMultiDict[str, str]:
    """The form parameters of a request Twilio signed; 403 (changing nothing) otherwise."""
    settings = request.app.state.settings
    validator = request.app.state.validator
    if validator is None or not settings.public_url:
        raise HTTPException(503, "Twilio webhooks are not configured: set TWILIO_AUTH_TOKEN and "
                                 "CAMPAIGN_SDK_PUBLIC_URL (the address Twilio calls)")
    body = await request.body()
    try:
        params = ImmutableMultiDict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        raise HTTPException(403, "the request is not a form Twilio signed") from None
    signature = request.headers.get("x-twilio-signature")
    algorithm = get_signature_algorithm(request.headers.get("x-twilio-webhooks-signature-settings"))
    if not signature or not validator.validate(public_url(request), params, signature, algorithm):
        log.warning("refused a webhook to %s: %s X-Twilio-Signature", request.url.path,
                    "wrong" if signature else "no")
        raise HTTPException(403, "missing or wrong X-Twilio-Signature; nothing was recorded")
    return params


def public_url(request: Request) -> str:
    """The URL Twilio called: the configured public base URL + this route's path and query."""
    path = request.scope["path"]
    root = request.scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root):]
    query = request.scope.get("query_string", b"").decode("latin-1")
    base = request.app.state.settings.public_url.rstrip("/")
    return f"{base}{path}" + (f"?{query}" if query else "")


async def deliver(app: Any, kind: str, event: Mapping[str, Any]) -> service.RecordResult:
    """Store ``event`` in the inbox (503 if it cannot be) and answer; with ``inbox_wait`` set,
    first wait that long at most for it to be applied."""
    worker = app.state.inbox
    ticket = worker.submit(kind, event)
    wait = app.state.settings.inbox_wait
    result = None
    if wait > 0 and worker.busy_for() <= wait / 4:  # else the store is held by a long write
        try:  # resolved once applied (or once storing failed, with None)
            result = await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(ticket.applied)), wait)
        except TimeoutError:
            pass
    try:
        await asyncio.wrap_future(ticket.stored)  # answered only once stored
    except Exception as exc:
        raise HTTPException(503, f"the webhook inbox cannot be written ({type(exc).__name__}); nothing was "
                                 "recorded, and Twilio retries the callback") from None
    if result is None:  # stored, not applied yet: it will be
        return service.RecordResult(pending=1)
    return result


def _required(params: Mapping[str, str], *names: str) -> str:
    for name in names:
        value = params.get(name)
        if value:
            if len(value) > 64 and name.endswith("Sid"):
                raise ValueError(f"{name} has {len(value)} characters; a Twilio SID has at most 64")
            if "\x00" in value:  # PostgreSQL cannot store it, and Twilio never sends one here
                raise ValueError(f"{name} contains a NUL character; Twilio never sends one in {name}, "
                                 "so this is not a Twilio callback")
            return value
    raise ValueError(f"the form has no {names[0]}; Twilio always sends it, so this is not a Twilio callback")
