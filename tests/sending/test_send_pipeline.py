"""The send loop's pipeline: the census counted by the scan itself (also when a send stops
midway), the leads after the last due one scanned by a thread of their own, the job queue the
sending threads take from, and the plan's decisions looked up per lead."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa

from campaign_sdk import DeliveryPolicy, SendWindow
from campaign_sdk.delivery import DeliveryPolicy as Policy
from campaign_sdk.models import DeferredSend
from campaign_sdk.sending._delivery import Job
from campaign_sdk.sending._planned import UNPLANNED, Decision, Decisions
from campaign_sdk.sending._queue import JobQueue

from .conftest import disabled_midway, leads_frame, numbers
from .test_deferral import closed_now

SENDER = "number"  # no Messaging Service: the local worker holds every deferred message

BERLIN = ZoneInfo("Europe/Berlin")
GERMAN = [f"+49151123{i:05d}" for i in range(40)]


def _half_german(count: int) -> pd.DataFrame:
    """``count`` US leads (due) followed by 40 German ones (deferred: Berlin's window is closed)."""
    frame = leads_frame(count + len(GERMAN))
    frame.loc[count:, "phone_number"] = GERMAN
    return frame


def _policy() -> DeliveryPolicy:
    return DeliveryPolicy(window=SendWindow(start="00:00", end="24:00"), countries={"DE": closed_now(BERLIN)})


def _held(client) -> list[int]:
    with client.transaction() as session:
        return list(session.scalars(sa.select(DeferredSend.lead_id)))


def test_the_scan_counts_due_and_deferred_leads_and_writes_the_deferrals_behind_the_last_due_lead(
        sender, ready_campaign, twilio_server) -> None:
    sender.delivery_policy = _policy()
    campaign = ready_campaign(frame=_half_german(60))
    report = campaign.send(progress=False)
    assert report.to_send == 60 and report.sent == 60 and report.deferred == {"quiet_hours": 40}
    assert report.complete and report.remaining == 0
    assert Counter(m["to"].removeprefix("whatsapp:") for m in twilio_server.sent()) == Counter(numbers(60))
    assert len(_held(sender)) == 40  # written by the scan of the leads after the last due one
    again = campaign.send(progress=False)  # the deferred leads are the worker's: counted, not sent
    assert again.sent == 0 and again.deferred == {"quiet_hours": 40} and again.skipped == {"already_messaged": 60}


def test_a_send_stopped_midway_still_counts_every_lead_in_its_report(sender, ready_campaign, twilio_server) -> None:
    sender.delivery_policy = _policy()
    campaign = ready_campaign(frame=_half_german(120))
    report = disabled_midway(campaign, twilio_server)
    assert report.stopped == "disabled" and 6 <= report.sent < 120
    # the census covers the leads the stopped scan never reached, as one made before the send would
    assert report.to_send == 120 and report.deferred == {"quiet_hours": 40}
    assert report.remaining == 120 - report.sent
    campaign.enable()
    resumed = campaign.send(progress=False)
    assert resumed.sent == 120 - report.sent and resumed.complete and resumed.deferred == {"quiet_hours": 40}
    assert len(twilio_server.sent()) == 120 and len(_held(sender)) == 40


def _job(i: int) -> Job:
    return Job(i, i, i, f"+1415555{i:04d}", {}, dt.datetime.now(dt.UTC))


def test_a_queued_job_is_either_taken_by_one_thread_or_drained_never_both() -> None:
    queue = JobQueue()
    queue.add(_job(i) for i in range(2000))
    stop = threading.Event()
    taken: list[int] = []
    lock = threading.Lock()

    def sending() -> None:
        while (job := queue.take(stop.is_set)) is not None:
            with lock:
                taken.append(job.intent_id)
                if len(taken) == 700:
                    stop.set()

    threads = [threading.Thread(target=sending) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    left = [job.intent_id for job in queue.drain()]
    assert len(taken) == 700 and len(set(taken)) == 700
    assert sorted(taken + left) == list(range(2000))  # each job once: requested or released


def test_sending_threads_wait_for_jobs_and_end_when_the_queue_is_closed_and_empty() -> None:
    queue = JobQueue()
    taken: list[int] = []
    thread = threading.Thread(target=lambda: taken.extend(j.intent_id for j in iter(lambda: queue.take(lambda: False), None)))
    thread.start()
    queue.add([_job(1), _job(2)])
    queue.wait_until(0, timeout=5)
    queue.add([_job(3)])
    queue.close()
    thread.join(timeout=5)
    assert not thread.is_alive() and taken == [1, 2, 3]
    assert queue.take(lambda: False, wait=False) is None


def test_decisions_are_looked_up_per_lead_and_unknown_leads_are_unplanned() -> None:
    at = pd.Timestamp("2026-12-01 10:00", tz="UTC")
    frame = pd.DataFrame({
        "lead_id": [3, 1, 2, 4],
        "action": pd.Categorical(["send", "defer", "skip", "defer"]),
        "reason": pd.Categorical([None, "quiet_hours", "frequency_cap", "quiet_hours"]),
        "send_at": pd.Series([pd.NaT, at, pd.NaT, at]),
        "scheduler": pd.Categorical(["now", "worker", None, "twilio"]),
    })
    decisions = Decisions(frame, policy=Policy())
    moment = at.to_pydatetime()
    assert decisions.of([1, 2, 3, 4, 99]) == [
        Decision("defer", "quiet_hours", moment, "worker"), Decision("skip", "frequency_cap"),
        Decision("send", None, None, "now"), Decision("defer", "quiet_hours", moment, "twilio"), UNPLANNED,
    ]
    assert decisions.of([1])[0] is not decisions.of([4])[0]  # scheduler differs
    assert decisions.last(lambda d: d.action == "send") == 3 and decisions.last(lambda d: d.action == "holdout") is None
    assert decisions.count(lambda d: d.action == "defer") == 2


def test_deferred_leads_finds_exactly_the_held_leads_among_those_asked(sender, ready_campaign) -> None:
    from campaign_sdk.models import CampaignLead
    from campaign_sdk.sending import _deferred

    campaign, other = ready_campaign(40), ready_campaign(10, name="Other")
    with sender.transaction() as session:
        ids = list(session.scalars(sa.select(CampaignLead.id).where(CampaignLead.campaign_id == campaign.id)
                                   .order_by(CampaignLead.id)))
        users = dict(session.execute(sa.select(CampaignLead.id, CampaignLead.user_id)).tuples().all())
        others = list(session.scalars(sa.select(CampaignLead.id).where(CampaignLead.campaign_id == other.id)))
        due = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        held = ids[3:9] + ids[20:21] + ids[-2:]
        for campaign_id, leads in ((campaign.id, held), (other.id, others)):
            _deferred.defer(session, campaign_id, [{"lead_id": i, "user_id": users[i], "due_at": due,
                                                    "reason": "quiet_hours"} for i in leads])
    with sender.transaction() as session:
        def asked(lead_ids: list[int]) -> set[int]:
            return _deferred.deferred_leads(session, campaign.id, lead_ids)

        assert asked(ids) == set(held)  # dense: one range
        assert asked(ids[5:25]) == set(ids[5:9] + ids[20:21])  # held leads outside the range asked are not found
        assert asked([ids[0], ids[4], ids[-1]]) == {ids[4], ids[-1]}  # sparse: an IN list
        assert asked(list(reversed(ids[:10])) + ids[:3]) == set(ids[3:9])  # any order, repeated ids
        assert asked(others) == set() and asked([]) == set()  # another campaign's rows are not this one's
