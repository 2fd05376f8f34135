"""The takeover race, made deterministic: a worker died (SIGKILL) with a request in flight that
Twilio processes only after the death. Another worker must not read Twilio's list before that
message can be in it, or it finds nothing and sends the lead a second time.

``free_dead_claims`` ends a dead worker's claims ``TAKEOVER_GRACE`` after its death is seen, not
at once. The worker's clock is injected (``DueSender(clock=...)``), so the grace passes without
sleeping; the dead worker's state (its claim and its committed intent) is written as it left it,
and its in-flight request lands at the simulated Twilio account when the test says so.
"""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
from collections import Counter

import sqlalchemy as sa

from campaign_sdk import service
from campaign_sdk.models import Campaign, DeferredSend, OutboundMessage
from campaign_sdk.sending import DueSender, _deferred
from campaign_sdk.testing import TwilioTestServer

from tests.conftest import SERVICE_SID

from .conftest import ANY_HOUR, FAST_RETRY, content_sid, numbers


def _dead_token() -> str:
    """A worker token of this host whose process has exited (and been reaped)."""
    process = subprocess.Popen(["true"])
    process.wait()
    return f"{socket.gethostname()}/{process.pid}/deadbeef0000/1"


def _die_mid_request(client, campaign, now: dt.datetime) -> dict[str, str]:
    """What a worker killed mid-request leaves: its claim on a due message (lease 60 s) and the
    intent it committed before the request left. Returns the request's variables."""
    with client.transaction() as session:
        row = session.get_one(Campaign, campaign.id)
        [lead] = service.lead_candidates(session, campaign.id)
        variables = {"1": str(lead.custom_variables["lead_name"]), "2": str(lead.custom_variables["order_id"])}
        session.add(DeferredSend(campaign_id=campaign.id, lead_id=lead.lead_id, user_id=lead.user_id,
                                 due_at=(now - dt.timedelta(minutes=1)).replace(tzinfo=None), reason="scheduled",
                                 claimed_by=_dead_token(),
                                 claimed_until=(now + dt.timedelta(seconds=60)).replace(tzinfo=None)))
        service.create_intents(session, row, [{"lead_id": lead.lead_id, "user_id": lead.user_id,
                                               "to_number": lead.phone_number, "content_sid": row.content_sid,
                                               "content_variables": variables}])
    return variables


def _worker(client, at: dt.datetime) -> DueSender:
    return DueSender(client._sessions, client.gateway, retry=FAST_RETRY, clock=lambda: at, client_policy=ANY_HOUR)


def _race(sender, ready_campaign, twilio_server: TwilioTestServer) -> Counter[str]:
    """The race: takeover attempts when the death is seen and 1 s later, then the dead worker's
    request reaches Twilio, then a takeover after the grace. Returns the messages Twilio holds per number."""
    campaign = ready_campaign(1)
    now = dt.datetime.now(dt.UTC)
    variables = _die_mid_request(sender, campaign, now)

    for later in (1, 2):  # the death is seen, then the next poll a second later (still inside the grace)
        _worker(sender, now + dt.timedelta(seconds=later)).run()
    # Twilio processes the dead worker's request only now (nobody reads its answer)
    twilio_server.simulator.send(numbers(1)[0], channel="whatsapp", service=SERVICE_SID,
                                 content_sid=content_sid(campaign), variables=variables)
    _worker(sender, now + _deferred.TAKEOVER_GRACE + dt.timedelta(seconds=2)).run()
    return Counter(m["to"].removeprefix("whatsapp:") for m in twilio_server.sent())


def test_a_dead_workers_late_request_is_found_not_sent_again(sender, ready_campaign, twilio_server):
    sent = _race(sender, ready_campaign, twilio_server)

    assert sent == Counter(numbers(1))  # once: the late request's message, not a second one
    with sender.engine.connect() as connection:
        stored = connection.execute(sa.select(OutboundMessage.sid)).scalars().all()
        held = connection.execute(sa.select(sa.func.count()).select_from(DeferredSend)).scalar()
    assert stored == [twilio_server.sent()[0]["sid"]] and held == 0  # recorded, settled


def test_the_takeover_waits_out_the_grace_after_the_death_is_seen(sender, ready_campaign, twilio_server):
    campaign = ready_campaign(1)
    now = dt.datetime.now(dt.UTC)
    _die_mid_request(sender, campaign, now)
    seen = now + dt.timedelta(seconds=1)
    for at in (seen, seen + _deferred.TAKEOVER_GRACE - dt.timedelta(seconds=1)):
        report = _worker(sender, at).run()
        assert report.claimed == 0 and twilio_server.sent() == []
    with sender.engine.connect() as connection:
        until = connection.execute(sa.select(DeferredSend.claimed_until)).scalar_one()
    # the 60 s lease was shortened to the grace after the death was first seen, never lengthened
    assert until.replace(tzinfo=None) == (seen + _deferred.TAKEOVER_GRACE).replace(tzinfo=None)
    # after it, the takeover reconciles: the request never reached Twilio, so the lead is sent, once
    assert _worker(sender, seen + _deferred.TAKEOVER_GRACE + dt.timedelta(seconds=1)).run().sent == 1
    assert len(twilio_server.sent()) == 1


def test_without_the_grace_the_race_sends_twice(sender, ready_campaign, twilio_server, monkeypatch):
    """The scenario above is the race: with no grace the takeover reads Twilio's list before the
    late request lands, finds nothing and sends again (what the grace prevents)."""
    monkeypatch.setattr(_deferred, "TAKEOVER_GRACE", dt.timedelta(0))
    sent = _race(sender, ready_campaign, twilio_server)
    assert sent == Counter({numbers(1)[0]: 2})

