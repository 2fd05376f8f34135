"""``TwilioGateway.send_message`` makes exactly the request ``client.messages.create`` makes (it
skips only twilio-python's ``MessageInstance``): same URL, form fields in the same order,
headers, credentials, and the same answer read back; Twilio's refusals stay GatewayErrors."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from campaign_sdk import GatewayError
from campaign_sdk.gateways import ContentRequest, SendRequest, TwilioGateway
from campaign_sdk.testing import TwilioTestServer

from tests.conftest import SERVICE_SID

TEXT = ContentRequest(
    friendly_name="order_update_1", content_type="twilio/text",
    types={"twilio/text": {"body": "Hi {{1}}, your order {{2}} has shipped."}}, variables={"1": "Ana", "2": "A-1"},
)


def recording(gateway: TwilioGateway) -> list[dict[str, Any]]:
    """Every call the gateway's twilio-python client makes to its HTTP client, as passed."""
    http = gateway.client.http_client
    calls: list[dict[str, Any]] = []
    real = http.request

    def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        calls.append({"method": method, "url": url, "args": args, **kwargs,
                      "data": list((kwargs.get("data") or {}).items())})
        return real(method, url, *args, **kwargs)

    http.request = request
    return calls


@pytest.mark.parametrize("sender", ["service", "from"])
def test_send_message_makes_the_request_messages_create_makes(twilio_server: TwilioTestServer, sender: str) -> None:
    if sender == "service":
        gateway = TwilioGateway(twilio_server.twilio_client(), messaging_service_sid=SERVICE_SID, rate=None,
                                status_callback="https://example.com/status")
        send_at = twilio_server.simulator.now().astimezone(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=2)
        sender_option: dict[str, Any] = {"messaging_service_sid": SERVICE_SID, "schedule_type": "fixed",
                                         "send_at": send_at}
    else:
        gateway = TwilioGateway(twilio_server.twilio_client(), from_="+15005550006", channel="sms", rate=None,
                                status_callback="https://example.com/status")
        send_at = None
        sender_option = {"from_": "+15005550006"}
    content_sid = gateway.create_content(TEXT)
    calls = recording(gateway)
    variables = {"1": "Zoë", "2": "A-1"}

    sent = gateway.send_message(SendRequest("+14155552671", content_sid, variables, send_at=send_at,
                                            validity_period=3600))
    created = gateway.client.messages.create(
        to=("whatsapp:" if sender == "service" else "") + "+14155552671", status_callback="https://example.com/status",
        validity_period=3600, content_variables=json.dumps(variables, ensure_ascii=False), content_sid=content_sid,
        **sender_option,
    )

    ours, theirs = calls
    assert ours == theirs  # URL, form fields and their order, headers, credentials, timeout
    assert [name for name, _ in ours["data"]][:3] == ["To", "StatusCallback", "ValidityPeriod"]
    assert dict(ours["data"])["ContentVariables"] == '{"1": "Zoë", "2": "A-1"}'
    if send_at is not None:
        assert dict(ours["data"])["SendAt"] == send_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    first, second = twilio_server.requests[-2:]
    assert first.form == second.form and first.path == second.path
    assert sent.sid.startswith("SM") and sent.sid != created.sid
    assert (sent.status, sent.to) == (created.status, "+14155552671")
    assert sent.status == ("scheduled" if send_at is not None else "queued")
    assert sent.date_created is not None and sent.date_created.tzinfo is not None
    assert abs((sent.date_created - created.date_created).total_seconds()) <= 1


def test_a_refused_send_is_a_gateway_error_with_twilios_code(gateway: TwilioGateway,
                                                             twilio_server: TwilioTestServer) -> None:
    content_sid = gateway.create_content(TEXT)
    twilio_server.reject_number("+14155550100", 21211)
    with pytest.raises(GatewayError) as raised:
        gateway.send_message(SendRequest("+14155550100", content_sid, {"1": "Ana", "2": "A-1"}))
    assert (raised.value.code, raised.value.status, raised.value.kind) == (21211, 400, "invalid_number")
    assert "send to +14155550100" in str(raised.value)
