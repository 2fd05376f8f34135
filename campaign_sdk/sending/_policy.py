"""What to do with a gateway error: retry it, reconcile first, fail the lead, or stop the send.

The decision reads only the error's kind (``GatewayError.kind``) and what
``campaign_sdk.facts.errors.KINDS`` says about it; never a Twilio error code.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from campaign_sdk._exceptions import GatewayError
from campaign_sdk.facts.errors import KINDS


class Action(StrEnum):
    """What the sender does about a failed request."""

    THROTTLED = "throttled"    # rate limited: not processed, safe to retry after a backoff
    AMBIGUOUS = "ambiguous"    # server side or no answer: may have been processed, reconcile first
    RECIPIENT = "recipient"    # permanent for this lead: record it and go on
    FATAL = "fatal"            # anything else (auth, sender, request, unknown): stop the whole send


def classify(error: GatewayError) -> Action:
    """Sort a gateway error by what the sender must do about it (by its kind alone).

    >>> classify(GatewayError("busy", kind="rate_limited"))
    <Action.THROTTLED: 'throttled'>
    >>> classify(GatewayError("no answer", kind="server"))
    <Action.AMBIGUOUS: 'ambiguous'>
    >>> classify(GatewayError("unsubscribed", kind="opted_out"))
    <Action.RECIPIENT: 'recipient'>
    >>> classify(GatewayError("bad credentials", kind="auth"))
    <Action.FATAL: 'fatal'>

    An unknown error stops the send rather than failing every lead one by one.
    """
    fact = KINDS[error.kind]
    if fact.retry == "backoff":
        return Action.THROTTLED
    if fact.retry == "reconcile":
        return Action.AMBIGUOUS
    return Action.RECIPIENT if fact.per_lead else Action.FATAL


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
