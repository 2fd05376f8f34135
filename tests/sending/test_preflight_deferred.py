"""preflight() and send(dry_run=True) as views of the plan: leads sent now apart from the deferred
ones (by reason, with the next and the last due moment), holdouts, and a duration for the
requests the send makes now only.

The clock stands still at ``START`` (the local Twilio server's simulated clock, read by the gateway
and so by the plan; the sender is a Messaging Service: Twilio's scheduler can hold a message);
WhatsApp's messaging limit of 1 person a day defers two of three leads by one and two
days, at any hour (no send window)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from campaign_sdk import CampaignClient, DeliveryPolicy
from campaign_sdk.models import CampaignLead, ConversationUser
from campaign_sdk.testing import TwilioTestServer

from .conftest import approve, leads_frame, numbers

START = dt.datetime(2026, 7, 1, 2, 0, tzinfo=dt.UTC)  # the simulated clock of the server and the gateway
DAY = dt.timedelta(days=1)
ONE_A_DAY = DeliveryPolicy(window=None, messaging_tier=1)
LA, NY, BERLIN = "+14155550100", "+12125550100", "+4915112345678"


def _campaign(client: CampaignClient, server: TwilioTestServer, count: int = 3):
    client.delivery_policy = ONE_A_DAY
    campaign = client.create_campaign("Tiered", template="order_confirmation")
    campaign.add_leads(leads_frame(count))
    return approve(campaign, server)


def test_preflight_counts_the_deferred_leads_apart_with_their_due_moments(sender, twilio_server) -> None:
    # 02:00 UTC: 19:00 in Los Angeles (sent now), 22:00 in New York (09:00 there is 13:00 UTC),
    # 04:00 in Berlin (09:00 there is 07:00 UTC) under the default 09:00-21:00 window
    sender.delivery_policy = DeliveryPolicy()
    campaign = sender.create_campaign("Local", template="order_confirmation")
    campaign.add_leads(pd.DataFrame({"phone_number": [LA, NY, BERLIN], "lead_name": ["Ana", "Bo", "Cy"],
                                     "order_id": ["A-1", "A-2", "A-3"]}))
    approve(campaign, twilio_server)
    check = campaign.preflight(rate=2)
    assert check.ready and check.to_send == 1
    assert check.deferred == {"quiet_hours": 2} and check.skipped == {} and check.held_out == 0
    assert (check.next_due, check.last_due) == (START + dt.timedelta(hours=5), START + dt.timedelta(hours=11))
    # both inside Twilio's SendAt window: handed to its scheduler by the send, a request now each
    assert check.scheduled_at_twilio == 2
    assert check.estimated_duration == dt.timedelta(seconds=1.5)  # 3 requests at 2 a second
    assert len(check.preview) == 3  # the messages the send delivers, now or later
    assert repr(check) == ("<Preflight 'Local' ready: to_send=1 deferred=2 (next due 2026-07-01T07:00+00:00, "
                           "last due 2026-07-01T13:00+00:00) skipped=0 about 2 s>")
    html = check._repr_html_()
    assert "would send now" in html and "deferred by reason" in html and "quiet_hours" in html
    assert "2026-07-01T13:00+00:00" in html and "2 handed to Twilio&#x27;s scheduler" in html
    # the send does what the preflight said: one sent, two handed to Twilio's scheduler (which
    # its report counts as requests of the send, to_send, not as deferred to the worker)
    # and a dry run says beforehand what the send's report says
    dry = campaign.send(dry_run=True, progress=False)
    assert (dry.sent, dry.scheduled, dry.to_send, dry.deferred, dry.next_due) == (0, 0, 3, {}, None)
    report = campaign.send(progress=False)
    assert (report.sent, report.scheduled, report.to_send, report.deferred) == (1, 2, 3, {})


def test_the_duration_is_for_the_requests_of_the_send_only(sender, twilio_server) -> None:
    campaign = _campaign(sender, twilio_server, count=5)  # the limit's deferrals: the worker's
    check = campaign.preflight(rate=2)
    assert (check.to_send, check.deferred, check.scheduled_at_twilio) == (1, {"messaging_tier": 4}, 0)
    assert (check.next_due, check.last_due) == (START + DAY, START + 4 * DAY)
    assert check.estimated_duration == dt.timedelta(seconds=0.5)  # the worker sends the rest when due
    assert "would defer</th><td>4<" in check._repr_html_()
    assert campaign.send(progress=False).deferred == {"messaging_tier": 4}


def test_a_dry_run_reports_the_deferred_leads_and_the_next_due_moment(sender, twilio_server) -> None:
    campaign = _campaign(sender, twilio_server)
    requests = len(twilio_server.requests)
    dry = campaign.send(dry_run=True, progress=False)
    assert dry.dry_run and (dry.to_send, dry.remaining, dry.sent) == (1, 1, 0)
    assert dry.deferred == {"messaging_tier": 2} and dry.next_due == START + DAY
    assert "deferred=2 next_due=2026-07-02T02:00" in repr(dry)
    assert len(twilio_server.requests) == requests  # nothing was sent or asked


def test_holdouts_are_skipped_and_counted_apart(sender, twilio_server) -> None:
    campaign = _campaign(sender, twilio_server)
    sender.delivery_policy = DeliveryPolicy(window=None)
    with sender.transaction() as session:
        user = session.query(ConversationUser).filter_by(phone_number=numbers(1)[0]).one()
        session.query(CampaignLead).filter_by(campaign_id=campaign.id, user_id=user.id).update({"variant": "holdout"})
    check = campaign.preflight()
    assert (check.to_send, check.deferred, check.skipped, check.held_out) == (2, {}, {"holdout": 1}, 1)
    assert check.next_due is None and check.last_due is None
    assert "skipped=1 (1 held out)" in repr(check) and "1 (1 held out)" in check._repr_html_()
