"""``RetryAfterHttpClient``: twilio-python's HTTP client that keeps each thread's last answer, so a
429's ``Retry-After`` header reaches :class:`~campaign_sdk.GatewayError` (twilio-python's
exceptions drop the response headers)."""

from __future__ import annotations

import datetime as dt
import email.utils
import threading
from collections.abc import Mapping
from typing import Any

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response


class RetryAfterHttpClient(TwilioHttpClient):
    """twilio-python's own ``TwilioHttpClient`` (requests, pooled connections); it also keeps the
    last answer *per thread* (:meth:`answer`), which the base class keeps once for all threads.

    >>> from twilio.rest import Client
    >>> client = Client("AC" + "0" * 32, "secret", http_client=RetryAfterHttpClient())
    >>> client.http_client.answer() is None  # nothing asked yet on this thread
    True
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._answers = threading.local()

    def request(self, *args: Any, **kwargs: Any) -> Response:
        self._answers.last = None
        response = super().request(*args, **kwargs)
        self._answers.last = response
        return response

    def answer(self) -> Response | None:
        """The last answer this thread received (None before any)."""
        return getattr(self._answers, "last", None)


def retry_after(http_client: Any) -> float | None:
    """Seconds asked by the ``Retry-After`` header of this thread's last answer (None: no header,
    or a client that does not keep answers per thread)."""
    if not isinstance(http_client, RetryAfterHttpClient):
        return None
    answer = http_client.answer()
    headers: Mapping[str, str] = getattr(answer, "headers", None) or {}
    return parse_retry_after(headers.get("Retry-After"))


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """RFC 9110 ``Retry-After``: delay-seconds or an HTTP-date.

    >>> parse_retry_after("3"), parse_retry_after(None), parse_retry_after("soon")
    (3.0, None, None)
    >>> parse_retry_after("Tue, 01 Dec 2026 12:00:05 GMT", now=dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC))
    5.0
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())
