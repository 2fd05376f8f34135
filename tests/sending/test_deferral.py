"""Deferral in send(): quiet hours, schedules, caps, expiry; the worker sends what is due, once.

The clock: send() plans at the real now; the worker (DueSender) takes a ``clock`` so a test can
run it "later" (the due moment is in the store, and the plan is asked again at that moment).
Recipients are +1 415 numbers (America/Los_Angeles).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from campaign_sdk import CampaignClient, DeliveryPolicy, FrequencyCap, SendWindow
from campaign_sdk.delivery import utc
from campaign_sdk.models import DeferredSend, OutboundMessage
from campaign_sdk.sending import DueSender
from campaign_sdk.sending import _deferred as _deferred_store
from campaign_sdk.testing import TwilioTestServer

from .conftest import FAST_RETRY, approve, leads_frame, numbers

SENDER = "number"  # no Messaging Service: the local worker holds every deferred message

LA = ZoneInfo("America/Los_Angeles")


def closed_now(zone: ZoneInfo = LA) -> SendWindow:
    """A window that opens two hours from now (wall clock of ``zone``) and lasts two hours."""
    local = dt.datetime.now(zone)
    start = (local + dt.timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    end = start + dt.timedelta(hours=2)
    return SendWindow(start=start.strftime("%H:%M"), end=end.strftime("%H:%M"))


def opening(window: SendWindow, zone: ZoneInfo = LA) -> dt.datetime:
    """The next UTC moment ``window`` opens in ``zone``."""
    local = dt.datetime.now(zone)
    hh, mm = map(int, window.start.split(":"))
    target = local.replace(hour=hh, minute=mm, second=0, microsecond=0)
    if target <= local:
        target += dt.timedelta(days=1)
    return target.astimezone(dt.UTC)


def _deferred(client: CampaignClient) -> list[DeferredSend]:
    with client.transaction() as session:
        return list(session.scalars(sa.select(DeferredSend).order_by(DeferredSend.lead_id)))


def _sent(server: TwilioTestServer) -> Counter[str]:
    return Counter(m["to"].removeprefix("whatsapp:") for m in server.sent())


def worker(client: CampaignClient, at: dt.datetime, **options) -> DueSender:
    return DueSender(client._sessions, client.gateway, retry=FAST_RETRY, clock=lambda: at,
                     client_policy=client.delivery_policy, **options)


def test_quiet_hours_defer_every_lead_and_the_worker_sends_them_when_due_once(sender, ready_campaign, twilio_server):
    window = closed_now()
    sender.delivery_policy = DeliveryPolicy(window=window)
    campaign = ready_campaign(12)

    report = campaign.send(progress=False, retry=FAST_RETRY)

    assert report.sent == 0 and report.deferred == {"quiet_hours": 12} and report.complete
    assert twilio_server.sent() == []
    rows = _deferred(sender)
    due = opening(window)
    assert len(rows) == 12 and {r.reason for r in rows} == {"quiet_hours"}
    assert {r.due_at for r in rows} == {due}  # the window's opening, never earlier
    assert report.next_due == due

    # a second send() neither sends nor defers again: the leads belong to the worker
    again = campaign.send(progress=False, retry=FAST_RETRY)
    assert again.sent == 0 and sum(again.deferred.values()) == 12 and len(_deferred(sender)) == 12

    early = worker(sender, due - dt.timedelta(seconds=1)).run()  # one second early: nothing
    assert early.sent == 0 and early.waiting == 12 and twilio_server.sent() == []

    done = worker(sender, due + dt.timedelta(seconds=5)).run()
    assert done.sent == 12 and done.waiting == 0 and _deferred(sender) == []
    assert _sent(twilio_server) == Counter(numbers(12))
    assert worker(sender, due + dt.timedelta(minutes=1)).run().sent == 0  # nothing twice
    assert _sent(twilio_server) == Counter(numbers(12))


def _claim(session, lead_id: int, until: dt.datetime) -> None:
    session.execute(sa.update(DeferredSend).where(DeferredSend.lead_id == lead_id)
                    .values(claimed_by="another-host:1:w", claimed_until=until))


def test_a_send_after_a_looser_policy_sends_the_leads_the_policy_alone_held(sender, ready_campaign, twilio_server):
    """A looser policy makes the plan call the held leads due now: send() sends those the policy
    alone held (their rows go with their intents: the worker has nothing left to send), once;
    a row a worker is sending and one a local_time= send made stay the worker's, counted by
    their rows' reason."""
    sender.delivery_policy = DeliveryPolicy(window=closed_now())
    campaign = ready_campaign(8)
    assert campaign.send(progress=False, retry=FAST_RETRY).deferred == {"quiet_hours": 8}
    rows = _deferred(sender)
    claimed, timed = rows[0].lead_id, rows[1].lead_id
    with sender.transaction() as session:
        _claim(session, claimed, dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))  # a live worker's
        session.execute(sa.update(DeferredSend).where(DeferredSend.lead_id == timed)
                        .values(local_time="10:00"))  # a local_time= send's, moved by the worker since

    sender.delivery_policy = DeliveryPolicy(window=None)  # any hour: the plan says every lead is due now
    assert campaign.preflight().to_send == 8
    report = campaign.send(progress=False, retry=FAST_RETRY)
    assert report.sent == 6 and report.deferred == {"quiet_hours": 2}
    assert [r.lead_id for r in _deferred(sender)] == [claimed, timed]
    again = campaign.send(progress=False, retry=FAST_RETRY)
    assert again.sent == 0 and again.deferred == {"quiet_hours": 2}
    assert _sent(twilio_server) == Counter(numbers(8)[2:])  # each once


