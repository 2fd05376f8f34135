"""Where each lead stands (``campaign.leads``, issue 13): a lead the worker holds reads
``deferred`` (reason, due_at), one Twilio's scheduler holds ``scheduled`` (due_at: its SendAt), and
one a send or the worker dropped ``skipped`` with the stored reason and time (migration 0011),
until a later message or deferred send supersedes it; re-adding a lead with new values, or after
its removal, clears the mark. Before, all of them read ``pending``.

The real twilio-python client over HTTP to the local Twilio server, on its simulated clock (as
test_scheduled_limits.py does), through a Messaging Service: a moment less than 15 minutes ahead
is held by the local worker, a later one by Twilio's scheduler.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pandas as pd

from campaign_sdk import Campaign, CampaignClient, DeliveryPolicy, FrequencyCap, LeadStatus
from campaign_sdk.sending import DueSender
from campaign_sdk.testing import TwilioTestServer


from .conftest import FAST_RETRY, approve, leads_frame, numbers

START = dt.datetime.now(dt.UTC).replace(microsecond=0)
SOON = START + dt.timedelta(minutes=10)  # held by the worker (Twilio's window opens at 15 minutes)
LATER = START + dt.timedelta(hours=2)  # held by Twilio's scheduler
ANY_HOUR = DeliveryPolicy(window=None)
ONE_A_DAY = DeliveryPolicy(window=None, caps=[FrequencyCap(limit=1, per="24h")])


def _campaign(client: CampaignClient, server: TwilioTestServer, name: str, count: int = 3, *,
              policy: DeliveryPolicy | None = ANY_HOUR) -> Campaign:
    campaign = client.create_campaign(name, template="order_confirmation")
    campaign.add_leads(leads_frame(count))
    approve(campaign, server)
    return campaign.set_delivery(policy)


def _naive(moment: dt.datetime) -> pd.Timestamp:
    return pd.Timestamp(moment.replace(tzinfo=None))


def _states(campaign: Campaign) -> Counter[tuple[Any, ...]]:
    """(status, reason, due_at, skipped_at) of the campaign's leads, counted."""
    leads = campaign.leads
    missing = leads[["reason", "due_at", "skipped_at"]].isna()
    for column in ("reason", "due_at", "skipped_at"):
        leads[column] = leads[column].astype(object).where(~missing[column], None)
    return Counter(zip(leads["status"], leads["reason"], leads["due_at"], leads["skipped_at"]))


def _worker(client: CampaignClient, at: dt.datetime) -> DueSender:
    return DueSender(client._sessions, client.gateway, retry=FAST_RETRY, clock=lambda: at,
                     client_policy=client.delivery_policy)


def test_a_lead_the_worker_holds_reads_deferred_and_one_it_drops_over_a_cap_reads_skipped(sender, twilio_server):
    a = _campaign(sender, twilio_server, "A")
    b = _campaign(sender, twilio_server, "B")
    assert a.schedule(at=SOON, progress=False, retry=FAST_RETRY).deferred == {"scheduled": 3}
    assert b.schedule(at=SOON, progress=False, retry=FAST_RETRY).deferred == {"scheduled": 3}
    assert _states(b) == Counter({(LeadStatus.DEFERRED, "scheduled", _naive(SOON), None): 3})  # was: pending
    a.set_delivery(ONE_A_DAY)
    b.set_delivery(ONE_A_DAY)

    due = _worker(sender, SOON).run()

    assert due.sent == 3 and due.skipped == {"frequency_cap": 3}
    assert {s for s, *_ in _states(a)} == {LeadStatus.QUEUED}
    assert _states(b) == Counter({(LeadStatus.SKIPPED, "frequency_cap", None, _naive(SOON)): 3})
    b_leads = b.leads
    assert list(b_leads["status"]) == ["skipped"] * 3 and set(b_leads["message_status"].isna()) == {True}

    # a later send that reaches them supersedes the skip (the mark stays as the record of the drop)
    b.set_delivery(ANY_HOUR)
    assert b.send(progress=False, retry=FAST_RETRY).sent == 3
    assert {(s, r) for s, r, *_ in _states(b)} == {(LeadStatus.QUEUED, None)}
    assert Counter(m["to"].removeprefix("whatsapp:") for m in twilio_server.sent()) == Counter(numbers(3) * 2)


