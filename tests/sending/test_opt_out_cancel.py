"""STOP cancels what Twilio's scheduler holds for that person (issue 13; audit finding 2).

Twilio does not (``facts.scheduling.OPT_OUT_CANCELS_SCHEDULED``): the SDK cancels the messages
with status ``scheduled`` of people who opted out wherever it has a gateway at hand
(``record_replies``, ``sync``, ``send``, ``run_due``, the server's inbox worker); an opt-out
recorded without one is swept by the next of them, and a cancel that fails is tried again.

The real twilio-python client talks HTTP to the local Twilio server (a Messaging Service sender:
Twilio can schedule), on its simulated clock, as in test_scheduling.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from campaign_sdk import CampaignClient, inbox
from campaign_sdk.models import ConversationUser, OutboundMessage
from campaign_sdk.sending import OptOutCancelWarning
from campaign_sdk.server import create_app
from campaign_sdk.testing import TwilioTestServer

from tests.server.conftest import LiveServer, settings_for
from tests.server.test_webhooks import inbound_params, post_signed

from .conftest import FAST_RETRY, leads_frame, numbers

START = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def scheduled(ready_campaign, twilio_server) -> dict[str, str]:
    """Three leads' messages held by Twilio's scheduler for an hour from now: number -> SID."""
    campaign = ready_campaign(3)
    report = campaign.schedule(at=START + dt.timedelta(hours=1), progress=False, retry=FAST_RETRY)
    assert report.scheduled == 3
    return {m["to"].removeprefix("whatsapp:"): m["sid"] for m in twilio_server.sent()}


def _stop(number: str, sid: str = "SMin" + "1" * 30) -> list[dict[str, Any]]:
    return [{"sid": sid, "from": number, "body": "STOP", "received_at": START + dt.timedelta(minutes=5)}]


def _cancels(server: TwilioTestServer) -> list[str]:
    """The SIDs the SDK asked Twilio to cancel."""
    return [r.path.rsplit("/", 1)[-1].removesuffix(".json") for r in server.requests
            if r.method == "POST" and not r.path.endswith("/Messages.json") and r.path.startswith("/2010-04-01/")
            and r.field("Status") == "canceled"]


def _statuses(client: CampaignClient) -> dict[str, str]:
    with client.engine.connect() as connection:
        return dict(connection.execute(sa.select(OutboundMessage.to_number, OutboundMessage.status)).all())


def _twilio(server: TwilioTestServer) -> dict[str, str]:
    return {m["to"].removeprefix("whatsapp:"): m["status"] for m in server.sent()}


def test_stop_cancels_what_twilio_holds_for_that_person_only(sender, scheduled, twilio_server):
    first, *others = numbers(3)

    sender.record_replies(_stop(first))

    assert _cancels(twilio_server) == [scheduled[first]]
    assert _twilio(twilio_server) == {first: "canceled", **{n: "scheduled" for n in others}}
    stored = _statuses(sender)
    assert stored[first] == "canceled"
    assert [stored[n] for n in others] == ["scheduled", "scheduled"]
    sender.record_replies(_stop(first, sid="SMin" + "2" * 30))  # nothing is asked twice
    assert _cancels(twilio_server) == [scheduled[first]]


@pytest.mark.parametrize("then", ["run_due", "sync", "send"])
def test_an_opt_out_recorded_without_a_gateway_is_canceled_by_the_next_call_that_has_one(
        sender, scheduled, twilio_server, ready_campaign, then):
    first = numbers(1)[0]
    inbox.record(sender._sessions, "reply", _stop(first), source="webhook")  # what a webhook does: no gateway
    assert _cancels(twilio_server) == [] and _twilio(twilio_server)[first] == "scheduled"

    if then == "run_due":
        notes = sender.run_due(retry=FAST_RETRY).notes
    elif then == "sync":
        notes = sender.sync().notes
    else:  # another campaign's send, to other people
        other = ready_campaign(1, name="Other", frame=leads_frame(1, start=10))
        notes = other.send(progress=False, retry=FAST_RETRY).notes

    assert _cancels(twilio_server) == [scheduled[first]] and _twilio(twilio_server)[first] == "canceled"
    assert any("canceled 1 message(s)" in note and "opted out" in note for note in notes)
    assert sender.run_due(retry=FAST_RETRY).notes == []  # swept once: nothing more is looked at


def test_a_cancel_that_fails_warns_and_is_tried_again_by_the_next_call(sender, scheduled, twilio_server):
    first = numbers(1)[0]
    twilio_server.fail("error", path=f"/Messages/{scheduled[first]}.json", status=503, times=None)

    with pytest.warns(OptOutCancelWarning, match="could not be canceled"):
        sender.record_replies(_stop(first))

    assert _twilio(twilio_server)[first] == "scheduled" and _statuses(sender)[first] == "scheduled"
    twilio_server.clear_faults()
    report = sender.run_due(retry=FAST_RETRY)
    assert any("canceled 1 message(s)" in note for note in report.notes)
    assert _twilio(twilio_server)[first] == "canceled" and _statuses(sender)[first] == "canceled"


def test_a_stop_webhook_cancels_through_the_servers_gateway(sender, scheduled, twilio_server, tmp_path):
    first = numbers(1)[0]
    app = create_app(settings_for(str(sender.engine.url.render_as_string(hide_password=False)), tmp_path),
                     client=sender)
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=30) as http:
        answer = post_signed(http, "/twilio/inbound", inbound_params("SMin" + "3" * 30, first, "STOP"))
        assert answer.status_code == 200
        twilio_server.wait_for(lambda s: _twilio(s)[first] == "canceled")

    assert _cancels(twilio_server) == [scheduled[first]]
    assert _statuses(sender)[first] == "canceled"


def test_a_send_that_schedules_cancels_its_own_messages_to_people_opted_out_meanwhile(
        sender, scheduled, twilio_server, ready_campaign):
    """An opt-out committed while a send had the lead in flight (no marker left to see: a sweep
    ran in between): the send that scheduled looks at its own campaign's scheduled messages."""
    first = numbers(1)[0]
    with sender.engine.begin() as connection:  # opted out with no marker, as after such a race
        connection.execute(sa.update(ConversationUser).where(ConversationUser.phone_number == first)
                           .values(opted_out_at=START))
    campaign = sender.campaign("Orders")
    campaign.add_leads(leads_frame(1, start=20))

    report = campaign.schedule(at=START + dt.timedelta(hours=2), progress=False, retry=FAST_RETRY)

    assert report.scheduled == 1 and _cancels(twilio_server) == [scheduled[first]]
    assert any("canceled 1 message(s)" in note for note in report.notes)


def test_an_opt_out_error_on_send_cancels_what_twilio_holds_for_that_person(
        sender, scheduled, twilio_server, ready_campaign):
    """Twilio refuses a message with 21610 (the person replied STOP to the sender): the SDK opts
    them out, and the messages another campaign had Twilio schedule for them are canceled."""
    first = numbers(1)[0]
    twilio_server.reject_number(first, 21610)
    other = ready_campaign(3, name="Now")  # the same three people, sent now

    report = other.send(progress=False, retry=FAST_RETRY)

    assert report.sent == 2 and report.failed == {21610: 1}
    assert _cancels(twilio_server) == [scheduled[first]]
    assert any("canceled 1 message(s)" in note for note in report.notes)
