"""Twilio's scheduler path: a deferred message whose moment is inside Twilio's SendAt window
(15 minutes to 35 days) is handed to Twilio (``ScheduleType=fixed`` + ``SendAt``) through a
Messaging Service and recorded with its SID and status ``scheduled``; outside the window the
local worker holds it. ``disable()`` cancels what Twilio holds and frees the leads.

The real twilio-python client talks HTTP to the local Twilio server, whose simulated clock stands
still (``realtime=False``): the gateway reads the same clock, so "899 s ahead" means exactly that
to the plan, to the send and to Twilio.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa

from campaign_sdk import CampaignClient, DeliveryPolicy
from campaign_sdk.models import DeferredSend, OutboundMessage
from campaign_sdk.sending import CancelError
from campaign_sdk.testing import TwilioTestServer


from .conftest import FAST_RETRY, approve, gateway_for, leads_frame, numbers

START = dt.datetime.now(dt.UTC).replace(microsecond=0)  # SendAt has whole seconds
WINDOW_EDGES = [  # seconds ahead -> who holds the message
    (899, "worker"), (900, "twilio"), (35 * 86_400, "twilio"), (35 * 86_400 + 1, "worker"),
]


def _messages(client: CampaignClient) -> list[Any]:
    with client.engine.connect() as connection:
        return connection.execute(sa.select(OutboundMessage.lead_id, OutboundMessage.sid, OutboundMessage.status,
                                            OutboundMessage.dedupe_key).order_by(OutboundMessage.id)).all()


def _deferred(client: CampaignClient) -> list[Any]:
    with client.engine.connect() as connection:
        return connection.execute(sa.select(DeferredSend.lead_id, DeferredSend.due_at)).all()


def _creates(server: TwilioTestServer) -> list[Any]:
    return [r for r in server.requests if r.method == "POST" and r.path.endswith("/Messages.json")]


def _cancels(server: TwilioTestServer) -> list[Any]:
    return [r for r in server.requests if r.method == "POST" and not r.path.endswith("/Messages.json")
            and r.path.startswith("/2010-04-01/")]


def _sent(client: CampaignClient, campaign_id: int) -> int:
    return int(client.metrics(campaigns=[campaign_id]).iloc[0]["messages_sent"])


@pytest.mark.parametrize(("ahead", "holder"), WINDOW_EDGES, ids=[f"{a}s" for a, _ in WINDOW_EDGES])
def test_the_plan_and_the_send_agree_on_who_holds_a_schedule_at_the_window_edges(
        sender, ready_campaign, twilio_server, ahead, holder):
    campaign = ready_campaign(3)
    at = START + dt.timedelta(seconds=ahead)

    plan = campaign.plan(at=at)
    assert set(plan["action"]) == {"defer"} and set(plan["scheduler"]) == {holder}

    report = campaign.schedule(at=at, progress=False, retry=FAST_RETRY)

    assert report.sent == 0 and report.complete
    if holder == "twilio":
        assert report.scheduled == 3 and report.deferred == {} and _deferred(sender) == []
        requests = _creates(twilio_server)
        assert len(requests) == 3
        assert {(r.field("ScheduleType"), r.field("SendAt")) for r in requests} == {
            ("fixed", at.strftime("%Y-%m-%dT%H:%M:%SZ"))}
        stored = _messages(sender)
        assert len(stored) == 3 and all(sid and status == "scheduled" for _, sid, status, _ in stored)
        assert {sid for _, sid, _, _ in stored} == {m["sid"] for m in twilio_server.sent()}
    else:  # too soon or too far for Twilio: the local worker holds it, nothing goes to Twilio now
        assert report.scheduled == 0 and report.deferred == {"scheduled": 3}
        assert _creates(twilio_server) == [] and _messages(sender) == []
        assert {due.replace(tzinfo=None) for _, due in _deferred(sender)} == {at.replace(tzinfo=None)}
    # nothing twice: a second schedule() neither schedules nor defers anything again
    again = campaign.schedule(at=at, progress=False, retry=FAST_RETRY)
    assert again.scheduled == 0 and len(_creates(twilio_server)) == (3 if holder == "twilio" else 0)


def test_without_a_messaging_service_the_worker_holds_what_twilio_could_schedule(
        migrated_url, twilio_server):
    gateway = gateway_for(twilio_server, sender="number")
    with CampaignClient(migrated_url, gateway=gateway) as client:
        client.delivery_policy = DeliveryPolicy(window=None)
        campaign = client.create_campaign("Orders", template="order_confirmation")
        campaign.add_leads(leads_frame(2))
        approve(campaign, twilio_server)
        at = START + dt.timedelta(hours=2)
        assert set(campaign.plan(at=at)["scheduler"]) == {"worker"}
        report = campaign.schedule(at=at, progress=False, retry=FAST_RETRY)
        assert report.scheduled == 0 and report.deferred == {"scheduled": 2} and _creates(twilio_server) == []


def test_disable_cancels_at_twilio_and_enable_then_send_schedules_each_lead_once_more(
        sender, ready_campaign, twilio_server):
    campaign = ready_campaign(3)
    first = START + dt.timedelta(hours=1)
    assert campaign.schedule(at=first, progress=False, retry=FAST_RETRY).scheduled == 3
    assert _sent(sender, campaign.id) == 0  # scheduled is not sent

    campaign.disable()

    assert len(_cancels(twilio_server)) == 3 and {r.field("Status") for r in _cancels(twilio_server)} == {"canceled"}
    assert {m["status"] for m in twilio_server.sent()} == {"canceled"}
    stored = _messages(sender)
    assert [status for _, _, status, _ in stored] == ["canceled"] * 3
    assert all(key is None for _, _, _, key in stored)  # the leads are free again
    assert _sent(sender, campaign.id) == 0  # canceled is not sent either
    assert set(campaign.plan(at=first)["action"]) == {"defer"}  # planned again, not "already_messaged"

    campaign.enable()
    later = START + dt.timedelta(hours=2)
    report = campaign.schedule(at=later, progress=False, retry=FAST_RETRY)
    assert report.scheduled == 3 and report.complete
    assert campaign.schedule(at=later, progress=False, retry=FAST_RETRY).scheduled == 0  # once
    live = [m for m in twilio_server.sent() if m["status"] == "scheduled"]
    assert Counter(m["to"].removeprefix("whatsapp:") for m in live) == Counter(numbers(3))

    # Twilio sends them at their moment; sync() moves them on and they count as sent from then
    twilio_server.advance(hours=2, seconds=1)
    for message in live:
        twilio_server.set_status(message["sid"], "delivered")
    sender.sync()
    statuses = Counter(status for _, _, status, _ in _messages(sender))
    assert statuses == Counter({"canceled": 3, "delivered": 3})
    assert _sent(sender, campaign.id) == 3


def test_a_cancel_that_fails_is_reported_and_one_twilio_already_sent_stays_sent(
        sender, ready_campaign, twilio_server):
    campaign = ready_campaign(3)
    assert campaign.schedule(at=START + dt.timedelta(hours=1), progress=False, retry=FAST_RETRY).scheduled == 3
    gone, broken, fine = [m["sid"] for m in twilio_server.sent()]
    twilio_server.set_status(gone, "sent")  # Twilio's scheduler already sent it
    twilio_server.fail("error", path=f"/Messages/{broken}.json", status=503, times=None)

    with pytest.raises(CancelError, match="could not be canceled") as raised:
        campaign.disable()

    report = raised.value.report
    assert report.canceled == 1 and report.already_sent == {gone: "sent"} and list(report.failed) == [broken]
    by_sid = {sid: status for _, sid, status, _ in _messages(sender)}
    assert by_sid == {gone: "sent", broken: "scheduled", fine: "canceled"}
    assert campaign._row().enabled is None  # paused all the same

    twilio_server.clear_faults()
    retry = campaign.cancel_scheduled()
    assert retry.canceled == 1 and retry.failed == {}
    campaign.enable()
    again = campaign.schedule(at=START + dt.timedelta(hours=2), progress=False, retry=FAST_RETRY)
    assert again.scheduled == 2  # the two canceled leads; the one Twilio sent is not sent twice
    assert Counter(m["to"] for m in twilio_server.sent() if m["status"] != "canceled") == Counter(
        f"whatsapp:{n}" for n in numbers(3))


def test_a_schedule_twilio_refuses_on_arrival_falls_back_to_the_worker(sender, ready_campaign, twilio_server):
    """Twilio counts the window from when the request arrives: a SendAt that has slipped out of
    it by then (35114) is not lost; the worker holds the lead until its moment."""
    campaign = ready_campaign(2)
    at = START + dt.timedelta(hours=1)
    twilio_server.fail("error", status=400, code=35114, times=1)
    report = campaign.schedule(at=at, progress=False, retry=FAST_RETRY)
    assert report.scheduled == 1 and report.deferred == {"scheduled": 1} and report.failed == {}
    assert len(_messages(sender)) == 1 and len(_deferred(sender)) == 1


def test_sync_moves_a_scheduled_message_on_when_twilio_sends_it(sender, ready_campaign, twilio_server):
    campaign = ready_campaign(2)
    at = START + dt.timedelta(hours=3)
    assert campaign.schedule(at=at, progress=False, retry=FAST_RETRY).scheduled == 2
    sender.sync()
    assert {status for _, _, status, _ in _messages(sender)} == {"scheduled"}  # not yet

    twilio_server.advance(hours=3, seconds=5)  # Twilio's scheduler releases them at SendAt
    report = sender.sync()

    assert report.statuses.applied == 2
    assert {status for _, _, status, _ in _messages(sender)} == {"queued"}
    with sender.engine.connect() as connection:
        created = connection.execute(sa.select(OutboundMessage.created_at)).scalars().all()
    # they touch the person from when they went out (replies and conversions count from then)
    assert {c.replace(tzinfo=None) for c in created} == {at.replace(tzinfo=None)}


def test_a_message_over_the_messaging_limit_waits_for_the_worker_even_inside_twilios_window(
        migrated_url, twilio_server):
    """The limit is counted again when the message is due (the worker asks the plan again);
    Twilio's scheduler would send it regardless, so it never holds one."""
    gateway = gateway_for(twilio_server, messaging_tier=1)
    with CampaignClient(migrated_url, gateway=gateway) as client:
        client.delivery_policy = DeliveryPolicy(window=None)
        campaign = client.create_campaign("Tiered", template="order_confirmation")
        campaign.add_leads(leads_frame(3))
        approve(campaign, twilio_server)
        plan = campaign.plan()
        deferred = plan[plan["action"] == "defer"]
        assert len(deferred) == 2 and set(deferred["reason"]) == {"messaging_tier"}
        assert set(deferred["scheduler"]) == {"worker"}  # a day ahead: inside the window, all the same
        report = campaign.send(progress=False, retry=FAST_RETRY)
        assert report.sent == 1 and report.scheduled == 0 and report.deferred == {"messaging_tier": 2}
        assert len(_creates(twilio_server)) == 1 and _creates(twilio_server)[0].field("SendAt") is None
