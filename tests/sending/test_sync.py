"""client.sync(): statuses and replies pulled from Twilio's message list, idempotent and resumable."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from campaign_sdk import DeliveryPolicy, GatewayError
from campaign_sdk.models import ConversationUser, InboundMessage, SyncState
from campaign_sdk.sending import _sync

from .conftest import numbers


def _sid_of(server, phone: str) -> str:
    return next(m["sid"] for m in server.sent() if m["to"].endswith(phone))


def test_sync_records_statuses_replies_and_opt_outs(sender, ready_campaign, twilio_server) -> None:
    campaign = ready_campaign(5)
    campaign.send(progress=False)
    phones = numbers(5)
    twilio_server.set_status(_sid_of(twilio_server, phones[0]), "delivered")
    twilio_server.set_status(_sid_of(twilio_server, phones[1]), "read")
    twilio_server.set_status(_sid_of(twilio_server, phones[2]), "failed", error_code=63024)
    twilio_server.set_status(_sid_of(twilio_server, phones[3]), "sent")
    twilio_server.receive(f"whatsapp:{phones[1]}", "Yes please!")
    twilio_server.receive(f"whatsapp:{phones[3]}", "STOP")
    twilio_server.receive("whatsapp:+442079460958", "who is this?")  # not a lead: kept as an inbound

    twilio_server.receive("whatsapp:+447700900123", "spam")  # not a valid number: reported, not recorded
    report = sender.sync()
    assert report.statuses.applied == 4 and report.replies.applied == 3 and report.statuses.unmatched == []
    assert [u["from"] for u in report.unusable] == ["+447700900123"]
    leads = campaign.leads.set_index("phone_number")
    assert leads.loc[phones, "message_status"].tolist() == ["delivered", "read", "failed", "sent", "accepted"]
    assert leads.loc[phones[2], "error_code"] == 63024
    with sender.transaction() as session:
        stopped = session.scalar(sa.select(ConversationUser).where(ConversationUser.phone_number == phones[3]))
        assert stopped.opted_out_at is not None and stopped.opt_out_keyword == "STOP"
        assert session.scalar(sa.select(sa.func.count()).select_from(InboundMessage)) == 3
        assert session.get(SyncState, f"sync:{sender.gateway.key}"[:100]) is not None
    metrics = campaign.metrics().iloc[0]
    assert metrics["messages_replied"] == 1

    again = sender.sync()
    assert again.statuses.applied == 0 and again.replies.applied == 0


def test_sync_ignores_messages_sent_by_other_systems(sender, ready_campaign, twilio_server, gateway) -> None:
    ready_campaign(2).send(progress=False)
    other = twilio_server.add_content("Hello from elsewhere, {{1}} here.")
    twilio_server.twilio_client().messages.create(
        to="whatsapp:+14155559999", from_="whatsapp:+15005550006", content_sid=other, content_variables='{"1": "x"}',
    )
    report = sender.sync()
    assert report.listed == 3 and report.statuses.unmatched == [] and report.statuses.applied == 0


def test_an_interrupted_sync_resumes(sender, ready_campaign, twilio_server, gateway, monkeypatch) -> None:
    ready_campaign(6).send(progress=False)
    for message in twilio_server.sent():
        twilio_server.set_status(message["sid"], "delivered")
    monkeypatch.setattr(_sync, "PAGE", 2)
    gateway.page_size = 2
    twilio_server.fail("server_error", method="GET", skip=1, times=1)  # the second page fails
    with pytest.raises(GatewayError):
        sender.sync()
    delivered = (sender.campaign("Orders").leads["message_status"] == "delivered").sum()
    assert delivered == 2  # the first page was recorded
    report = sender.sync()
    assert report.statuses.applied == 4
    assert (sender.campaign("Orders").leads["message_status"] == "delivered").all()


def test_sync_through_the_sandbox(sqlite_url) -> None:
    from campaign_sdk import CampaignClient
    from campaign_sdk.gateways import SandboxGateway

    from .conftest import leads_frame

    sandbox = SandboxGateway(seed=2, reply_rate=0.5, opt_out_rate=0.1)
    with CampaignClient(sqlite_url, gateway=sandbox) as client:
        client.delivery_policy = DeliveryPolicy(window=None)
        campaign = client.create_campaign("Welcome", template="order_confirmation")
        campaign.add_leads(leads_frame(40))
        campaign.submit_for_approval()
        sandbox.advance(days=2)
        campaign.sync_approval()
        campaign.enable()
        campaign.send(progress=False)
        sandbox.advance(days=1)
        report = client.sync()
        assert report.statuses.applied == 40 and report.replies.applied > 0
        metrics = campaign.metrics().iloc[0]
        assert metrics["messages_sent"] > 30 and metrics["messages_replied"] > 0
        assert client.sync().replies.applied == 0


def test_sync_keeps_every_status_even_one_it_does_not_know(sender, ready_campaign, twilio_server) -> None:
    from campaign_sdk import UnknownStatusWarning

    campaign = ready_campaign(3)
    campaign.send(progress=False)
    phones = numbers(3)
    twilio_server.set_status(_sid_of(twilio_server, phones[0]), "partially_delivered")
    twilio_server.set_status(_sid_of(twilio_server, phones[1]), "delivered_to_watch")
    twilio_server.set_status(_sid_of(twilio_server, phones[2]), "canceled")
    with pytest.warns(UnknownStatusWarning, match="delivered_to_watch"):
        report = sender.sync()
    assert report.statuses.unknown == [{"sid": _sid_of(twilio_server, phones[1]), "status": "delivered_to_watch"}]
    assert report.statuses.applied == 3
    leads = campaign.leads.set_index("phone_number")
    # the unknown one keeps its latest known status (accepted) and is not dropped
    assert leads.loc[phones, "message_status"].tolist() == ["partially_delivered", "accepted", "canceled"]
    with sender.transaction() as session:
        from campaign_sdk.models import OutboundMessage

        raw = session.scalar(sa.select(OutboundMessage.unknown_status).where(
            OutboundMessage.sid == _sid_of(twilio_server, phones[1])))
    assert raw == "delivered_to_watch"
