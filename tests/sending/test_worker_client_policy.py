"""The worker plans with the client's delivery policy the user set, wherever it was set: the
policy is the store's, so ``run_due()`` of another client, a ``campaign-sdk worker`` process and
a long-running ``DueSender`` all see it (before, a worker's new process planned the messages a
notebook's ``send()`` deferred with the default policy: 09:00-21:00 local and no caps, so it sent
them outside the user's window or over their caps), and a running worker sees a change another
client makes between its passes. An explicit ``client_policy=`` still overrides.

The real twilio-python client talks HTTP to the local Twilio server; the workers are new
``CampaignClient`` objects, ``DueSender`` and real ``python -m campaign_sdk.cli worker`` processes
(``--once``, and its loop).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

import pandas as pd
import pytest

from campaign_sdk import CampaignClient, DeliveryPolicy, SendWindow
from campaign_sdk.sending import DueSender
from campaign_sdk.testing import TwilioTestServer

from .conftest import (ANY_HOUR, FAST_RETRY, FROM_NUMBER, approve, clocked_twilio_server, gateway_for, leads_frame,
                       numbers)
from .test_worker_cli import _twilio_env, _worker
from .test_workers import Worker

WINDOW = SendWindow(start="10:00", end="18:00")
USERS = DeliveryPolicy(window=WINDOW, caps=[{"limit": 1, "per": "24h"}])
LA = "America/Los_Angeles"  # UTC-7 in July
START = dt.datetime(2026, 7, 1, 2, tzinfo=dt.UTC)  # Tue 19:00 in Los Angeles: outside the user's window
DUE = dt.datetime(2026, 7, 1, 17, tzinfo=dt.UTC)  # Wed 10:00 there: the user's window opens
WED_EVENING = dt.datetime(2026, 7, 2, 2, 30, tzinfo=dt.UTC)  # Wed 19:30: the default's window, not the user's
THU_MORNING = dt.datetime(2026, 7, 2, 16, 30, tzinfo=dt.UTC)  # Thu 09:30
THU_LATE_MORNING = dt.datetime(2026, 7, 2, 17, 30, tzinfo=dt.UTC)  # Thu 10:30: the user's window


def _deferred_by_the_users_policy(client: CampaignClient, server: TwilioTestServer, count: int) -> None:
    """The notebook: the user's client policy, and a send at Tue 19:00 that defers every lead."""
    client.delivery_policy = USERS
    campaign = client.create_campaign("Evening", template="order_confirmation")
    campaign.add_leads(leads_frame(count).assign(timezone=LA))
    approve(campaign, server)
    report = campaign.send(progress=False, retry=FAST_RETRY)
    assert report.sent == 0 and report.deferred == {"quiet_hours": count} and report.next_due == DUE


def _to(server: TwilioTestServer) -> list[str]:
    return sorted(m["to"].removeprefix("whatsapp:") for m in server.sent())


def _move_to(server: TwilioTestServer, moment: dt.datetime) -> None:
    server.advance(seconds=(moment - server.simulator.now()).total_seconds())


def test_another_clients_worker_keeps_the_users_window_and_caps(migrated_url: str) -> None:
    with clocked_twilio_server(START) as server:
        with CampaignClient(migrated_url, gateway=gateway_for(server, sender="from")) as notebook:
            _deferred_by_the_users_policy(notebook, server, 2)

        _move_to(server, WED_EVENING)  # due since 10:00; 19:30 is inside the default's window only
        with CampaignClient(migrated_url, gateway=gateway_for(server, sender="from")) as worker:
            evening = worker.run_due(retry=FAST_RETRY)
        assert evening.claimed == 2 and evening.sent == 0 and evening.moved == {"quiet_hours": 2}
        assert server.sent() == [] and evening.next_due == DUE + dt.timedelta(days=1)

        # Thu 09:30: another campaign, with a policy of its own (any hour), messages the first lead
        with CampaignClient(migrated_url, gateway=gateway_for(server, sender="from")) as notebook:
            other = notebook.create_campaign("Other", template="order_confirmation")
            other.add_leads(leads_frame(1).assign(timezone=LA))
            approve(other, server)
            other.set_delivery(ANY_HOUR)
            _move_to(server, THU_MORNING)
            assert other.send(progress=False, retry=FAST_RETRY).sent == 1
        assert _to(server) == numbers(1)

        _move_to(server, THU_LATE_MORNING)  # the user's window: sent, but not over the user's cap
        with CampaignClient(migrated_url, gateway=gateway_for(server, sender="from")) as worker:
            morning = worker.run_due(retry=FAST_RETRY)
            assert morning.sent == 1 and morning.skipped == {"frequency_cap": 1} and morning.waiting == 0
            leads = worker.campaign("Evening").leads.set_index("phone_number")
        assert _to(server) == numbers(2)  # Other's to the first lead, the worker's to the second
        assert tuple(leads.loc[numbers(2)[0], ["status", "reason"]]) == ("skipped", "frequency_cap")


