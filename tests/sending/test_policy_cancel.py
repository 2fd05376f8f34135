"""A stricter delivery policy reaches the messages Twilio's scheduler already holds (audit of
issue 13, finding 6): those whose SendAt the new policy forbids are canceled at Twilio and their
leads deferred to the next moment it allows (once; never early), the others stay scheduled.

The real twilio-python client talks HTTP to the local Twilio server (a Messaging Service),
whose simulated clock stands at ``START`` (the conftest's fixtures); the gateway reads the same
clock. Two leads with +1 415 numbers: one in Los Angeles, one with ``timezone`` Europe/Berlin.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from campaign_sdk import Campaign, CampaignClient, DeliveryPolicy, SendWindow
from campaign_sdk.models import CampaignLead, DeferredSend, OutboundMessage
from campaign_sdk.sending import CancelError, RescheduleWarning
from campaign_sdk.testing import TwilioTestServer

from .conftest import ANY_HOUR, FAST_RETRY, approve, gateway_for, leads_frame

START = dt.datetime(2026, 7, 1, 2, tzinfo=dt.UTC)  # Tue 19:00 in Los Angeles, Wed 04:00 in Berlin
SEND_AT = dt.datetime(2026, 7, 1, 23, tzinfo=dt.UTC)  # Wed 16:00 in Los Angeles, Thu 01:00 in Berlin
EIGHT_TO_EIGHT = SendWindow(start="08:00", end="20:00")
BERLIN_MORNING = dt.datetime(2026, 7, 2, 6, tzinfo=dt.UTC)  # Thu 08:00 CEST


@pytest.fixture
def scheduled(sender: CampaignClient, twilio_server: TwilioTestServer) -> Callable[..., tuple[Campaign, dict[str, str]]]:
    """A campaign whose two leads Twilio's scheduler holds at ``at``; the SIDs by zone."""

    def make(at: dt.datetime = SEND_AT, *, name: str = "Orders") -> tuple[Campaign, dict[str, str]]:
        campaign = sender.create_campaign(name, template="order_confirmation")
        campaign.add_leads(leads_frame(2).assign(timezone=["America/Los_Angeles", "Europe/Berlin"]))
        approve(campaign, twilio_server)
        assert campaign.schedule(at=at, progress=False, retry=FAST_RETRY).scheduled == 2
        return campaign, _sids(sender, campaign)

    return make


def _sids(client: CampaignClient, campaign: Campaign) -> dict[str, str]:
    with client.engine.connect() as connection:
        rows = connection.execute(
            sa.select(CampaignLead.custom_variables, OutboundMessage.sid).join(CampaignLead, CampaignLead.id == OutboundMessage.lead_id)
            .where(OutboundMessage.campaign_id == campaign.id, OutboundMessage.status == "scheduled")).all()
    return {variables["timezone"]: sid for variables, sid in rows}


def _at_twilio(server: TwilioTestServer) -> dict[str, str]:
    return {m["sid"]: m["status"] for m in server.sent()}


def _stored(client: CampaignClient) -> dict[str, str]:
    with client.engine.connect() as connection:
        return dict(connection.execute(sa.select(OutboundMessage.sid, OutboundMessage.status)).all())


def _deferred(client: CampaignClient) -> list[tuple[Any, ...]]:
    with client.engine.connect() as connection:
        rows = connection.execute(sa.select(CampaignLead.custom_variables, DeferredSend.due_at, DeferredSend.reason)
                                  .join(CampaignLead, CampaignLead.id == DeferredSend.lead_id)).all()
    return [(v["timezone"], due.replace(tzinfo=dt.UTC) if due.tzinfo is None else due, reason) for v, due, reason in rows]


def _cancels(server: TwilioTestServer) -> list[str]:
    """The SIDs the SDK asked Twilio to cancel."""
    return [r.path.rsplit("/", 1)[-1].removesuffix(".json") for r in server.requests
            if r.method == "POST" and not r.path.endswith("/Messages.json") and r.field("Status") == "canceled"]


def _creates(server: TwilioTestServer) -> list[Any]:
    return [r for r in server.requests if r.method == "POST" and r.path.endswith("/Messages.json")]


TIGHTER = {  # how the policy gets stricter -> the Berlin lead's next allowed moment (Los Angeles' stays allowed)
    "send window": (DeliveryPolicy(window=EIGHT_TO_EIGHT), BERLIN_MORNING),
    "allowed days": (DeliveryPolicy(window=SendWindow(start="00:00", end="24:00", days=["wed"])),
                     dt.datetime(2026, 7, 7, 22, tzinfo=dt.UTC)),  # next Wednesday 00:00 CEST
    "country override": (DeliveryPolicy(window=None, countries={"US": EIGHT_TO_EIGHT}), BERLIN_MORNING),
}


