"""Prices through twilio-python's Pricing API, over real HTTP to the local Twilio server."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException

from campaign_sdk.gateways import SandboxGateway
from campaign_sdk.gateways._pricing import (
    SANDBOX_SOURCE,
    gateway_prices,
    twilio_sms_prices,
)
from campaign_sdk.testing import TwilioTestServer


def test_sms_prices_keep_the_highest_carrier_price_and_leave_unpriced_countries_out(
    twilio_server: TwilioTestServer,
) -> None:
    table = twilio_sms_prices(twilio_server.twilio_client(), ["US", "GB", "FR"])
    assert table.set_index("country")["price"].to_dict() == {"GB": 0.0463, "US": 0.0083}
    assert set(table["currency"]) == {"USD"} and set(table["category"]) == {"*"}
    assert [r.path for r in twilio_server.requests] == [
        "/v1/Messaging/Countries/FR", "/v1/Messaging/Countries/GB", "/v1/Messaging/Countries/US"]
    toll_free = twilio_sms_prices(twilio_server.twilio_client(), ["US"], number_type="tollfree")
    assert toll_free["price"].tolist() == [0.0083]


def test_a_pricing_error_other_than_not_found_is_raised(twilio_server: TwilioTestServer) -> None:
    from twilio.rest import Client

    wrong = Client(twilio_server.account_sid, "wrong-token", http_client=twilio_server.http_client())
    with pytest.raises(TwilioRestException) as caught:
        twilio_sms_prices(wrong, ["US"])
    assert caught.value.status == 401


def test_the_sandbox_carries_a_labelled_fixed_table() -> None:
    table, source = gateway_prices(SandboxGateway(seed=0), ["US"], "whatsapp")
    assert source == SANDBOX_SOURCE and "not Twilio's" in source
    assert {"sms", "whatsapp"} <= set(table["channel"])