def test_a_running_sender_sees_a_policy_another_client_sets_between_passes(migrated_url: str) -> None:
    with clocked_twilio_server(START) as server:
        with CampaignClient(migrated_url, gateway=gateway_for(server, sender="from")) as notebook, \
                CampaignClient(migrated_url, gateway=gateway_for(server, sender="from")) as process:
            _deferred_by_the_users_policy(notebook, server, 2)
            worker = DueSender(process._sessions, process.gateway, retry=FAST_RETRY)  # as campaign-sdk worker makes it

            _move_to(server, WED_EVENING)
            first = worker.run()  # the user's window: moved to Thu 10:00
            assert first.sent == 0 and first.moved == {"quiet_hours": 2}

            notebook.delivery_policy = DeliveryPolicy(window=SendWindow(start="14:00", end="18:00"))  # stricter
            _move_to(server, THU_LATE_MORNING)
            second = worker.run()  # the policy at this pass, not the one at the worker's start
            assert second.claimed == 2 and second.sent == 0 and second.moved == {"quiet_hours": 2}
            assert second.next_due == dt.datetime(2026, 7, 2, 21, tzinfo=dt.UTC)  # Thu 14:00 there
            assert server.sent() == []

            _move_to(server, dt.datetime(2026, 7, 2, 21, 30, tzinfo=dt.UTC))
            third = worker.run()
            assert third.sent == 2 and third.waiting == 0
        assert _to(server) == numbers(2)


def test_an_explicit_client_policy_overrides_the_stores(migrated_url: str) -> None:
    with clocked_twilio_server(START) as server:
        with CampaignClient(migrated_url, gateway=gateway_for(server, sender="from")) as notebook:
            _deferred_by_the_users_policy(notebook, server, 2)
            _move_to(server, WED_EVENING)
            report = DueSender(notebook._sessions, notebook.gateway, retry=FAST_RETRY, client_policy=ANY_HOUR).run()
            assert report.sent == 2 and notebook.delivery_policy == USERS  # the store's is left as it was
        assert _to(server) == numbers(2)


def _zone_at(hour: int, now: dt.datetime) -> str:
    """A zone (``Etc/GMT...``, whole hours from UTC) whose local time ``now`` is ``hour``:xx."""
    offset = (hour - now.hour) % 24
    offset -= 24 if offset > 14 else 0
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"  # the sign is POSIX's


@pytest.mark.slow
def test_a_worker_process_keeps_the_users_window(migrated_url: str) -> None:
    """``campaign-sdk worker --once`` on the wall clock. The notebook sent 12 hours ago (its
    gateway's clock) to two leads: one where it is 19:xx now (due since 10:00; inside the
    default's window, outside the user's) and one where it is 12:xx now (inside both). The
    worker sends the second only, and defers the first to the user's window tomorrow."""
    now = dt.datetime.now(dt.UTC)
    evening, noon = _zone_at(19, now), _zone_at(12, now)
    with clocked_twilio_server(now - dt.timedelta(hours=12)) as server:
        with CampaignClient(migrated_url, gateway=gateway_for(server, sender="from")) as notebook:
            notebook.delivery_policy = DeliveryPolicy(window=WINDOW)
            campaign = notebook.create_campaign("Zones", template="order_confirmation")
            campaign.add_leads(leads_frame(2).assign(timezone=[evening, noon]))
            approve(campaign, server)
            assert campaign.send(progress=False, retry=FAST_RETRY).deferred == {"quiet_hours": 2}

            done = _worker(migrated_url, _twilio_env(server, TWILIO_FROM=FROM_NUMBER), "--twilio-url", server.url)
            assert done.returncode == 0, done.stdout + done.stderr
            assert re.search(r"claimed=2 sent=1 .*moved=\{'quiet_hours': 1\}", done.stdout), done.stdout
            assert _to(server) == numbers(1, start=1)  # the lead at noon
            leads = campaign.leads.set_index("phone_number")
            due = leads.loc[numbers(1)[0], "due_at"]
        tomorrow = now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=15)  # 10:00 there
        assert pd.Timestamp(due, tz="UTC") == tomorrow  # the frame's moments are naive UTC


def _log_says(worker: Worker, text: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while text not in (log := worker.log.read_text()):
        assert worker.process.poll() is None and time.monotonic() < deadline, f"never said {text!r}:\n{log}"
        time.sleep(0.05)
    return log


@pytest.mark.slow
def test_a_running_worker_process_sees_a_policy_set_after_it_started(migrated_url: str, tmp_path: Path) -> None:
    """``campaign-sdk worker`` (its loop) started while the client policy let any hour go; the
    notebook then sets the user's window: the messages that fall due afterwards, where it is 19:xx
    now, are deferred to the window, not sent with the policy of the worker's start."""
    zone = _zone_at(19, dt.datetime.now(dt.UTC))
    with TwilioTestServer() as server:
        with CampaignClient(migrated_url, gateway=gateway_for(server)) as notebook:
            notebook.delivery_policy = ANY_HOUR
            campaign = notebook.create_campaign("Later", template="order_confirmation")
            campaign.add_leads(leads_frame(2).assign(timezone=zone))
            approve(campaign, server)
            worker = Worker(migrated_url, server, tmp_path / "worker.log")
            try:
                _log_says(worker, "READY")
                at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=4)
                assert campaign.schedule(at=at, progress=False, retry=FAST_RETRY).deferred == {"scheduled": 2}
                notebook.delivery_policy = DeliveryPolicy(window=WINDOW)
                assert dt.datetime.now(dt.UTC) < at  # set before the messages fell due
                log = _log_says(worker, "claimed=2")
            finally:
                worker.stop()
            assert "sent=0" in log and "moved={'quiet_hours': 2}" in log, log
            assert server.sent() == [] and campaign.leads["status"].tolist() == ["deferred"] * 2