def test_a_lead_held_for_the_users_at_is_not_sent_before_it_by_a_looser_policy(sender, ready_campaign, twilio_server):
    """schedule(at=) an hour from now, in quiet hours: the row (reason quiet_hours) keeps the at=
    moment; with quiet hours lifted, a send() before it leaves the lead to the worker."""
    window = closed_now()
    sender.delivery_policy = DeliveryPolicy(window=window)
    campaign = ready_campaign(3)
    at = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    assert campaign.schedule(at=at, progress=False, retry=FAST_RETRY).deferred == {"quiet_hours": 3}
    assert {utc(r.not_before) for r in _deferred(sender)} == {at}

    sender.delivery_policy = DeliveryPolicy(window=None)
    report = campaign.send(progress=False, retry=FAST_RETRY)
    assert report.sent == 0 and report.deferred == {"quiet_hours": 3} and twilio_server.sent() == []
    assert worker(sender, opening(window)).run().sent == 3
    assert _sent(twilio_server) == Counter(numbers(3))


def test_a_row_a_worker_claims_while_the_send_takes_it_back_stays_the_workers(
        sender, ready_campaign, twilio_server, monkeypatch):
    """A worker claims a row after the send's scan found it free, before the intents are written:
    the release leaves it (a claimed row is the worker's), so the send neither sends the lead nor
    counts it sent."""
    sender.delivery_policy = DeliveryPolicy(window=closed_now())
    campaign = ready_campaign(4)
    campaign.send(progress=False, retry=FAST_RETRY)
    raced = _deferred(sender)[2].lead_id
    release = _deferred_store.release

    def claimed_first(session, campaign_id, lead_ids, *, now):
        _claim(session, raced, now + dt.timedelta(minutes=5))
        return release(session, campaign_id, lead_ids, now=now)

    monkeypatch.setattr(_deferred_store, "release", claimed_first)
    sender.delivery_policy = DeliveryPolicy(window=None)
    report = campaign.send(progress=False, retry=FAST_RETRY)
    assert report.sent == 3 and report.to_send == 3 and report.deferred == {"quiet_hours": 1}
    assert [r.lead_id for r in _deferred(sender)] == [raced] and len(twilio_server.sent()) == 3


def test_local_time_schedule_holds_everyone_until_ten_in_their_zone(sender, ready_campaign, twilio_server):
    sender.delivery_policy = DeliveryPolicy(window=None)
    campaign = ready_campaign(5)
    report = campaign.schedule(local_time="10:00", progress=False, retry=FAST_RETRY)
    assert report.sent == 0 and report.deferred == {"scheduled": 5}
    (due,) = {r.due_at for r in _deferred(sender)}
    assert due.astimezone(LA).strftime("%H:%M") == "10:00" and due > dt.datetime.now(dt.UTC)
    assert worker(sender, due).run().sent == 5
    assert _sent(twilio_server) == Counter(numbers(5))