@pytest.mark.parametrize("where", ["client", "campaign"])
@pytest.mark.parametrize("how", list(TIGHTER))
def test_a_stricter_policy_cancels_at_twilio_what_it_forbids_and_defers_it_to_its_next_moment(
        sender, scheduled, twilio_server, where, how):
    policy, due = TIGHTER[how]
    campaign, sids = scheduled()

    if where == "client":
        sender.delivery_policy = policy
    else:
        campaign.set_delivery(policy)

    berlin, la = sids["Europe/Berlin"], sids["America/Los_Angeles"]
    assert _cancels(twilio_server) == [berlin]  # one request, for the message the policy forbids
    assert _at_twilio(twilio_server) == {berlin: "canceled", la: "scheduled"}
    assert _stored(sender) == {berlin: "canceled", la: "scheduled"}
    assert _deferred(sender) == [("Europe/Berlin", due, "quiet_hours")]
    report = sender.rescheduled if where == "client" else campaign.rescheduled
    assert report.checked == 2 and report.kept == 1 and report.canceled == 1
    assert report.deferred == {"quiet_hours": 1} and report.moved == {berlin: due}
    assert report.failed == {} and report.already_sent == {}
    leads = campaign.leads.set_index("message_sid")
    assert leads.loc[la, "message_status"] == "scheduled"

    # the same policy again: nothing more is canceled, nothing deferred twice
    if where == "client":
        sender.delivery_policy = policy
    else:
        campaign.set_delivery(policy)
    assert _cancels(twilio_server) == [berlin] and len(_deferred(sender)) == 1
    assert campaign.send(progress=False, retry=FAST_RETRY).scheduled == 0  # the lead is the worker's now

    # the worker sends it at its moment, once, and not before
    twilio_server.advance(seconds=(due - START).total_seconds() - 60)
    assert sender.run_due(retry=FAST_RETRY).sent == 0
    twilio_server.advance(seconds=61)
    assert sender.run_due(retry=FAST_RETRY).sent == 1
    assert sender.run_due(retry=FAST_RETRY).sent == 0
    fresh = _creates(twilio_server)[2:]
    assert len(fresh) == 1 and fresh[0].field("To") == "whatsapp:+14155550001" and fresh[0].field("SendAt") is None
    assert _deferred(sender) == []


def test_a_local_time_message_the_new_policy_forbids_goes_at_that_time_of_the_next_allowed_day(
        sender, twilio_server):
    """Held at 10:00 on Wednesday in each recipient's zone (``local_time``); a policy allowing only
    Thursdays moves each to Thursday 10:00 in its own zone, as the plan would time it, not to the
    window's opening (08:00)."""
    sender.delivery_policy = DeliveryPolicy(window=None)
    campaign = sender.create_campaign("Ten", template="order_confirmation")
    campaign.add_leads(leads_frame(2).assign(timezone=["America/Los_Angeles", "Europe/Berlin"]))
    approve(campaign, twilio_server)
    assert campaign.schedule(local_time="10:00", progress=False, retry=FAST_RETRY).scheduled == 2
    sids = _sids(sender, campaign)

    campaign.set_delivery(DeliveryPolicy(window=SendWindow(start="08:00", end="20:00", days=["thu"])))

    assert sorted(_cancels(twilio_server)) == sorted(sids.values())
    assert sorted(_deferred(sender)) == [
        ("America/Los_Angeles", dt.datetime(2026, 7, 2, 17, tzinfo=dt.UTC), "quiet_hours"),  # Thu 10:00 PDT
        ("Europe/Berlin", dt.datetime(2026, 7, 2, 8, tzinfo=dt.UTC), "quiet_hours"),  # Thu 10:00 CEST
    ]


def test_an_earlier_expiry_skips_what_could_only_go_out_after_it(sender, scheduled, twilio_server):
    sender.delivery_policy = DeliveryPolicy(window=EIGHT_TO_EIGHT)  # Berlin is held at 08:00 on Thursday
    campaign, sids = scheduled()
    berlin = sids["Europe/Berlin"]
    campaign.set_delivery(None, expires_at=dt.datetime(2026, 7, 2, 3, tzinfo=dt.UTC))
    assert _cancels(twilio_server) == [berlin]  # Los Angeles' 16:00 is before the expiry: untouched
    leads = campaign.leads.set_index("phone_number")
    assert leads.loc["+14155550001", "status"] == "skipped" and leads.loc["+14155550001", "reason"] == "expired"
    assert leads.loc["+14155550000", "message_status"] == "scheduled"

    report = campaign.rescheduled
    assert report.canceled == 1 and report.skipped == {"expired": 1} and report.deferred == {}
    assert report.moved == {berlin: None} and _deferred(sender) == []
    assert sender.rescheduled.checked == 0  # the client's policy was set before anything was held


