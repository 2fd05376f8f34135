"""Retry-After: the local server sends it with a 429, TwilioGateway reads it through its HTTP
client (twilio-python's exceptions drop headers), and ``send()`` waits at least that long."""

from __future__ import annotations

import pytest
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from campaign_sdk import DeliveryPolicy, CampaignClient, GatewayError
from campaign_sdk.gateways import RetryAfterHttpClient, SendRequest, TwilioGateway
from campaign_sdk.sending import RetryPolicy
from campaign_sdk.testing import TwilioTestServer

from tests.conftest import SERVICE_SID
from tests.sending.conftest import approve, leads_frame


def _creates(server: TwilioTestServer) -> list:
    return [r for r in server.requests if r.method == "POST" and r.path.endswith("/Messages.json")]


@pytest.mark.parametrize("problem", [False, True])
def test_a_429_retry_after_header_reaches_the_gateway_error(gateway, twilio_server, problem) -> None:
    twilio_server.fail("throttle", retry_after=3, problem=problem)
    with pytest.raises(GatewayError) as raised:
        gateway.send_message(SendRequest("+14155552671", twilio_server.add_content("Hi {{1}}, ok."), {"1": "x"}))
    assert (raised.value.kind, raised.value.status, raised.value.retry_after) == ("rate_limited", 429, 3.0)


def test_a_429_without_the_header_has_no_retry_after(gateway, twilio_server) -> None:
    twilio_server.fail("throttle")
    with pytest.raises(GatewayError) as raised:
        gateway.send_message(SendRequest("+14155552671", twilio_server.add_content("Hi {{1}}, ok."), {"1": "x"}))
    assert raised.value.status == 429 and raised.value.retry_after is None


def test_a_client_that_shares_its_last_answer_across_threads_is_not_read(twilio_server) -> None:
    class Shared(TwilioHttpClient):  # twilio-python's default: one last answer for every thread
        def request(self, method, url, *args, **kwargs):
            return super().request(method, url.replace("https://api.twilio.com", twilio_server.url), *args, **kwargs)

    gateway = TwilioGateway(Client(twilio_server.account_sid, twilio_server.auth_token, http_client=Shared()),
                            messaging_service_sid=SERVICE_SID)
    twilio_server.fail("throttle", retry_after=3)
    with pytest.raises(GatewayError) as raised:
        gateway.send_message(SendRequest("+14155552671", twilio_server.add_content("Hi {{1}}, ok."), {"1": "x"}))
    assert raised.value.status == 429 and raised.value.retry_after is None
    assert isinstance(twilio_server.http_client(), RetryAfterHttpClient)


def test_send_waits_as_long_as_the_server_asked(tmp_path, twilio_server) -> None:
    gateway = TwilioGateway(twilio_server.twilio_client(), messaging_service_sid=SERVICE_SID, rate=None)
    with CampaignClient(f"sqlite:///{tmp_path / 'r.db'}", gateway=gateway) as client:
        client.delivery_policy = DeliveryPolicy(window=None)  # any hour (the default: 09-21 local)
        campaign = client.create_campaign("R", template="order_confirmation")
        campaign.add_leads(leads_frame(3))
        approve(campaign, twilio_server)
        twilio_server.fail("throttle", retry_after=1)  # the first send is refused: wait 1 s
        report = campaign.send(progress=False, max_in_flight=1,
                               retry=RetryPolicy(attempts=4, initial=0.001, maximum=0.01, jitter=0))
    assert report.sent == 3 and len(twilio_server.sent()) == 3
    first, *rest = sorted(_creates(twilio_server), key=lambda r: r.at)
    assert first.status == 429 and first.fault == "throttle"
    # the backoff alone would wait about 1 ms; Retry-After asked for 1 s
    assert min(r.at for r in rest) - first.at >= 1.0