def test_a_due_local_time_message_the_window_now_forbids_goes_at_that_time_of_the_next_allowed_day(
        sender, ready_campaign, twilio_server):
    """Deferred to 10:00 in the recipients' zone (``local_time``); by then a policy forbids that
    day: the worker moves it to 10:00 of the next allowed day, as the plan would time it, not to
    the window's opening (08:00), and sends it then, once."""
    sender.delivery_policy = DeliveryPolicy(window=None)
    campaign = ready_campaign(2)
    assert campaign.schedule(local_time="10:00", progress=False, retry=FAST_RETRY).deferred == {"scheduled": 2}
    (due,) = {utc(r.due_at) for r in _deferred(sender)}
    assert {r.local_time for r in _deferred(sender)} == {"10:00"}
    day = due.astimezone(LA)
    others = [d for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun") if d != day.strftime("%a").lower()]
    sender.delivery_policy = DeliveryPolicy(window=SendWindow(start="08:00", end="20:00", days=others))

    report = worker(sender, due).run()
    later = (day + dt.timedelta(days=1)).replace(hour=10, minute=0).astimezone(dt.UTC)  # 10:00 LA, the day after
    assert report.sent == 0 and report.moved == {"quiet_hours": 2}
    assert {utc(r.due_at) for r in _deferred(sender)} == {later}
    assert worker(sender, later - dt.timedelta(minutes=1)).run().sent == 0
    assert worker(sender, later).run().sent == 2
    assert _sent(twilio_server) == Counter(numbers(2)) and _deferred(sender) == []


def test_schedule_in_the_past_is_refused_with_a_clear_error(sender, ready_campaign):
    campaign = ready_campaign(2)
    with pytest.raises(Exception, match="in the past"):
        campaign.schedule(at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), progress=False)
    with pytest.raises(Exception, match="at= .* or local_time="):
        campaign.schedule(progress=False)
    assert _deferred(sender) == []


def test_frequency_capped_leads_are_skipped_and_counted(sender, ready_campaign, twilio_server):
    sender.delivery_policy = DeliveryPolicy(window=None, caps=[FrequencyCap(limit=1, per="24h")])
    first = ready_campaign(6, name="First")
    assert first.send(progress=False, retry=FAST_RETRY).sent == 6
    second = ready_campaign(10, name="Second")  # the same 6 people, and 4 new ones
    report = second.send(progress=False, retry=FAST_RETRY)
    assert report.skipped.get("frequency_cap") == 6 and report.sent == 4
    assert max(_sent(twilio_server).values()) == 1 or len(twilio_server.sent()) == 10


def test_a_paused_campaign_is_not_sent_by_the_worker_and_after_expiry_nothing_is(sender, ready_campaign,
                                                                               twilio_server):
    window = closed_now()
    sender.delivery_policy = DeliveryPolicy(window=window)
    campaign = ready_campaign(4)
    due = opening(window)
    campaign.set_delivery(None, expires_at=due + dt.timedelta(minutes=30))
    assert campaign.send(progress=False, retry=FAST_RETRY).deferred == {"quiet_hours": 4}
    campaign.disable()
    paused = worker(sender, due + dt.timedelta(minutes=1)).run()
    assert paused.sent == 0 and paused.waiting == 4 and twilio_server.sent() == []

    campaign.enable()  # resumed after its expiry: nothing is sent and the report says why
    late = worker(sender, due + dt.timedelta(hours=1)).run()
    assert late.sent == 0 and late.skipped == {"expired": 4} and late.waiting == 0
    assert twilio_server.sent() == []


def test_send_after_expiry_sends_nothing_and_says_why(sender, ready_campaign, twilio_server):
    sender.delivery_policy = DeliveryPolicy(window=None)
    campaign = ready_campaign(3)
    campaign.set_delivery(None, expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    report = campaign.send(progress=False, retry=FAST_RETRY)
    assert report.sent == 0 and report.skipped == {"expired": 3}
    assert report.notes and "expired" in report.notes[0] and "never sent" in report.notes[0]
    assert twilio_server.sent() == []


def test_leads_due_now_are_sent_while_the_others_wait(sender, twilio_server):
    """Due leads (a zone whose window is open) go at once; a closed zone's leads are deferred."""
    sender.delivery_policy = DeliveryPolicy(window=SendWindow(start="00:00", end="24:00"),
                                            countries={"DE": closed_now(ZoneInfo("Europe/Berlin"))})
    campaign = sender.create_campaign("Mixed", template="order_confirmation")
    frame = leads_frame(6)
    frame.loc[3:, "phone_number"] = ["+4915112345678", "+4915112345679", "+4915112345670"]
    campaign.add_leads(frame)
    approve(campaign, twilio_server)
    report = campaign.send(progress=False, retry=FAST_RETRY)
    assert report.sent == 3 and report.deferred == {"quiet_hours": 3}
    assert sorted(_sent(twilio_server)) == numbers(3)
    with sender.engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(OutboundMessage)) == 3


def test_the_policy_validity_period_goes_with_every_request(sender, ready_campaign, twilio_server):
    sender.delivery_policy = DeliveryPolicy(window=None, validity_period=600)
    campaign = ready_campaign(3)
    assert campaign.send(progress=False, retry=FAST_RETRY).sent == 3
    creates = [r for r in twilio_server.requests if r.method == "POST" and r.path.endswith("/Messages.json")]
    assert [r.field("ValidityPeriod") for r in creates] == ["600"] * 3
