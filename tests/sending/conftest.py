"""Sending tests: the real twilio-python client over HTTP to a local Twilio server, on a SQLite
file and on PostgreSQL (``store_url``).

The ``twilio_server`` and ``gateway`` fixtures read two names of the test module:

- ``START`` (a UTC datetime): the server runs on a simulated clock that stands still at that moment
  until a test moves it (``server.simulator.clock.advance``), and the gateway reads the same clock
  (:class:`ClockedTwilioGateway`); without it, the wall clock;
- ``SENDER``: ``"service"`` (the default: a Messaging Service, so Twilio's scheduler can hold a
  message) or ``"number"`` (``from_`` :data:`FROM_NUMBER` only: the local worker holds every deferred
  message).

A test that needs another gateway (a messaging tier, a channel) builds it with :func:`gateway_for`.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
import pytest

from campaign_sdk import Campaign, CampaignClient, DeliveryPolicy
from campaign_sdk.gateways import TwilioGateway
from campaign_sdk.sending import RetryPolicy
from campaign_sdk.simulator import Clock, Simulator
from campaign_sdk.testing import TwilioTestServer

from tests.conftest import SERVICE_SID

FAST_RETRY = RetryPolicy(attempts=5, initial=0.01, maximum=0.05, jitter=0.01)
# Sends at any hour: the tests of the send loop itself do not depend on the time of day (the
# delivery policy's tests set their own windows, see test_deferral.py).
ANY_HOUR = DeliveryPolicy(window=None)


class ClockedTwilioGateway(TwilioGateway):
    """A TwilioGateway whose clock is the simulated account's (Twilio's clock, in these tests)."""

    def __init__(self, client: Any, simulator: Simulator, **options: Any) -> None:
        super().__init__(client, **options)
        self._simulator = simulator

    def now(self) -> dt.datetime:
        return self._simulator.now()


@contextmanager
def clocked_twilio_server(start: dt.datetime) -> Iterator[TwilioTestServer]:
    """The local Twilio server on a simulated clock that stands still at ``start`` (moved by
    ``server.simulator.advance``): the gateway, the plan and Twilio read the same time."""
    with TwilioTestServer(simulator=Simulator(0, clock=Clock(start, realtime=False))) as server:
        yield server


FROM_NUMBER = "+15005550006"  # a sender number without a Messaging Service


def gateway_for(server: TwilioTestServer, *, sender: str = "service", **options: Any) -> TwilioGateway:
    """A gateway whose real twilio-python client talks to ``server`` (no rate limit unless
    ``options`` sets one), on the server's simulated clock when it has one (see the module's docstring)."""
    sender_options = {"messaging_service_sid": SERVICE_SID} if sender == "service" else {"from_": FROM_NUMBER}
    options = {"rate": None, **sender_options, **options}
    if server.simulator.clock.realtime:
        return TwilioGateway(server.twilio_client(), **options)
    return ClockedTwilioGateway(server.twilio_client(), server.simulator, **options)


@pytest.fixture
def twilio_server(request: pytest.FixtureRequest) -> Iterator[TwilioTestServer]:
    """The local Twilio server; on a clock standing at the module's ``START`` when it has one."""
    start = getattr(request.module, "START", None)
    with (clocked_twilio_server(start) if start is not None else TwilioTestServer()) as server:
        yield server


@pytest.fixture
def gateway(request: pytest.FixtureRequest, twilio_server: TwilioTestServer) -> TwilioGateway:
    """:func:`gateway_for` the module's ``SENDER`` (default ``"service"``)."""
    return gateway_for(twilio_server, sender=getattr(request.module, "SENDER", "service"))


def numbers(count: int, *, start: int = 0) -> list[str]:
    """Valid, distinct US numbers."""
    return [f"+1415555{i:04d}" for i in range(start, start + count)]


def leads_frame(count: int, *, start: int = 0) -> pd.DataFrame:
    phones = numbers(count, start=start)
    return pd.DataFrame(
        {"phone_number": phones, "lead_name": [f"Lead{i}" for i in range(count)],
         "order_id": [f"A-{p[-4:]}" for p in phones]}
    )


@pytest.fixture
def sender(migrated_url: str, gateway: TwilioGateway) -> Iterator[CampaignClient]:
    with CampaignClient(migrated_url, gateway=gateway) as client:
        client.delivery_policy = ANY_HOUR
        yield client


def approve(campaign: Campaign, server: TwilioTestServer) -> Campaign:
    """Submit through the gateway, let WhatsApp approve on the server, sync, enable."""
    campaign.submit_for_approval(category="UTILITY")
    server.set_approval(content_sid(campaign), "approved")
    campaign.sync_approval()
    return campaign.enable()


def content_sid(campaign: Campaign) -> str:
    return str(campaign._row().content_sid)


@pytest.fixture
def ready_campaign(sender: CampaignClient, twilio_server: TwilioTestServer) -> Callable[..., Campaign]:
    """An approved, enabled order_confirmation campaign with ``count`` leads."""

    def make(count: int = 20, *, name: str = "Orders", frame: pd.DataFrame | None = None) -> Campaign:
        campaign = sender.create_campaign(name, template="order_confirmation")
        campaign.add_leads(leads_frame(count) if frame is None else frame)
        return approve(campaign, twilio_server)

    return make


def disabled_midway(campaign: Campaign, server: TwilioTestServer, *, after: int = 6) -> Any:
    """Send ``campaign`` in a thread (2 in flight, each request 30 ms) and disable it once the
    server has ``after`` messages; the stopped send's report."""
    server.fail("slow", delay=0.03, times=None)
    result: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: result.update(report=campaign.send(progress=False, max_in_flight=2)))
    worker.start()
    server.wait_for(lambda s: len(s.sent()) >= after)
    campaign.disable()
    worker.join(timeout=30)
    return result["report"]
