"""TwilioGateway through the real twilio-python Client over HTTP to the local Twilio server."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from twilio.rest import Client

from campaign_sdk import ApprovalState, GatewayError
from campaign_sdk.gateways import ContentRequest, SendRequest, TwilioGateway
from campaign_sdk.testing import TwilioTestServer

from tests.conftest import SERVICE_SID

TEXT = ContentRequest(
    friendly_name="order_update_1", content_type="twilio/text",
    types={"twilio/text": {"body": "Hi {{1}}, your order {{2}} has shipped."}}, variables={"1": "Ana", "2": "A-1"},
)


def test_create_content_posts_json_with_numbered_variables(gateway, twilio_server) -> None:
    sid = gateway.create_content(TEXT)
    request = twilio_server.requests[-1]
    assert (request.method, request.path) == ("POST", "/v1/Content")
    assert sid.startswith("HX") and len(sid) == 34
    assert request.json["friendly_name"] == "order_update_1"
    assert request.json["language"] == "en"
    assert request.json["variables"] == {"1": "Ana", "2": "A-1"}
    assert request.json["types"]["twilio/text"]["body"] == "Hi {{1}}, your order {{2}} has shipped."


def test_card_content_keeps_actions(gateway, twilio_server) -> None:
    card = {"title": "Sale for {{1}} today only", "actions": [{"type": "URL", "title": "Shop", "url": "https://e.com/s"}]}
    gateway.create_content(ContentRequest("card_1", "twilio/card", {"twilio/card": card}, {"1": "Ana"}))
    stored = twilio_server.state.contents
    [content] = stored.values()
    assert content["types"]["twilio/card"]["actions"] == [{"type": "URL", "title": "Shop", "url": "https://e.com/s"}]


def test_submit_and_fetch_approval(gateway, twilio_server) -> None:
    sid = gateway.create_content(TEXT)
    submitted = gateway.submit_approval(sid, name="order_update_1", category="UTILITY")
    request = twilio_server.requests[-1]
    assert request.path == f"/v1/Content/{sid}/ApprovalRequests/whatsapp"
    assert request.json["name"] == "order_update_1" and request.json["category"] == "UTILITY"
    assert submitted.state is ApprovalState.RECEIVED
    assert gateway.fetch_approval(sid).state is ApprovalState.RECEIVED


def test_fetch_approval_of_unsubmitted_content(gateway) -> None:
    assert gateway.fetch_approval(gateway.create_content(TEXT)).state is ApprovalState.UNSUBMITTED


@pytest.mark.parametrize("status", [s.value for s in ApprovalState if s is not ApprovalState.UNSUBMITTED])
def test_every_twilio_approval_status_maps(gateway, twilio_server, status) -> None:
    sid = gateway.create_content(TEXT)
    gateway.submit_approval(sid, name="order_update_1", category="UTILITY")
    twilio_server.set_approval(sid, status, reason="Variables at start" if status == "rejected" else "")
    result = gateway.fetch_approval(sid)
    assert result.state is ApprovalState(status)
    assert result.reason == ("Variables at start" if status == "rejected" else None)
    assert (result.name, result.category) == ("order_update_1", "UTILITY")


def test_unknown_approval_status_is_a_clear_error(gateway, twilio_server) -> None:
    sid = gateway.create_content(TEXT)
    gateway.submit_approval(sid, name="order_update_1", category="UTILITY")
    twilio_server.set_approval(sid, "in_appeal")
    with pytest.raises(GatewayError, match="'in_appeal'.*does not know"):
        gateway.fetch_approval(sid)


def test_send_uses_content_sid_and_json_string_variables_never_body(gateway, twilio_server) -> None:
    sid = twilio_server.add_content("Hi {{1}}, order {{2}} shipped.")
    sent = gateway.send_message(SendRequest("+14155552671", sid, {"1": "Ana Ñ", "2": "A-7"}))
    request = twilio_server.requests[-1]
    assert request.path == f"/2010-04-01/Accounts/{twilio_server.account_sid}/Messages.json"
    assert request.field("To") == "whatsapp:+14155552671"
    assert request.field("MessagingServiceSid") == SERVICE_SID
    assert request.field("ContentSid") == sid
    assert json.loads(request.field("ContentVariables")) == {"1": "Ana Ñ", "2": "A-7"}
    assert "Body" not in request.form and "From" not in request.form and "StatusCallback" not in request.form
    assert sent.status == "accepted" and sent.sid.startswith("SM") and sent.to == "+14155552671"
    assert twilio_server.sent()[0]["body"] == "Hi Ana Ñ, order A-7 shipped."


def test_send_from_a_number_with_status_callback(twilio_server) -> None:
    gateway = TwilioGateway(
        twilio_server.twilio_client(), from_="+15005550006", status_callback="https://example.com/status",
    )
    sid = twilio_server.add_content("Hello there, {{1}} is ready.")
    assert gateway.send_message(SendRequest("+14155552671", sid, {"1": "x"})).status == "queued"
    request = twilio_server.requests[-1]
    assert request.field("From") == "whatsapp:+15005550006"
    assert request.field("StatusCallback") == "https://example.com/status"
    assert "MessagingServiceSid" not in request.form


def test_sms_channel_sends_bare_numbers(twilio_server) -> None:
    gateway = TwilioGateway(twilio_server.twilio_client(), from_="+15005550006", channel="sms")
    sid = twilio_server.add_content("Hello there, {{1}} is ready.")
    gateway.send_message(SendRequest("+14155552671", sid, {"1": "x"}))
    assert twilio_server.requests[-1].field("To") == "+14155552671"


@pytest.mark.parametrize("code", [21211, 21610, 63024])
def test_api_errors_carry_status_and_code(gateway, twilio_server, code) -> None:
    twilio_server.reject_number("+14155552671", code)
    sid = twilio_server.add_content("Hi {{1}}, all good here.")
    with pytest.raises(GatewayError) as raised:
        gateway.send_message(SendRequest("+14155552671", sid, {"1": "x"}))
    assert (raised.value.code, raised.value.status) == (code, 400)
    assert str(code) in str(raised.value)


def test_throttling_is_a_429_with_code_20429(gateway, twilio_server) -> None:
    twilio_server.fail("throttle")
    sid = twilio_server.add_content("Hi {{1}}, all good here.")
    with pytest.raises(GatewayError) as raised:
        gateway.send_message(SendRequest("+14155552671", sid, {"1": "x"}))
    assert (raised.value.status, raised.value.code) == (429, 20429)
    assert twilio_server.sent() == []


def test_rfc9457_errors_raise_twilio_service_exception_and_are_caught(gateway, twilio_server) -> None:
    twilio_server.fail("error", status=400, code=21656, problem=True)
    sid = twilio_server.add_content("Hi {{1}}, all good here.")
    with pytest.raises(GatewayError) as raised:
        gateway.send_message(SendRequest("+14155552671", sid, {"1": "x"}))
    assert (raised.value.status, raised.value.code) == (400, 21656)


def test_twilio_service_exception_is_not_a_rest_exception() -> None:
    # Why the gateway catches both: twilio-python raises either, and they are unrelated classes.
    from twilio.base.exceptions import TwilioRestException, TwilioServiceException

    assert not issubclass(TwilioServiceException, TwilioRestException)


def test_dropped_connection_has_no_status_and_no_code(gateway, twilio_server) -> None:
    twilio_server.fail("drop")
    sid = twilio_server.add_content("Hi {{1}}, all good here.")
    with pytest.raises(GatewayError) as raised:
        gateway.send_message(SendRequest("+14155552671", sid, {"1": "x"}))
    assert (raised.value.status, raised.value.code) == (None, None)
    assert "no answer" in str(raised.value)


def test_list_errors_keep_their_status(gateway, twilio_server) -> None:
    twilio_server.fail("throttle", method="GET")
    with pytest.raises(GatewayError) as raised:
        list(gateway.list_messages())
    assert (raised.value.status, raised.value.code) == (429, 20429)


def test_list_messages_pages_and_filters(gateway, twilio_server) -> None:
    sid = twilio_server.add_content("Hi {{1}}, all good here.")
    for i in range(7):
        gateway.send_message(SendRequest(f"+1415555267{i}", sid, {"1": str(i)}))
    gateway.send_message(SendRequest("+14155552670", sid, {"1": "again"}))
    twilio_server.receive("whatsapp:+14155552671", "Thanks!")
    everything = list(gateway.list_messages())
    assert len(everything) == 9
    assert [r.sid for r in everything] == [m["sid"] for m in reversed(twilio_server.messages)]  # newest first
    to_zero = list(gateway.list_messages(to="+14155552670"))
    assert [r.body for r in to_zero] == ["Hi again, all good here.", "Hi 0, all good here."]
    inbound = [r for r in everything if r.inbound]
    assert [(r.from_, r.body) for r in inbound] == [("+14155552671", "Thanks!")]
    future = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    assert list(gateway.list_messages(since=future)) == []


def test_list_messages_follows_next_page_uri(twilio_server) -> None:
    gateway = TwilioGateway(twilio_server.twilio_client(), messaging_service_sid=SERVICE_SID)
    sid = twilio_server.add_content("Hi {{1}}, all good here.")
    for i in range(5):
        gateway.send_message(SendRequest(f"+1415555267{i}", sid, {"1": str(i)}))
    pages = gateway.client.messages.page(page_size=2)
    assert len(list(pages)) == 2
    listed = list(gateway.client.messages.stream(page_size=2))
    assert len({m.sid for m in listed}) == 5
    assert sum(r.path.endswith("Messages.json") and r.method == "GET" for r in twilio_server.requests) >= 4


def test_wrong_credentials_never_leak_the_token(twilio_server) -> None:
    client = Client(twilio_server.account_sid, "not-the-token-s3cret", http_client=twilio_server.http_client())
    gateway = TwilioGateway(client, messaging_service_sid=SERVICE_SID)
    with pytest.raises(GatewayError) as raised:
        gateway.create_content(TEXT)
    assert raised.value.code == 20003 and raised.value.status == 401
    assert "s3cret" not in str(raised.value) and "s3cret" not in repr(gateway)


def test_repr_is_short_and_has_no_secret(twilio_server: TwilioTestServer, gateway) -> None:
    text = repr(gateway)
    assert twilio_server.auth_token not in text
    assert text.startswith("<TwilioGateway account=AC") and "channel=whatsapp" in text


def test_from_env(monkeypatch) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "env-s3cret")
    monkeypatch.setenv("TWILIO_MESSAGING_SERVICE_SID", SERVICE_SID)
    gateway = TwilioGateway.from_env()
    assert gateway.client.account_sid == "AC" + "1" * 32
    assert gateway.messaging_service_sid == SERVICE_SID
    assert "env-s3cret" not in repr(gateway)


def test_from_env_names_what_is_missing(monkeypatch) -> None:
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_MESSAGING_SERVICE_SID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "env-s3cret")
    with pytest.raises(GatewayError, match="TWILIO_ACCOUNT_SID, TWILIO_MESSAGING_SERVICE_SID") as raised:
        TwilioGateway.from_env()
    assert "env-s3cret" not in str(raised.value)


def test_a_sender_is_required() -> None:
    with pytest.raises(ValueError, match="needs a sender"):
        TwilioGateway(Client("AC" + "0" * 32, "x"))
    with pytest.raises(ValueError, match="channel"):
        TwilioGateway(Client("AC" + "0" * 32, "x"), from_="+15005550006", channel="fax")


def test_an_sms_senders_default_rate_follows_its_number_type(twilio_server) -> None:
    """Twilio: a long code sends 1 SMS segment a second, a US/Canadian toll-free number 3
    (facts.delivery); a rate given wins."""
    client = twilio_server.twilio_client()
    assert TwilioGateway(client, from_="+14155550100", channel="sms").default_rate == 1
    assert TwilioGateway(client, from_="+18005550100", channel="sms").default_rate == 3
    assert TwilioGateway(client, messaging_service_sid="MG" + "1" * 32, channel="sms",
                         sender_number_type="toll free").default_rate == 3
    assert TwilioGateway(client, from_="+18005550100", channel="sms", rate=30).default_rate == 30
    assert TwilioGateway(client, from_="+18005550100").default_rate == 80  # WhatsApp: per sender
