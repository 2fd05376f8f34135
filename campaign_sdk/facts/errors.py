"""Twilio's error codes and what a sender does with each (data only).

Every failure a gateway reports has a *kind* (:class:`ErrorKind`); the sending and service layers
decide by kind alone and never read a Twilio code. :data:`KINDS` says what each kind means for a
send (retry it, fail only this lead, or stop the whole send); :data:`ERRORS` maps each Twilio code
the SDK knows onto its kind, with its meaning and the page it comes from. Twilio's error pages
live at ``https://www.twilio.com/docs/api/errors/<code>``; each row cites its own.

>>> describe(21610).kind, describe(21610).opt_out, describe(21610).retryable
(<ErrorKind.OPTED_OUT: 'opted_out'>, True, False)
>>> kind_of(code=None, status=503), kind_of(code=None, status=429), kind_of(code=99999, status=400)
(<ErrorKind.SERVER: 'server'>, <ErrorKind.RATE_LIMITED: 'rate_limited'>, <ErrorKind.UNKNOWN: 'unknown'>)

Twilio warns that an error's causes may change over time
(https://www.twilio.com/en-us/changelog/updates-to-the-error-code-dictionary-to-clarify-number-validatio):
a code missing here is ``unknown`` and stops a send rather than failing every lead one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

from campaign_sdk.facts import numbers

ERROR_PAGE = "https://www.twilio.com/docs/api/errors/{code}"


class ErrorKind(StrEnum):
    """What went wrong, in the words a sender acts on (gateway-neutral)."""

    RATE_LIMITED = "rate_limited"  # not processed; safe to retry after backing off
    SERVER = "server"  # Twilio's side (5xx) or no answer: it may have been processed
    INVALID_NUMBER = "invalid_number"  # this number cannot receive; never try it again
    OPTED_OUT = "opted_out"  # the recipient replied STOP: opt the user out
    BLOCKED = "blocked"  # the recipient blocked the sender
    UNDELIVERABLE = "undeliverable"  # the carrier or channel did not deliver this message
    CONTENT = "content"  # this message's content or values were refused (fix the data)
    WINDOW = "window"  # outside WhatsApp's 24 h customer-service window
    POLICY = "policy"  # filtered by a carrier, Meta or Twilio policy
    AUTH = "auth"  # credentials or account: nothing can be sent
    SENDER = "sender"  # the sender (From / Messaging Service / channel) is not usable
    REQUEST = "request"  # the request itself is wrong (missing field, unknown resource)
    SCHEDULE = "schedule"  # SendAt outside Twilio's scheduling window (or scheduling unavailable)
    EXPIRED = "expired"  # the message outlived its ValidityPeriod in Twilio's queue: not sent
    UNKNOWN = "unknown"  # not a code the SDK knows


@dataclass(frozen=True)
class KindFact:
    """What a kind means for a send.

    ``retry``: ``"backoff"`` (not processed, retry later), ``"reconcile"`` (may have been
    processed: look the message up before retrying) or None. ``per_lead``: the failure is about
    one recipient or message, so the lead fails and the send goes on; otherwise the send stops.
    """

    retry: str | None
    per_lead: bool
    advice: str

    @property
    def retryable(self) -> bool:
        return self.retry is not None


KINDS: dict[ErrorKind, KindFact] = {
    # https://www.twilio.com/docs/api/errors/20429: "not processed and are safe to retry after backing off"
    ErrorKind.RATE_LIMITED: KindFact("backoff", False, "retried with backoff; lower the send rate if it persists"),
    # A 5xx or a dropped connection says nothing about whether Twilio created the message.
    ErrorKind.SERVER: KindFact("reconcile", False, "retried after checking Twilio's message list"),
    ErrorKind.INVALID_NUMBER: KindFact(None, True, "correct the number or remove the lead"),
    ErrorKind.OPTED_OUT: KindFact(None, True, "the user is opted out until they send START"),
    ErrorKind.BLOCKED: KindFact(None, True, "the recipient blocked this sender"),
    ErrorKind.UNDELIVERABLE: KindFact(None, True, "the carrier or channel did not deliver it"),
    ErrorKind.CONTENT: KindFact(None, True, "fix the lead's values or the template"),
    ErrorKind.WINDOW: KindFact(None, True, "send an approved template outside the 24 h window"),
    ErrorKind.POLICY: KindFact(None, True, "filtered by policy; review the content and audience"),
    ErrorKind.AUTH: KindFact(None, False, "check the account SID and auth token"),
    ErrorKind.SENDER: KindFact(None, False, "check the From number or Messaging Service"),
    ErrorKind.REQUEST: KindFact(None, False, "the request is wrong; check the Content SID and options"),
    ErrorKind.UNKNOWN: KindFact(None, False, "look the code up on Twilio's error page"),
    # https://www.twilio.com/docs/api/errors/35114: SendAt must be 15 minutes to 35 days ahead.
    ErrorKind.SCHEDULE: KindFact(None, True, "schedule 15 minutes to 35 days ahead, or send it when due"),
    # https://www.twilio.com/docs/api/errors/30036: "Retry the message with a longer ValidityPeriod".
    ErrorKind.EXPIRED: KindFact(None, True, "it waited in Twilio's queue past its validity; send again if still relevant"),
}


class Code(IntEnum):
    """The Twilio error codes the SDK (and its local Twilio) name."""

    AUTHENTICATION = 20003
    NOT_FOUND = 20404
    TOO_MANY_REQUESTS = 20429
    INVALID_TO = 21211
    REGION_NOT_ENABLED = 21408
    BODY_REQUIRED = 21602
    FROM_REQUIRED = 21603
    TO_REQUIRED = 21604
    FROM_INVALID = 21606
    UNVERIFIED_TRIAL = 21608
    OPTED_OUT = 21610
    CANNOT_ROUTE = 21612
    NOT_MOBILE = 21614
    BODY_TOO_LONG = 21617
    CONTENT_SID_INVALID = 21655
    CONTENT_VARIABLES_INVALID = 21656
    PARAMETER_TOO_LONG = 21658
    UNREACHABLE = 30003
    BLOCKED_BY_CARRIER = 30004
    UNKNOWN_HANDSET = 30005
    LANDLINE = 30006
    FILTERED = 30007
    UNKNOWN_ERROR = 30008
    CHANNEL_NOT_FOUND = 63007
    CHANNEL_POLICY = 63013
    RECIPIENT_BLOCKED = 63014
    OUTSIDE_WINDOW = 63016
    CHANNEL_RATE_LIMIT = 63018
    CONTENT_REJECTED = 63021
    INVALID_RECIPIENT = 63024
    PARAMETER_COUNT = 63028
    MARKETING_EXPERIMENT = 63032
    MARKETING_NOT_DELIVERED = 63049
    VALIDITY_EXPIRED = 30036
    CANNOT_CANCEL = 30409
    SEND_AT_MISSING = 35111
    SEND_AT_UNSUPPORTED = 35114
    SEND_AT_UNSUPPORTED_2 = 35115
    SCHEDULE_TYPE_UNSUPPORTED = 35126
    VALIDITY_PERIOD_INVALID = 90007
    SCHEDULING_NEEDS_SERVICE = 35118


@dataclass(frozen=True)
class ErrorFact:
    """One Twilio error code: what it means, its kind, and where that is written."""

    code: int
    meaning: str
    kind: ErrorKind
    source: str

    @property
    def retryable(self) -> bool:
        return KINDS[self.kind].retryable

    @property
    def invalid_number(self) -> bool:
        """The number itself cannot receive: a later send would fail the same way."""
        return self.kind is ErrorKind.INVALID_NUMBER

    @property
    def opt_out(self) -> bool:
        """The recipient opted out (replied STOP)."""
        return self.kind is ErrorKind.OPTED_OUT


def _row(code: Code, meaning: str, kind: ErrorKind) -> ErrorFact:
    return ErrorFact(int(code), meaning, kind, ERROR_PAGE.format(code=int(code)))


K = ErrorKind
ERRORS: dict[int, ErrorFact] = {
    fact.code: fact
    for fact in (
        # Every row's source is https://www.twilio.com/docs/api/errors/<code>.
        _row(Code.AUTHENTICATION, "Authentication failed: wrong account SID or auth token", K.AUTH),
        _row(Code.NOT_FOUND, "The requested resource was not found", K.REQUEST),
        _row(Code.TOO_MANY_REQUESTS, "Too many concurrent requests (HTTP 429); not processed", K.RATE_LIMITED),
        _row(Code.INVALID_TO, "Invalid 'To' phone number", K.INVALID_NUMBER),
        _row(Code.REGION_NOT_ENABLED, "Permission to send to the 'To' number's region is not enabled", K.POLICY),
        _row(Code.BODY_REQUIRED, "A message body (or ContentSid) is required", K.REQUEST),
        _row(Code.FROM_REQUIRED, "A 'From' number or a MessagingServiceSid is required", K.SENDER),
        _row(Code.TO_REQUIRED, "A 'To' phone number is required", K.REQUEST),
        _row(Code.FROM_INVALID, "The 'From' number is not a valid message-capable Twilio number", K.SENDER),
        _row(Code.UNVERIFIED_TRIAL, "Trial accounts may only send to verified numbers", K.SENDER),
        _row(Code.OPTED_OUT, "Attempt to send to an unsubscribed recipient (replied STOP)", K.OPTED_OUT),
        _row(Code.CANNOT_ROUTE, "Twilio cannot connect this 'To' / 'From' combination", K.UNDELIVERABLE),
        _row(Code.NOT_MOBILE, "The 'To' number is not a valid mobile number", K.INVALID_NUMBER),
        _row(Code.BODY_TOO_LONG, "The message body exceeds 1,600 characters (emoji and non-GSM characters "
             "count more)", K.CONTENT),
        _row(Code.CONTENT_SID_INVALID, "The ContentSid is invalid", K.REQUEST),
        _row(Code.CONTENT_VARIABLES_INVALID,
             "The ContentVariables parameter is invalid: every value must be a non-empty string", K.CONTENT),
        _row(Code.PARAMETER_TOO_LONG,
             "A parameter exceeded its character limit (a Content variable value: 1,600, or its field's limit)",
             K.CONTENT),
        _row(Code.UNREACHABLE, "Unreachable destination handset", K.UNDELIVERABLE),
        _row(Code.BLOCKED_BY_CARRIER, "Message blocked by the carrier or the recipient", K.BLOCKED),
        _row(Code.UNKNOWN_HANDSET, "Unknown destination handset", K.UNDELIVERABLE),
        _row(Code.LANDLINE, "Landline or unreachable carrier", K.UNDELIVERABLE),
        _row(Code.FILTERED, "Message filtered (carrier spam filtering)", K.POLICY),
        _row(Code.UNKNOWN_ERROR, "Unknown error (the carrier gave no reason)", K.UNDELIVERABLE),
        _row(Code.CHANNEL_NOT_FOUND, "No channel sender with the 'From' address was found", K.SENDER),
        _row(Code.CHANNEL_POLICY,
             "Channel policy violation (e.g. more than 4 consecutive spaces or an empty value in a WhatsApp "
             "template variable)", K.CONTENT),
        _row(Code.RECIPIENT_BLOCKED, "The recipient blocked messages from this sender", K.BLOCKED),
        _row(Code.OUTSIDE_WINDOW, "Outside the 24 h window: only an approved template may be sent", K.WINDOW),
        _row(Code.CHANNEL_RATE_LIMIT, "Rate limit exceeded for the channel or sender", K.RATE_LIMITED),
        _row(Code.CONTENT_REJECTED, "The channel rejected the content (e.g. over 1,024 characters)", K.CONTENT),
        _row(Code.INVALID_RECIPIENT, "Invalid message recipient: not an active WhatsApp user", K.INVALID_NUMBER),
        _row(Code.PARAMETER_COUNT,
             "The number of ContentVariables does not match the template's placeholders", K.CONTENT),
        _row(Code.MARKETING_EXPERIMENT, "Meta did not deliver this marketing template (experiment)", K.POLICY),
        _row(Code.MARKETING_NOT_DELIVERED, "Meta chose not to deliver this marketing template", K.POLICY),
        # Scheduling and validity (pages read 2026-12-01).
        _row(Code.VALIDITY_EXPIRED,
             "Validity period expired: the message stayed in Twilio's queue longer than its ValidityPeriod", K.EXPIRED),
        _row(Code.CANNOT_CANCEL, "This message cannot be canceled: it is no longer scheduled", K.REQUEST),
        _row(Code.SEND_AT_UNSUPPORTED,
             "Scheduling does not support this timestamp: SendAt must be 15 minutes to 35 days ahead, ISO 8601 UTC",
             K.SCHEDULE),
        _row(Code.SEND_AT_MISSING, "SendAt timestamp is missing: required when ScheduleType is 'fixed'", K.REQUEST),
        _row(Code.SEND_AT_UNSUPPORTED_2,
             "Scheduling does not support this timestamp (as 35114; one revision says 300 s, not 15 minutes)",
             K.SCHEDULE),
        _row(Code.SCHEDULE_TYPE_UNSUPPORTED, "The ScheduleType value is not supported: only 'fixed'", K.REQUEST),
        _row(Code.VALIDITY_PERIOD_INVALID, "Invalid validity period value: whole seconds from 1 to 36,000", K.REQUEST),
        _row(Code.SCHEDULING_NEEDS_SERVICE, "A MessagingServiceSid is required to schedule a message", K.SENDER),
    )
}

# 30xxx are carrier delivery errors, reported with status "undelivered"; channel errors (63xxx)
# come with "failed" (https://www.twilio.com/docs/api/errors: "Messaging - Delivery" range).
CARRIER_CODES = range(30000, 40000)

# Twilio's magic test numbers and the error the test API answers for each
# (https://www.twilio.com/docs/iam/test-credentials).
MAGIC_NUMBERS: dict[str, int] = {
    numbers.MAGIC_TO_INVALID: int(Code.INVALID_TO),
    numbers.MAGIC_TO_OPTED_OUT: int(Code.OPTED_OUT),
    numbers.MAGIC_TO_NOT_MOBILE: int(Code.NOT_MOBILE),
}


def describe(code: int | None) -> ErrorFact | None:
    """The row for ``code`` (None when the SDK does not know it)."""
    return ERRORS.get(int(code)) if code is not None else None


def meaning(code: int | None) -> str:
    """Twilio's meaning of ``code`` ('' when unknown)."""
    fact = describe(code)
    return fact.meaning if fact else ""


def kind_of(*, code: int | None, status: int | None) -> ErrorKind:
    """The kind of a Twilio failure from its error code and HTTP status.

    A known code decides; otherwise HTTP 429 is rate limited, 5xx (or no answer at all) is the
    server's side, 401 / 403 are authentication; any other failure is ``unknown``.
    """
    fact = describe(code)
    if fact is not None:
        return fact.kind
    if status == 429:
        return ErrorKind.RATE_LIMITED
    if status is None and code is None:
        return ErrorKind.SERVER  # no answer: the request may or may not have been processed
    if status is not None and status >= 500:
        return ErrorKind.SERVER
    if status in (401, 403):
        return ErrorKind.AUTH
    return ErrorKind.UNKNOWN


def kind_of_code(code: int) -> ErrorKind:
    """The kind of an error code reported with a failed / undelivered status (no HTTP status)."""
    fact = describe(code)
    return fact.kind if fact is not None else ErrorKind.UNKNOWN


def codes_of(kind: ErrorKind) -> frozenset[int]:
    """Every known code of ``kind``."""
    return frozenset(code for code, fact in ERRORS.items() if fact.kind is kind)
