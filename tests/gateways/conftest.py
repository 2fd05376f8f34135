"""A local Twilio server and a TwilioGateway whose real twilio-python client talks to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from campaign_sdk.gateways import TwilioGateway
from campaign_sdk.testing import TwilioTestServer

SERVICE_SID = "MG" + "7" * 32


@pytest.fixture
def twilio_server() -> Iterator[TwilioTestServer]:
    with TwilioTestServer() as server:
        yield server


@pytest.fixture
def gateway(twilio_server: TwilioTestServer) -> TwilioGateway:
    return TwilioGateway(twilio_server.twilio_client(), messaging_service_sid=SERVICE_SID, rate=None)
