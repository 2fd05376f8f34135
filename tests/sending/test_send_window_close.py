"""A long send reaches a lead only after its send window has closed: the lead is not sent late,
it is deferred to the next allowed moment (the plan's), once (audit13b finding 1).

The clock is the local Twilio server's simulated one, moved one minute per request the gateway
makes: a send of 10 leads starting at 20:56 in Los Angeles lasts past 21:00 there.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from campaign_sdk import DeliveryPolicy, SendWindow
from campaign_sdk.models import DeferredSend, OutboundMessage
from campaign_sdk.testing import TwilioTestServer

from .conftest import FAST_RETRY, FROM_NUMBER, ClockedTwilioGateway

LA = ZoneInfo("America/Los_Angeles")
START = dt.datetime(2026, 7, 1, 3, 56, tzinfo=dt.UTC)  # 20:56 in Los Angeles
NINE_TO_NINE = SendWindow(start="09:00", end="21:00")
CLOSE = dt.datetime(2026, 7, 1, 4, 0, tzinfo=dt.UTC)  # 21:00 in Los Angeles
OPEN = dt.datetime(2026, 7, 1, 16, 0, tzinfo=dt.UTC)  # 09:00 in Los Angeles, the next morning


class TickingGateway(ClockedTwilioGateway):
    """Each request takes a minute of the simulated clock."""

    def send_message(self, request: Any) -> Any:
        sent = super().send_message(request)
        self._simulator.clock.advance(minutes=1)
        return sent


@pytest.fixture
def gateway(twilio_server: TwilioTestServer) -> TickingGateway:
    """No Messaging Service: the local worker holds every deferred message."""
    return TickingGateway(twilio_server.twilio_client(), twilio_server.simulator, from_=FROM_NUMBER, rate=None)


def test_a_lead_reached_after_its_window_closed_is_deferred_to_the_next_morning_not_sent_late(
        sender, ready_campaign, twilio_server):
    sender.delivery_policy = DeliveryPolicy(window=NINE_TO_NINE)
    campaign = ready_campaign(10)
    assert (campaign.plan()["action"] == "send").all()
    report = campaign.send(progress=False, retry=FAST_RETRY, max_in_flight=1)

    with sender.engine.connect() as connection:
        made = [row[0] for row in connection.execute(sa.select(OutboundMessage.created_at))]
        held = connection.execute(sa.select(DeferredSend.due_at, DeferredSend.reason)).all()
    creates = [r for r in twilio_server.requests if r.method == "POST" and r.path.endswith("/Messages.json")]
    assert len(creates) == len(made) == 4  # 20:56, 20:57, 20:58, 20:59: none at or after 21:00
    assert all(m.replace(tzinfo=dt.UTC) < CLOSE if m.tzinfo is None else m < CLOSE for m in made)
    assert len(held) == 6 and {(d.replace(tzinfo=dt.UTC) if d.tzinfo is None else d, r) for d, r in held} == {
        (OPEN, "quiet_hours")}
    assert report.sent == 4 and report.deferred == {"quiet_hours": 6} and report.remaining == 0
    assert report.to_send == 4
    assert campaign.send(progress=False, retry=FAST_RETRY).sent == 0  # the worker's now

    twilio_server.simulator.clock.advance(seconds=(OPEN - twilio_server.simulator.now()).total_seconds())
    due = sender.run_due(retry=FAST_RETRY)
    assert due.sent == 6
    tos = [str(r.form["To"]) for r in twilio_server.requests if r.method == "POST" and r.path.endswith("/Messages.json")]
    assert len(tos) == len(set(tos)) == 10  # each lead exactly once


def test_a_send_that_leaves_messages_to_the_local_worker_says_a_worker_must_run(sender, ready_campaign):
    """Finding 13: the worker holds deferred messages (no Messaging Service): the report says how
    many, when the first is due, and what to run."""
    sender.delivery_policy = DeliveryPolicy(window=SendWindow(start="09:00", end="10:00"))
    campaign = ready_campaign(3)
    report = campaign.send(progress=False, retry=FAST_RETRY)
    assert report.deferred == {"quiet_hours": 3}
    (note,) = [n for n in report.notes if "local worker" in n]
    assert note.startswith("3 message(s) wait for the local worker, the first due 2026-07-01T16:00+00:00")
    assert "`campaign-sdk worker`" in note and "`client.run_due()`" in note
    assert "next_due=2026-07-01T16:00+00:00" in repr(report)
