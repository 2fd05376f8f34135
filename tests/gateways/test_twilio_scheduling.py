"""Scheduling and validity on the wire: what TwilioGateway sends, and how the local server answers
requests the gateway never makes (raw twilio-python calls)."""

from __future__ import annotations

import datetime as dt
import json
import urllib.request

import pytest

from campaign_sdk import GatewayError
from campaign_sdk.facts.errors import Code
from campaign_sdk.gateways import SendRequest, TwilioGateway

from tests.conftest import SERVICE_SID


def test_send_at_and_validity_become_twilio_form_fields(gateway, twilio_server) -> None:
    sid = twilio_server.add_content("Hi {{1}}, your order is ready.")
    at = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=2)
    sent = gateway.send_message(SendRequest("+14155552671", sid, {"1": "Ana"}, send_at=at, validity_period=600))
    request = twilio_server.requests[-1]
    assert (request.field("ScheduleType"), request.field("SendAt")) == ("fixed", at.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert request.field("ValidityPeriod") == "600"
    assert sent.status == "scheduled"
    canceled = gateway.cancel_message(sent.sid)
    assert twilio_server.requests[-1].path.endswith(f"/Messages/{sent.sid}.json")
    assert twilio_server.requests[-1].field("Status") == "canceled"
    assert canceled.status == "canceled"


def test_a_plain_send_has_no_scheduling_fields(gateway, twilio_server) -> None:
    gateway.send_message(SendRequest("+14155552671", twilio_server.add_content("Hi {{1}}, ready."), {"1": "Ana"}))
    form = twilio_server.requests[-1].form
    assert not {"ScheduleType", "SendAt", "ValidityPeriod"} & set(form)


def test_a_gateway_without_a_messaging_service_refuses_to_schedule(twilio_server) -> None:
    gateway = TwilioGateway(twilio_server.twilio_client(), from_="+15005550006")
    assert gateway.schedule_window is None
    at = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    with pytest.raises(GatewayError, match="Messaging Service") as raised:
        gateway.send_message(SendRequest("+14155552671", twilio_server.add_content("Hi {{1}}, ok."), {"1": "A"},
                                         send_at=at))
    assert raised.value.kind == "sender"
    assert twilio_server.sent() == []


def test_send_at_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        SendRequest("+14155552671", "HX" + "0" * 32, {}, send_at=dt.datetime(2026, 1, 1, 12))


def _raw(twilio_server, **options):
    client = twilio_server.twilio_client()
    sid = twilio_server.add_content("Hi {{1}}, ok.")
    return client.messages.create(to="whatsapp:+14155552671", content_sid=sid, content_variables='{"1": "A"}',
                                  **options)


def test_without_a_messaging_service_twilio_drops_send_at_and_sends_now(twilio_server) -> None:
    at = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    message = _raw(twilio_server, from_="whatsapp:+15005550006", schedule_type="fixed", send_at=at)
    assert message.status == "queued"


@pytest.mark.parametrize(("options", "code"), [
    ({"schedule_type": "fixed"}, Code.SEND_AT_MISSING),
    ({"schedule_type": "later", "send_at": "2030-01-01T00:00:00Z"}, Code.SCHEDULE_TYPE_UNSUPPORTED),
    ({"schedule_type": "fixed", "send_at": "tomorrow"}, Code.SEND_AT_UNSUPPORTED),
    ({"validity_period": 0}, Code.VALIDITY_PERIOD_INVALID),
])
def test_malformed_scheduling_requests_get_twilio_codes(twilio_server, options, code) -> None:
    from twilio.base.exceptions import TwilioRestException

    with pytest.raises(TwilioRestException) as raised:
        _raw(twilio_server, messaging_service_sid=SERVICE_SID, **options)
    assert raised.value.code == code


def test_the_clock_advances_over_http_and_a_scheduled_message_goes_at_send_at(gateway, twilio_server) -> None:
    sid = twilio_server.add_content("Hi {{1}}, ok.")
    at = twilio_server.simulator.now() + dt.timedelta(minutes=30)
    sent = gateway.send_message(SendRequest("+14155552671", sid, {"1": "A"}, send_at=at))
    body = json.dumps({"seconds": 31 * 60}).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{twilio_server.url}/_test/advance", data=body,
                                                       method="POST")) as answer:
        assert dt.datetime.fromisoformat(json.loads(answer.read())["now"]) > at
    # a scripted server: the message leaves the schedule for the queue and waits there
    [record] = gateway.list_messages(to="+14155552671")
    assert (record.sid, record.status) == (sent.sid, "queued")
