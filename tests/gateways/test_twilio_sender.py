"""A TwilioGateway's sender: what a deferred message keeps (``sender``), its number type worked
out once (read by the SMS default rate and by the SMS prices), and ``from_env`` reading the
sender's number from ``TWILIO_FROM`` as the worker and the server do."""

from __future__ import annotations

import pytest
from twilio.rest import Client

from campaign_sdk._exceptions import GatewayError
from campaign_sdk.gateways import TwilioGateway
from campaign_sdk.gateways._twilio import TWILIO_ENV

from tests.conftest import SERVICE_SID

TOKEN = "env-s3cret-7c1d"


def test_the_sender_is_the_messaging_service_else_the_bare_from_number() -> None:
    client = Client("AC" + "0" * 32, TOKEN)
    assert TwilioGateway(client, messaging_service_sid=SERVICE_SID, from_="+14155550100").sender == SERVICE_SID
    assert TwilioGateway(client, from_="+14155550100").sender == "+14155550100"  # not whatsapp:+1...
    assert TwilioGateway(client, from_="whatsapp:+14155550100", channel="sms").sender == "+14155550100"


def test_the_number_type_is_worked_out_once_and_read_by_rate_and_prices(monkeypatch, twilio_server) -> None:
    from campaign_sdk.gateways import _pricing, _twilio

    calls: list[str | None] = []
    real = _twilio.sender_type

    def counted(*args, **kwargs):
        calls.append(kwargs.get("from_"))
        return real(*args, **kwargs)

    monkeypatch.setattr(_twilio, "sender_type", counted)
    gateway = TwilioGateway(twilio_server.twilio_client(), from_="+18005550100", channel="sms")
    assert gateway.default_rate == 3 and gateway.number_type == ("toll free", None)
    table, source = _pricing.gateway_prices(gateway, ["US"], "sms")  # Twilio's Pricing API, on the local server
    assert source.endswith("for a toll free sender") and list(table["country"]) == ["US"]
    assert len(calls) == 1  # once, for both


@pytest.fixture
def twilio_env(monkeypatch: pytest.MonkeyPatch):
    for name in TWILIO_ENV.values():
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_from_env_takes_the_senders_number_from_twilio_from(twilio_env) -> None:
    twilio_env.setenv("TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    twilio_env.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    twilio_env.setenv("TWILIO_FROM", "+15005550006")
    gateway = TwilioGateway.from_env(channel="sms")
    assert gateway.from_ == "+15005550006" and gateway.messaging_service_sid is None
    twilio_env.setenv("TWILIO_MESSAGING_SERVICE_SID", SERVICE_SID)  # a Messaging Service wins, as in the worker
    assert TwilioGateway.from_env().sender == SERVICE_SID


def test_from_env_without_a_sender_names_both_ways_to_give_one(twilio_env) -> None:
    twilio_env.setenv("TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    twilio_env.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    with pytest.raises(GatewayError, match=r"TWILIO_MESSAGING_SERVICE_SID \(or TWILIO_FROM\)") as raised:
        TwilioGateway.from_env()
    assert TOKEN not in str(raised.value)
