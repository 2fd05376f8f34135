"""Gateways: the only code that talks to Twilio (or simulates it).

>>> from campaign_sdk.gateways import SandboxGateway
>>> SandboxGateway(seed=0).simulated
True

``TwilioGateway`` wraps a real ``twilio.rest.Client``; ``SandboxGateway`` is the embedded default
and a deterministic simulator (:mod:`campaign_sdk.simulator`, the same one the local HTTP Twilio
server serves). Both satisfy the small :class:`Gateway` protocol; ``tests/gateways/contract``
runs the same cases against each.
"""

from __future__ import annotations

from campaign_sdk.gateways._base import (
    ApprovalResult,
    ContentRequest,
    Gateway,
    MessageRecord,
    SendRequest,
    SentMessage,
    address,
    strip_channel,
)
from campaign_sdk.gateways._http import RetryAfterHttpClient
from campaign_sdk.gateways._pricing import PricingWarning
from campaign_sdk.gateways._sandbox import REJECTION_MARKER, SandboxGateway
from campaign_sdk.gateways._twilio import TwilioGateway

__all__ = [
    "ApprovalResult",
    "ContentRequest",
    "Gateway",
    "MessageRecord",
    "PricingWarning",
    "REJECTION_MARKER",
    "RetryAfterHttpClient",
    "SandboxGateway",
    "SendRequest",
    "SentMessage",
    "TwilioGateway",
    "address",
    "strip_channel",
]
