"""What to do with a gateway error: retry it, reconcile first, fail the lead, or stop the send."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from campaign_sdk._exceptions import GatewayError

# Errors about one recipient or one message: the lead fails, the send goes on.
RECIPIENT_ERRORS = frozenset(
    {21211, 21408, 21610, 21612, 21614, 21656, 30003, 30005, 30006, 30007, 30008,
     63014, 63016, 63021, 63024, 63032, 63049}
)


class ErrorKind(StrEnum):
    THROTTLED = "throttled"    # 429 / 20429: not processed, safe to retry
    AMBIGUOUS = "ambiguous"    # 5xx or no answer: may have been processed, reconcile before retrying
    RECIPIENT = "recipient"    # permanent for this lead: record it and go on
    FATAL = "fatal"            # anything else (auth, sender, content): stop the whole send


def classify(error: GatewayError) -> ErrorKind:
    """Sort a gateway error by what the sender must do about it.

    >>> classify(GatewayError("busy", code=20429, status=429))
    <ErrorKind.THROTTLED: 'throttled'>
    >>> classify(GatewayError("no answer"))
    <ErrorKind.AMBIGUOUS: 'ambiguous'>
    >>> classify(GatewayError("unsubscribed", code=21610, status=400))
    <ErrorKind.RECIPIENT: 'recipient'>
    >>> classify(GatewayError("bad credentials", code=20003, status=401))
    <ErrorKind.FATAL: 'fatal'>

    An unknown 4xx error stops the send rather than failing every lead one by one.
    """
    if error.status == 429 or error.code == 20429:
        return ErrorKind.THROTTLED
    if error.status is None and error.code is None:
        return ErrorKind.AMBIGUOUS
    if error.status is not None and error.status >= 500:
        return ErrorKind.AMBIGUOUS
    if error.code in RECIPIENT_ERRORS:
        return ErrorKind.RECIPIENT
    return ErrorKind.FATAL


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of throttled and ambiguous requests: exponential backoff with jitter.

    >>> RetryPolicy(attempts=3, initial=0.01).attempts
    3
    """

    attempts: int = 6
    initial: float = 0.5
    maximum: float = 30.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