def test_a_new_frequency_cap_pulls_back_the_held_message_it_would_exceed(sender, scheduled, twilio_server):
    earlier = sender.create_campaign("Earlier", template="order_confirmation")
    earlier.add_leads(leads_frame(1))  # the Los Angeles person, messaged now
    approve(earlier, twilio_server)
    assert earlier.send(progress=False, retry=FAST_RETRY).sent == 1
    campaign, sids = scheduled()  # 21 h later: inside a day of the first message
    la, berlin = sids["America/Los_Angeles"], sids["Europe/Berlin"]

    sender.delivery_policy = DeliveryPolicy(window=None, caps=[{"limit": 1, "per": "24h"}])

    assert _cancels(twilio_server) == [la] and _at_twilio(twilio_server)[berlin] == "scheduled"
    assert _deferred(sender) == [("America/Los_Angeles", SEND_AT, "scheduled")]  # held by the worker, not earlier
    assert sender.rescheduled.deferred == {"frequency_cap": 1} and sender.rescheduled.kept == 1
    # at its moment the worker asks the plan again, which skips it: the cap holds
    twilio_server.advance(seconds=(SEND_AT - START).total_seconds())
    due = sender.run_due(retry=FAST_RETRY)
    assert due.sent == 0 and due.skipped == {"frequency_cap": 1}


def test_a_looser_policy_cancels_nothing(sender, scheduled, twilio_server):
    sender.delivery_policy = DeliveryPolicy(window=EIGHT_TO_EIGHT)
    campaign, sids = scheduled(dt.datetime(2026, 7, 1, 16, tzinfo=dt.UTC))  # 09:00 LA, 18:00 Berlin: both allowed

    campaign.set_delivery(DeliveryPolicy(window=SendWindow(start="07:00", end="22:00")))
    sender.delivery_policy = ANY_HOUR

    assert _cancels(twilio_server) == [] and set(_at_twilio(twilio_server).values()) == {"scheduled"}
    assert campaign.rescheduled is not None, "the call reports what it did (here: nothing)"
    assert campaign.rescheduled.checked == 2 and campaign.rescheduled.kept == 2 and campaign.rescheduled.canceled == 0
    assert sender.rescheduled.checked == 0  # the campaign has a policy of its own: the client's is not its
    assert _deferred(sender) == [] and set(_stored(sender).values()) == {"scheduled"}


def test_a_cancel_twilio_refuses_is_reported_and_the_message_counts_as_sent(sender, scheduled, twilio_server):
    campaign, sids = scheduled()
    berlin = sids["Europe/Berlin"]
    twilio_server.set_status(berlin, "sent")  # Twilio's scheduler let it go already: it refuses the cancel

    with pytest.warns(RescheduleWarning, match=f"{berlin}: sent"):
        sender.delivery_policy = DeliveryPolicy(window=EIGHT_TO_EIGHT)

    report = sender.rescheduled
    assert report.already_sent == {berlin: "sent"} and report.canceled == 0 and report.deferred == {}
    assert _stored(sender)[berlin] == "sent" and _deferred(sender) == []  # the books: sent, not deferred again
    assert int(sender.metrics(campaigns=[campaign.id]).iloc[0]["messages_sent"]) == 1


def test_a_cancel_that_fails_is_raised_per_message_and_retried_by_setting_the_policy_again(
        sender, scheduled, twilio_server):
    campaign, sids = scheduled()
    berlin = sids["Europe/Berlin"]
    twilio_server.fail("error", path=f"/Messages/{berlin}.json", status=503, times=None)

    with pytest.raises(CancelError, match=f"could not be canceled and may still go out .*{berlin}") as raised:
        campaign.set_delivery(DeliveryPolicy(window=EIGHT_TO_EIGHT))

    assert list(raised.value.report.failed) == [berlin] and raised.value.report.canceled == 0
    assert _stored(sender)[berlin] == "scheduled" and _deferred(sender) == []
    assert campaign._row().delivery_policy is not None  # stored all the same

    twilio_server.clear_faults()
    campaign.set_delivery(DeliveryPolicy(window=EIGHT_TO_EIGHT))
    assert campaign.rescheduled.canceled == 1 and _at_twilio(twilio_server)[berlin] == "canceled"
    assert _deferred(sender) == [("Europe/Berlin", BERLIN_MORNING, "quiet_hours")]


def test_a_message_pulled_back_from_twilio_waits_for_a_worker_of_its_own_channel(
        migrated_url, twilio_server):
    """An SMS held by Twilio and pulled back is deferred for the SMS worker (``deferred_sends.channel``),
    not for any worker (which would send it on its own channel: WhatsApp by default)."""
    with CampaignClient(migrated_url, gateway=gateway_for(twilio_server, channel="sms")) as client:
        client.delivery_policy = ANY_HOUR
        campaign = client.create_campaign("Texts", template="order_confirmation")
        campaign.add_leads(leads_frame(2).assign(timezone=["America/Los_Angeles", "Europe/Berlin"]))
        approve(campaign, twilio_server)
        assert campaign.schedule(at=SEND_AT, progress=False, retry=FAST_RETRY).scheduled == 2
        campaign.set_delivery(DeliveryPolicy(window=EIGHT_TO_EIGHT))
        assert campaign.rescheduled.deferred == {"quiet_hours": 1}
        with client.engine.connect() as connection:
            assert connection.execute(sa.select(DeferredSend.channel)).scalars().all() == ["sms"]
