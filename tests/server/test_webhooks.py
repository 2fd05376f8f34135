"""Twilio webhooks: signatures checked against the public URL, recording idempotent."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from campaign_sdk.models import CampaignLead, ConversationUser, InboundMessage, MessageStatus, OutboundMessage
from campaign_sdk.server import create_app

from .conftest import AUTH_TOKEN, PUBLIC_URL, LiveServer, settings_for, twilio_signature, unique

_numbers = itertools.count(3000)
_sids = itertools.count(1)


def new_phone() -> str:
    return f"+1415555{next(_numbers):04d}"


def seed_message(client, *, status: MessageStatus = MessageStatus.SENT) -> tuple[str, str]:
    """A campaign lead with one stored outbound message; returns (sid, phone)."""
    phone = new_phone()
    campaign = client.create_campaign(unique(), template="order_confirmation")
    campaign.add_leads(pd.DataFrame({"phone_number": [phone], "lead_name": ["A"], "order_id": ["1"]}))
    sid = f"SM{next(_sids):08d}{'0' * 24}"
    with client.transaction() as session:
        lead = session.scalar(sa.select(CampaignLead).where(CampaignLead.campaign_id == campaign.id))
        session.add(OutboundMessage(sid=sid, campaign_id=campaign.id, lead_id=lead.id, user_id=lead.user_id,
                                    to_number=f"whatsapp:{phone}", status=status))
    return sid, phone


def post_signed(http: httpx.Client, path: str, params: dict[str, str], *, url: str | None = None,
                signature: str | None = None, body: dict[str, str] | None = None) -> httpx.Response:
    """POST ``body`` (default ``params``) form-encoded, signed over ``params`` for ``url``."""
    signature = signature if signature is not None else twilio_signature(url or PUBLIC_URL + path, params)
    return http.post(path, content=urlencode(body if body is not None else params),
                     headers={"X-Twilio-Signature": signature,
                              "Content-Type": "application/x-www-form-urlencoded"})


def message(client, sid: str) -> OutboundMessage:
    with client.transaction() as session:
        return session.scalar(sa.select(OutboundMessage).where(OutboundMessage.sid == sid))


def inbound_count(client) -> int:
    with client.transaction() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(InboundMessage))


def status_params(sid: str, status: str, **extra: str) -> dict[str, str]:
    return {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
            "AccountSid": "AC" + "0" * 32, "From": "whatsapp:+14155550000", "To": "whatsapp:+14155552671",
            "ApiVersion": "2010-04-01", "ChannelPrefix": "whatsapp"} | extra


def test_our_signer_is_twilios_algorithm() -> None:
    params = status_params("SM1", "delivered")
    assert twilio_signature(PUBLIC_URL + "/twilio/status", params) == RequestValidator(AUTH_TOKEN).compute_signature(
        PUBLIC_URL + "/twilio/status", params)


def test_status_callbacks_apply_in_any_order_and_duplicates_are_harmless(anon, server) -> None:
    sid, _ = seed_message(server.client)
    for status in ["read", "delivered", "sent", "read", "delivered"]:
        response = post_signed(anon, "/twilio/status", status_params(sid, status))
        assert response.status_code == 200, response.text
    stored = message(server.client, sid)
    assert stored.status is MessageStatus.READ
    assert stored.delivered_at is not None and stored.read_at is not None
    again = post_signed(anon, "/twilio/status", status_params(sid, "delivered")).json()
    assert again == {"applied": 0, "ignored": 1, "unmatched": [], "pending": 0}


def test_failed_status_keeps_twilios_error_code(anon, server) -> None:
    sid, _ = seed_message(server.client)
    assert post_signed(anon, "/twilio/status", status_params(sid, "undelivered", ErrorCode="63024")).status_code == 200
    stored = message(server.client, sid)
    assert (stored.status, stored.error_code) == (MessageStatus.UNDELIVERED, 63024)


def test_unknown_sids_are_reported_not_stored(anon, server) -> None:
    body = post_signed(anon, "/twilio/status", status_params("SMunknown", "delivered")).json()
    assert body["unmatched"] == [{"sid": "SMunknown", "status": "delivered", "reason": "unknown_sid"}]


@pytest.mark.parametrize(
    "case",
    ["missing", "forged", "wrong_token", "changed_body", "host_header_url", "other_path", "empty"],
)
def test_bad_signatures_get_403_and_change_nothing(anon, server, case) -> None:
    sid, _ = seed_message(server.client)
    params = status_params(sid, "read")
    path = "/twilio/status"
    kwargs: dict = {}
    if case == "missing":
        response = anon.post(path, content=urlencode(params),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    else:
        if case == "forged":
            kwargs["signature"] = "bm90IGEgc2lnbmF0dXJl"
        elif case == "wrong_token":
            kwargs["signature"] = twilio_signature(PUBLIC_URL + path, params, token="another-token")
        elif case == "changed_body":  # a captured request replayed with a different status
            kwargs["body"] = params | {"MessageStatus": "read", "SmsStatus": "read"}
            params = params | {"MessageStatus": "delivered", "SmsStatus": "delivered"}
        elif case == "host_header_url":  # signed for the address we were reached at, not the public one
            kwargs["url"] = server.url + path
        elif case == "other_path":
            kwargs["url"] = PUBLIC_URL + "/twilio/inbound"
        elif case == "empty":
            kwargs["signature"] = ""
        response = post_signed(anon, path, params, **kwargs)
    assert response.status_code == 403, response.text
    assert "X-Twilio-Signature" in response.json()["detail"]
    assert message(server.client, sid).status is MessageStatus.SENT


def test_a_replayed_identical_callback_is_accepted_and_idempotent(anon, server) -> None:
    sid, _ = seed_message(server.client)
    params = status_params(sid, "delivered")
    first = post_signed(anon, "/twilio/status", params).json()
    second = post_signed(anon, "/twilio/status", params).json()
    assert (first["applied"], second["applied"], second["ignored"]) == (1, 0, 1)


def test_malformed_signed_callbacks_are_refused_and_record_nothing(anon, server) -> None:
    sid, _ = seed_message(server.client)
    # (a status the SDK does not know is not malformed: tests/server/test_status_webhook.py)
    for params in ({"MessageStatus": "read"}, status_params(sid, "failed", ErrorCode="x1"),
                   status_params(sid, " "), status_params(sid, "x" * 65), status_params(sid, "sent\n")):
        response = post_signed(anon, "/twilio/status", params)
        assert response.status_code == 422, response.text
    assert message(server.client, sid).status is MessageStatus.SENT


def inbound_params(sid: str, phone: str, body: str, **extra: str) -> dict[str, str]:
    return {"MessageSid": sid, "SmsMessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": f"whatsapp:{phone}",
            "To": "whatsapp:+14155550000", "Body": body, "NumMedia": "0", "ProfileName": "Ana",
            "WaId": phone.lstrip("+")} | extra


def test_inbound_replies_buttons_and_keywords(anon, server) -> None:
    sid, phone = seed_message(server.client)
    reply = post_signed(anon, "/twilio/inbound", inbound_params("SMin1" + sid[5:], phone, "Yes please"))
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("application/xml")
    assert "<Response>" in reply.text
    tap = inbound_params("SMin2" + sid[5:], phone, "", ButtonPayload="confirm_yes", ButtonText="Confirm")
    assert post_signed(anon, "/twilio/inbound", tap).status_code == 200
    assert post_signed(anon, "/twilio/inbound", tap).status_code == 200  # Twilio retried: stored once
    with server.client.transaction() as session:
        rows = session.execute(
            sa.select(InboundMessage.body, InboundMessage.button_payload, InboundMessage.kind)
            .join(ConversationUser, ConversationUser.id == InboundMessage.user_id)
            .where(ConversationUser.phone_number == phone).order_by(InboundMessage.id)
        ).all()
    assert [(r.body, r.button_payload, r.kind.value) for r in rows] == [
        ("Yes please", None, "reply"), ("Confirm", "confirm_yes", "reply")]


def test_stop_then_start_follow_the_latest_keyword(anon, server) -> None:
    _, phone = seed_message(server.client)

    def opted_out() -> bool:
        with server.client.transaction() as session:
            user = session.scalar(sa.select(ConversationUser).where(ConversationUser.phone_number == phone))
            return user.opted_out_at is not None

    assert post_signed(anon, "/twilio/inbound", inbound_params(f"SMstop{phone}", phone, "STOP")).status_code == 200
    assert opted_out()
    assert post_signed(anon, "/twilio/inbound", inbound_params(f"SMstart{phone}", phone, "start")).status_code == 200
    assert not opted_out()


def test_inbound_from_a_non_number_is_refused_without_writing(anon, server) -> None:
    before = inbound_count(server.client)
    response = post_signed(anon, "/twilio/inbound", inbound_params("SMbad", "x", "hi") | {"From": "messenger:12"})
    assert response.status_code == 422 and "messenger:12" in response.json()["detail"]
    assert inbound_count(server.client) == before


def test_unsigned_inbound_is_refused(anon, server) -> None:
    before = inbound_count(server.client)
    response = anon.post("/twilio/inbound", data=inbound_params("SMx", "+14155552671", "STOP"))
    assert response.status_code == 403
    assert inbound_count(server.client) == before


def test_webhooks_without_configuration_answer_503(live_url, tmp_path) -> None:
    app = create_app(settings_for(live_url, tmp_path, twilio_auth_token=None))
    with LiveServer(app) as live, httpx.Client(base_url=live.url) as http:
        params = status_params("SM1", "read")
        response = post_signed(http, "/twilio/status", params)
        assert response.status_code == 503 and "TWILIO_AUTH_TOKEN" in response.json()["detail"]


def test_concurrent_callbacks_for_one_message_never_regress_it(server) -> None:
    """Two workers' worth of racing callbacks: each message's 'read' and 'delivered' arrive
    together. Without the webhook's isolation + retry, PostgreSQL lets a stale 'delivered'
    overwrite 'read' (measured: ~1% of messages in benchmarks/bench_webhooks.py)."""
    sids = seed_messages(server.client, 120)
    requests = [(sid, status) for sid in sids for status in ("read", "delivered", "sent", "delivered")]

    local = threading.local()
    clients: list[httpx.Client] = []

    def post(item: tuple[str, str]) -> int:
        if not hasattr(local, "http"):  # one keep-alive connection per thread
            local.http = httpx.Client(base_url=server.url)
            clients.append(local.http)
        return post_signed(local.http, "/twilio/status", status_params(*item)).status_code

    with ThreadPoolExecutor(16) as pool:
        assert set(pool.map(post, requests)) == {200}
    for http in clients:
        http.close()
    with server.client.transaction() as session:
        rows = session.execute(sa.select(OutboundMessage.status, OutboundMessage.delivered_at)
                               .where(OutboundMessage.sid.in_(sids))).all()
    assert len(rows) == len(sids)
    assert {row.status for row in rows} == {MessageStatus.READ} and all(row.delivered_at for row in rows)


def seed_messages(client, n: int) -> list[str]:
    phones = [new_phone() for _ in range(n)]
    campaign = client.create_campaign(unique(), template="order_confirmation")
    campaign.add_leads(pd.DataFrame({"phone_number": phones, "lead_name": "A", "order_id": "1"}))
    sids = [f"SMrace{next(_sids):06d}{i:022d}" for i in range(n)]
    with client.transaction() as session:
        leads = session.scalars(sa.select(CampaignLead).where(CampaignLead.campaign_id == campaign.id)
                                .order_by(CampaignLead.id)).all()
        session.add_all(OutboundMessage(sid=sid, campaign_id=campaign.id, lead_id=lead.id, user_id=lead.user_id,
                                        to_number="whatsapp:+1", status=MessageStatus.ACCEPTED)
                        for sid, lead in zip(sids, leads, strict=True))
    return sids