def test_a_lead_a_send_skips_reads_skipped_and_a_changed_re_add_clears_it(sender, twilio_server):
    a = _campaign(sender, twilio_server, "A", policy=ONE_A_DAY)
    assert a.send(progress=False, retry=FAST_RETRY).sent == 3
    b = _campaign(sender, twilio_server, "B", policy=ONE_A_DAY)

    report = b.send(progress=False, retry=FAST_RETRY)

    assert report.skipped == {"frequency_cap": 3}
    assert _states(b) == Counter({(LeadStatus.SKIPPED, "frequency_cap", None, _naive(START)): 3})
    twilio_server.simulator.clock.advance(minutes=5)
    assert b.send(progress=False, retry=FAST_RETRY).skipped == {"frequency_cap": 3}
    assert _states(b) == Counter({(LeadStatus.SKIPPED, "frequency_cap", None, _naive(START)): 3})  # first drop kept

    first, second, third = numbers(3)
    b.add_leads(leads_frame(3))  # the same values: nothing changed, the skip stands
    assert list(b.leads["status"]) == ["skipped"] * 3
    changed = leads_frame(3).assign(order_id="B-9")
    b.add_leads(changed.iloc[[0]])  # new values: pending again, the next send decides
    b.remove_leads([second])
    b.add_leads(leads_frame(3).iloc[[1]])  # back after its removal: pending again
    by_phone = b.leads.set_index("phone_number")
    assert by_phone.loc[[first, second, third], "status"].tolist() == ["pending", "pending", "skipped"]
    assert by_phone.loc[[first, second], "reason"].isna().all()
    assert by_phone.loc[third, "reason"] == "frequency_cap"


def test_a_message_twilio_holds_reads_scheduled_until_canceled_then_pending(sender, twilio_server):
    campaign = _campaign(sender, twilio_server, "Later")

    report = campaign.schedule(at=LATER, progress=False, retry=FAST_RETRY)

    assert report.scheduled == 3
    assert _states(campaign) == Counter({(LeadStatus.SCHEDULED, None, _naive(LATER), None): 3})  # was: queued
    campaign.disable()  # cancels at Twilio: the leads are free again
    assert _states(campaign) == Counter({(LeadStatus.PENDING, None, None, None): 3})  # was: queued


def test_deferred_leads_dropped_as_expired_read_skipped_by_the_worker_and_by_send(sender, twilio_server):
    by_worker = _campaign(sender, twilio_server, "Worker")
    by_send = _campaign(sender, twilio_server, "Send")
    for campaign in (by_worker, by_send):
        assert campaign.schedule(at=SOON, progress=False, retry=FAST_RETRY).deferred == {"scheduled": 3}
        campaign.set_delivery(ANY_HOUR, expires_at=START + dt.timedelta(minutes=5))  # before their moment

    twilio_server.simulator.clock.advance(minutes=6)  # resumed after the expiry: send() drops them
    assert by_send.send(progress=False, retry=FAST_RETRY).skipped == {"expired": 3}
    dropped = _naive(START + dt.timedelta(minutes=6))
    assert _states(by_send) == Counter({(LeadStatus.SKIPPED, "expired", None, dropped): 3})
    assert _states(by_worker) == Counter({(LeadStatus.DEFERRED, "scheduled", _naive(SOON), None): 3})

    due = _worker(sender, SOON).run()  # the worker drops the others at their moment

    assert due.sent == 0 and due.skipped == {"expired": 3}
    assert _states(by_worker) == Counter({(LeadStatus.SKIPPED, "expired", None, _naive(SOON)): 3})
    assert twilio_server.sent() == []
