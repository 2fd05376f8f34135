"""Who holds a deferred message: Twilio's scheduler (a Messaging Service and a moment 15 minutes
to 35 days ahead) or the local worker (the sandbox, a From number, any other moment)."""

from __future__ import annotations

import datetime as dt

import pytest
from twilio.rest import Client

from campaign_sdk.delivery import in_twilio_window, twilio_can_schedule
from campaign_sdk.facts import scheduling
from campaign_sdk.gateways import SandboxGateway, TwilioGateway

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
CLIENT = Client("AC" + "0" * 32, "secret")


def test_only_a_twilio_gateway_with_a_messaging_service_can_hand_messages_to_twilios_scheduler() -> None:
    assert twilio_can_schedule(TwilioGateway(CLIENT, messaging_service_sid="MG" + "1" * 32))
    assert not twilio_can_schedule(TwilioGateway(CLIENT, from_="+15005550006"))  # Twilio drops SendAt
    assert not twilio_can_schedule(SandboxGateway(seed=0))  # simulated: the worker holds it


@pytest.mark.parametrize(("seconds", "inside"), [
    (0, False), (899, False), (900, True), (3_024_000, True), (3_024_001, False),
])
def test_the_window_is_twilios_both_ends_included(seconds: int, inside: bool) -> None:
    assert scheduling.SEND_AT_MIN_AHEAD.total_seconds() == 900
    assert scheduling.SEND_AT_MAX_AHEAD == dt.timedelta(days=35)
    assert in_twilio_window(NOW + dt.timedelta(seconds=seconds), NOW) is inside
    # a naive moment is UTC, as the store keeps it
    assert in_twilio_window((NOW + dt.timedelta(seconds=seconds)).replace(tzinfo=None), NOW) is inside
