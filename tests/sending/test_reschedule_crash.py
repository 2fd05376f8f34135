"""A process killed between Twilio's cancel and the store's commit leaves nothing half done: the
cancel was an intent first (``sending._cancel_intents``), and the next reschedule, sync, send or
run_due finishes it, exactly once: the lead deferred once, sent once, never early.

The child process (``_crash_reschedule``) sets a stricter policy (a send window that opens an
hour after the SendAt, or a messaging limit of one person) on a campaign whose three leads
Twilio's scheduler holds; the local Twilio server processes its first cancel and holds the
answer (``hang``, ``processed=True``); the child is then killed with SIGKILL, before its commit.
The real twilio-python client over HTTP to the local Twilio server (wall clock), on a SQLite file
and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from campaign_sdk import CampaignClient, DeliveryPolicy, SendWindow
from campaign_sdk.gateways import TwilioGateway
from campaign_sdk.models import DeferredSend, OutboundMessage, SyncState
from campaign_sdk.sending import DueSender
from campaign_sdk.testing import TwilioTestServer

from . import _crash_reschedule
from tests.conftest import SERVICE_SID

from .conftest import ANY_HOUR, FAST_RETRY, approve, leads_frame, numbers

DAY, HOUR = dt.timedelta(days=1), dt.timedelta(hours=1)
CONTEXT = multiprocessing.get_context("forkserver")


def _policy(how: str, send_at: dt.datetime) -> DeliveryPolicy:
    """The stricter policy: a window (in UTC, the leads' zone) opening an hour after ``send_at``,
    or a messaging limit of one person per 24 h."""
    if how == "messaging_tier":
        return DeliveryPolicy(window=None, messaging_tier=1)
    start = (send_at.hour + 1) % 24
    return DeliveryPolicy(window=SendWindow(start=f"{start:02d}:00", end=f"{min(start + 2, 24):02d}:00"))


def _crash(server: TwilioTestServer, store_url: str, log: Path, policy: DeliveryPolicy | None) -> None:
    """Set ``policy`` in a child (None: disable the campaign); SIGKILL it once Twilio has processed
    its first cancel (the answer held)."""
    server.fail("hang", path="/Messages/", processed=True, times=1)
    args = (store_url, server.url, server.account_sid, server.auth_token, "Orders",
            None if policy is None else policy.model_dump_json(), str(log))
    child = CONTEXT.Process(target=_crash_reschedule.run, args=args, daemon=True)
    child.start()
    try:
        server.wait_for(lambda s: s.hanging >= 1, timeout=30)
    except TimeoutError:
        pytest.fail(f"the child never reached its first cancel:\n{log.read_text()}")
    assert child.exitcode is None, log.read_text()
    os.kill(child.pid, signal.SIGKILL)
    child.join(timeout=10)
    assert child.exitcode == -signal.SIGKILL
    server.clear_faults()
    server.release()


def _stored(client: CampaignClient) -> dict[str, str]:
    with client.engine.connect() as connection:
        return {str(to): str(status) for to, status in connection.execute(
            sa.select(OutboundMessage.to_number, OutboundMessage.status).order_by(OutboundMessage.id))}


def _deferred(client: CampaignClient) -> dict[str, tuple[dt.datetime, str]]:
    with client.engine.connect() as connection:
        rows = connection.execute(sa.select(OutboundMessage.to_number, DeferredSend.due_at, DeferredSend.reason)
                                  .join(OutboundMessage, OutboundMessage.lead_id == DeferredSend.lead_id)).all()
    return {str(to): (due if due.tzinfo else due.replace(tzinfo=dt.UTC), reason) for to, due, reason in rows}


def _intents(client: CampaignClient) -> int:
    with client.engine.connect() as connection:
        return int(connection.scalar(sa.select(sa.func.count()).where(SyncState.key.like("cancel-intent:%"))) or 0)


def _cancels(server: TwilioTestServer) -> Counter[str]:
    return Counter(r.path.rsplit("/", 1)[-1].removesuffix(".json") for r in server.requests
                   if r.method == "POST" and r.field("Status") == "canceled")


def _at_twilio(server: TwilioTestServer) -> dict[str, str]:
    return {m["to"].removeprefix("whatsapp:"): m["status"] for m in server.sent()}


def _finish(how: str, client: CampaignClient, policy: DeliveryPolicy) -> Any:
    campaign = client.campaign("Orders")
    if how == "sync":
        return client.sync()
    if how == "send":
        return campaign.send(progress=False, retry=FAST_RETRY)
    if how == "run_due":
        return client.run_due(retry=FAST_RETRY)
    campaign.set_delivery(policy)
    return campaign.rescheduled


def _three_scheduled(client: CampaignClient, server: TwilioTestServer):
    """A campaign of three leads (UTC) handed to Twilio's scheduler two hours ahead, on the hour;
    and that moment."""
    client.delivery_policy = ANY_HOUR
    campaign = client.create_campaign("Orders", template="order_confirmation")
    campaign.add_leads(leads_frame(3).assign(timezone="UTC"))
    approve(campaign, server)
    send_at = (dt.datetime.now(dt.UTC) + 2 * HOUR).replace(minute=0, second=0, microsecond=0)
    assert campaign.schedule(at=send_at, progress=False, retry=FAST_RETRY).scheduled == 3
    return campaign, send_at


@pytest.mark.parametrize("why", ["quiet_hours", "messaging_tier"])
@pytest.mark.parametrize("how", ["sync", "send", "run_due", "set_delivery"])
def test_a_reschedule_killed_after_twilio_canceled_is_finished_exactly_once(store_url, tmp_path, how, why):
    with TwilioTestServer(latency=0.002) as server:
        gateway = TwilioGateway(server.twilio_client(), messaging_service_sid=SERVICE_SID, rate=None)
        with CampaignClient(store_url, gateway=gateway) as client:
            campaign, send_at = _three_scheduled(client, server)
            sids = {m["to"].removeprefix("whatsapp:"): m["sid"] for m in server.sent()}
            first, second, third = numbers(3)
            policy = _policy(why, send_at)
            if why == "quiet_hours":  # all three move an hour; the first cancel is the first person's
                expected = {n: (send_at + HOUR, why) for n in numbers(3)}
                killed, kept = first, None
            else:  # the first person stays; the second moves a day, the third two
                expected = {second: (send_at + DAY, why), third: (send_at + 2 * DAY, why)}
                killed, kept = second, first

            _crash(server, store_url, tmp_path / "child.log", policy)

            # Twilio canceled one message (the killed request); the store did not hear of it
            assert [n for n, status in _at_twilio(server).items() if status == "canceled"] == [killed]
            assert set(_stored(client).values()) == {"scheduled"} and _deferred(client) == {}

            _finish(how, client, policy)

            # the killed cancel's outcome, and the cancels it never made: each once
            after = {n: "canceled" if n in expected else "scheduled" for n in numbers(3)}
            assert _deferred(client) == expected
            assert _stored(client) == after and _at_twilio(server) == after
            assert _intents(client) == 0
            asked = _cancels(server)
            assert all(asked[sids[n]] == 1 for n in expected if n != killed) and (kept is None or sids[kept] not in asked)

            # every finisher again: nothing more is canceled, deferred or sent
            for again in ("sync", "send", "run_due", "set_delivery"):
                _finish(again, client, policy)
            assert _cancels(server) == asked and _deferred(client) == expected and len(server.sent()) == 3

            # the worker sends each at its moment, once, not before
            for due in sorted({d for d, _ in expected.values()}):
                count = sum(d == due for d, _ in expected.values())
                early = DueSender(client._sessions, gateway, retry=FAST_RETRY, clock=lambda d=due: d - dt.timedelta(minutes=1))
                assert early.run().sent == 0
                assert DueSender(client._sessions, gateway, retry=FAST_RETRY,
                                 clock=lambda d=due: d + dt.timedelta(seconds=1)).run().sent == count
            live = Counter(m["to"].removeprefix("whatsapp:") for m in server.sent() if m["status"] != "canceled")
            assert live == Counter(numbers(3)) and _deferred(client) == {}


def test_a_cancel_recorded_before_it_is_finished_is_not_applied_to_a_lead_planned_again(store_url, tmp_path):
    """Twilio's status callback (or a sync) records the killed cancel first, which frees the lead,
    and a send plans it again (here: hands it to Twilio's scheduler once more): the intent's
    outcome is then not applied (the lead would be held twice); the cancels the child never
    made are finished. Each person is messaged once."""
    with TwilioTestServer(latency=0.002) as server:
        gateway = TwilioGateway(server.twilio_client(), messaging_service_sid=SERVICE_SID, rate=None)
        with CampaignClient(store_url, gateway=gateway) as client:
            campaign, send_at = _three_scheduled(client, server)
            first, second, third = numbers(3)
            killed = {m["to"].removeprefix("whatsapp:"): m["sid"] for m in server.sent()}[first]
            _crash(server, store_url, tmp_path / "child.log", _policy("quiet_hours", send_at))

            assert client.record_statuses([{"sid": killed, "status": "canceled"}]).applied == 1
            report = campaign.send(progress=False, retry=FAST_RETRY)

            assert report.scheduled == 1  # the freed lead, at the window's opening
            assert _deferred(client) == {second: (send_at + HOUR, "quiet_hours"), third: (send_at + HOUR, "quiet_hours")}
            assert _intents(client) == 0
            assert DueSender(client._sessions, gateway, retry=FAST_RETRY,
                             clock=lambda: send_at + HOUR + dt.timedelta(seconds=1)).run().sent == 2
            live = Counter(m["to"].removeprefix("whatsapp:") for m in server.sent() if m["status"] != "canceled")
            assert live == Counter(numbers(3)) and _deferred(client) == {}


@pytest.mark.parametrize("how", ["sync", "cancel_scheduled"])
def test_a_pause_killed_after_twilio_canceled_cancels_the_rest_at_the_next_call(store_url, tmp_path, how):
    """``disable()`` killed after its first cancel: the next sync (or ``cancel_scheduled``) finishes
    the pause's intents: every held message canceled at Twilio and in the store (none goes out
    while the campaign is paused), each cancel asked once more at most."""
    with TwilioTestServer(latency=0.002) as server:
        gateway = TwilioGateway(server.twilio_client(), messaging_service_sid=SERVICE_SID, rate=None)
        with CampaignClient(store_url, gateway=gateway) as client:
            client.delivery_policy = ANY_HOUR
            campaign = client.create_campaign("Orders", template="order_confirmation")
            campaign.add_leads(leads_frame(3))
            approve(campaign, server)
            send_at = (dt.datetime.now(dt.UTC) + 2 * HOUR).replace(minute=0, second=0, microsecond=0)
            assert campaign.schedule(at=send_at, progress=False, retry=FAST_RETRY).scheduled == 3

            _crash(server, store_url, tmp_path / "child.log", None)
            assert Counter(_at_twilio(server).values()) == Counter({"canceled": 1, "scheduled": 2})

            if how == "sync":
                client.sync()
            else:
                assert campaign.cancel_scheduled().canceled == 3

            canceled = {n: "canceled" for n in numbers(3)}
            assert _at_twilio(server) == canceled and _stored(client) == canceled and _intents(client) == 0
            assert max(_cancels(server).values()) <= 2 and _deferred(client) == {}


def test_a_cancel_intent_keeps_its_leads_not_before_and_one_written_before_it_was_kept_never_goes_early() -> None:
    from campaign_sdk.sending._cancel_intents import Intent

    due, asked = dt.datetime(2026, 7, 8, 7, tzinfo=dt.UTC), dt.datetime(2026, 7, 2, 6, tzinfo=dt.UTC)
    later = {"lead_id": 3, "user_id": 4, "due_at": due, "reason": "quiet_hours", "local_time": None, "not_before": asked}
    loaded = Intent.load(Intent("SM" + "1" * 32, "whatsapp:+14155550001", 1, later=later).dump())
    assert loaded is not None and loaded.later == later
    old = json.loads(Intent("SM" + "2" * 32, "whatsapp:+14155550002", 1, later=later).dump())
    del old["later"]["not_before"]  # written by an SDK before not_before was kept (migration 0017)
    legacy = Intent.load(json.dumps(old))
    assert legacy is not None and legacy.later is not None and legacy.later["not_before"] == due
