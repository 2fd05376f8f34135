"""A local, Twilio-compatible HTTP server for tests and benchmarks (never for production).

>>> from campaign_sdk.testing import TwilioTestServer
>>> with TwilioTestServer() as server:
...     server.url.startswith("http://127.0.0.1:")
True

It is :class:`campaign_sdk.simulator.Simulator` (the one behind ``SandboxGateway``) over HTTP.
The real ``twilio.rest.Client`` talks to it through :class:`LocalTwilioHttpClient`; it records
every request (:class:`RecordedRequest`) and injects :class:`Fault` s. Run it on its own with
``python -m campaign_sdk.testing --latency 0.005`` (it prints its URL and credentials).
"""

from __future__ import annotations

from campaign_sdk.testing._http import LocalTwilioHttpClient
from campaign_sdk.testing._server import DEFAULT_ACCOUNT, DEFAULT_TOKEN, TwilioTestServer
from campaign_sdk.testing._state import Fault, RecordedRequest

__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_TOKEN",
    "Fault",
    "LocalTwilioHttpClient",
    "RecordedRequest",
    "TwilioTestServer",
]
