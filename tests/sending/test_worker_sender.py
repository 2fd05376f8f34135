"""Each deferred message keeps the sender of the send that deferred it (``deferred_sends.sender``,
migration 0014: its Messaging Service SID, else its From number): a worker of another sender on
the same channel leaves it (its notes count it), the sender's own worker sends it, once. The same
for a message a stricter policy pulled back from Twilio's scheduler (the gateway's sender), and a
row deferred before 0014 (NULL) goes out with any worker, as before.

The real twilio-python client talks HTTP to the local Twilio server; the workers are ``run_due()``
and real ``python -m campaign_sdk.cli worker --once`` processes.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from campaign_sdk import CampaignClient, DeliveryPolicy, SendWindow
from campaign_sdk.models import DeferredSend
from campaign_sdk.testing import TwilioTestServer

from tests.conftest import SERVICE_SID

from .conftest import FAST_RETRY, FROM_NUMBER, ANY_HOUR, approve, clocked_twilio_server, gateway_for, leads_frame, numbers
from .test_worker_cli import _deferred_campaign, _twilio_env, _worker

OTHER_SERVICE = "MG" + "8" * 32
OTHER_NUMBER = "+14155550199"
# sender -> (its gateway's options, the other sender's on the same channel, the field Twilio gets)
SENDERS = {
    "service": ({"messaging_service_sid": SERVICE_SID}, {"messaging_service_sid": OTHER_SERVICE}, "MessagingServiceSid"),
    "from": ({"sender": "from", "channel": "sms"}, {"sender": "from", "channel": "sms", "from_": OTHER_NUMBER}, "From"),
}


def _rows(client: CampaignClient) -> list[tuple[str | None, str | None]]:
    with client.engine.connect() as connection:
        return [tuple(r) for r in connection.execute(sa.select(DeferredSend.channel, DeferredSend.sender))]


def _creates(server: TwilioTestServer) -> list:
    return [r for r in server.requests if r.method == "POST" and r.path.endswith("/Messages.json")]


@pytest.mark.parametrize("kind", list(SENDERS))
def test_a_worker_of_another_sender_leaves_the_messages_and_the_senders_worker_sends_them(
        migrated_url: str, kind: str) -> None:
    mine, theirs, field = SENDERS[kind]
    with TwilioTestServer() as server:
        a, b = gateway_for(server, **mine), gateway_for(server, **theirs)
        assert a.channel == b.channel and a.sender != b.sender
        with CampaignClient(migrated_url, gateway=a) as client:
            _deferred_campaign(client, server, 2, "Sender A")
            assert _rows(client) == [(a.channel, a.sender)] * 2

        with CampaignClient(migrated_url, gateway=b) as other:
            left = other.run_due(retry=FAST_RETRY)
        assert left.claimed == 0 and left.sent == 0 and _creates(server) == []
        # not B's to wait for (no due moment its loop would poll for), but said, with A's sender
        assert left.waiting == 0 and left.next_due is None
        (note,) = [n for n in left.notes if "another sender" in n]
        assert f"(2 from {a.sender})" in note and f"this worker sends from {b.sender} only" in note
        assert "TWILIO_MESSAGING_SERVICE_SID" in note and "--from" in note
        assert server.auth_token not in note

        with CampaignClient(migrated_url, gateway=a) as client:
            done = client.run_due(retry=FAST_RETRY)
            assert done.sent == 2 and not [n for n in done.notes if "another sender" in n]
            assert _rows(client) == []
        creates = _creates(server)
        assert sorted(r.field("To").removeprefix("whatsapp:") for r in creates) == numbers(2)
        expected = SERVICE_SID if kind == "service" else FROM_NUMBER
        assert {r.field(field) for r in creates} == {expected}


def test_a_row_deferred_before_0014_goes_out_with_any_sender(migrated_url: str) -> None:
    with TwilioTestServer() as server:
        with CampaignClient(migrated_url, gateway=gateway_for(server)) as client:
            _deferred_campaign(client, server, 1, "Legacy")
            with client.engine.begin() as connection:
                connection.execute(sa.update(DeferredSend).values(sender=None))
        with CampaignClient(migrated_url, gateway=gateway_for(server, messaging_service_sid=OTHER_SERVICE)) as other:
            report = other.run_due(retry=FAST_RETRY)
        assert report.sent == 1 and not [n for n in report.notes if "another sender" in n]
        assert [r.field("MessagingServiceSid") for r in _creates(server)] == [OTHER_SERVICE]


def test_the_sandbox_defers_as_its_own_sender(migrated_url: str) -> None:
    from campaign_sdk.gateways import SandboxGateway
    from campaign_sdk.gateways._sandbox import SANDBOX_SERVICE

    sandbox = SandboxGateway(start=dt.datetime(2026, 11, 2, 17, tzinfo=dt.UTC), realtime=False)
    with CampaignClient(migrated_url, gateway=sandbox) as client:
        campaign = client.create_campaign("Sandbox later", template="order_confirmation")
        campaign.add_leads(leads_frame(1))
        campaign.submit_for_approval(category="UTILITY")
        sandbox.advance(hours=48)
        campaign.sync_approval()
        campaign.enable()
        assert campaign.schedule(at=sandbox.now() + dt.timedelta(minutes=5), progress=False).deferred == {"scheduled": 1}
        assert _rows(client) == [("whatsapp", SANDBOX_SERVICE)]


START = dt.datetime(2026, 7, 1, 2, tzinfo=dt.UTC)  # Tue 19:00 in Los Angeles, Wed 04:00 in Berlin
SEND_AT = dt.datetime(2026, 7, 1, 23, tzinfo=dt.UTC)  # Wed 16:00 in Los Angeles, Thu 01:00 in Berlin
BERLIN_MORNING = dt.datetime(2026, 7, 2, 6, tzinfo=dt.UTC)  # Thu 08:00 CEST: the 08:00-20:00 window opens


def test_a_message_pulled_back_from_twilio_waits_for_a_worker_of_its_sender(migrated_url: str) -> None:
    with clocked_twilio_server(START) as server:
        with CampaignClient(migrated_url, gateway=gateway_for(server)) as client:
            client.delivery_policy = ANY_HOUR
            campaign = client.create_campaign("Held", template="order_confirmation")
            campaign.add_leads(leads_frame(2).assign(timezone=["America/Los_Angeles", "Europe/Berlin"]))
            approve(campaign, server)
            assert campaign.schedule(at=SEND_AT, progress=False, retry=FAST_RETRY).scheduled == 2
            campaign.set_delivery(DeliveryPolicy(window=SendWindow(start="08:00", end="20:00")))
            assert campaign.rescheduled.deferred == {"quiet_hours": 1}
            assert _rows(client) == [("whatsapp", SERVICE_SID)]
            server.advance(seconds=(BERLIN_MORNING - START).total_seconds() + 1)
            with CampaignClient(migrated_url, gateway=gateway_for(server, messaging_service_sid=OTHER_SERVICE)) as other:
                left = other.run_due(retry=FAST_RETRY)
            assert left.sent == 0 and any(f"(1 from {SERVICE_SID})" in n for n in left.notes)
            assert client.run_due(retry=FAST_RETRY).sent == 1
        fresh = _creates(server)[2:]
        assert [r.field("MessagingServiceSid") for r in fresh] == [SERVICE_SID]


@pytest.mark.slow
def test_worker_processes_of_two_senders(migrated_url: str) -> None:
    """``campaign-sdk worker`` from another number (``TWILIO_FROM``) leaves the SMS another
    number's send deferred, and says so; the worker from that number sends them."""
    with TwilioTestServer() as server:
        with CampaignClient(migrated_url, gateway=gateway_for(server, sender="from", channel="sms")) as client:
            _deferred_campaign(client, server, 2, "SMS from A")
            other = _worker(migrated_url, _twilio_env(server, TWILIO_FROM=OTHER_NUMBER), "--twilio-url", server.url,
                            "--channel", "sms")
            assert other.returncode == 0, other.stdout + other.stderr
            assert f"from={OTHER_NUMBER}" in other.stdout and "claimed=0 sent=0" in other.stdout
            assert f"due messages deferred by another sender wait (2 from {FROM_NUMBER})" in other.stdout
            assert "waiting=0" in other.stdout and "next_due=" not in other.stdout
            assert server.sent() == [] and len(_rows(client)) == 2
            assert server.auth_token not in other.stdout + other.stderr
            mine = _worker(migrated_url, _twilio_env(server, TWILIO_FROM=FROM_NUMBER), "--twilio-url", server.url,
                           "--channel", "sms")
            assert mine.returncode == 0 and "sent=2" in mine.stdout, mine.stdout + mine.stderr
            assert {m["from"] for m in server.sent()} == {FROM_NUMBER} and _rows(client) == []
