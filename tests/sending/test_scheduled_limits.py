"""The limits see every message where it will arrive: a message Twilio's scheduler holds counts
toward the frequency caps and the messaging limit at its ``SendAt`` (``scheduled_for``), not when
it was handed over; another campaign's message the local worker holds counts at its ``due_at``;
and moving ``expires_at`` earlier cancels what Twilio holds for later.

The real twilio-python client over HTTP to the local Twilio server, on its simulated clock (as
test_scheduling.py does).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa

from campaign_sdk import Campaign, CampaignClient, DeliveryPolicy, FrequencyCap
from campaign_sdk.models import DeferredSend, OutboundMessage
from campaign_sdk.sending import CancelError, DueSender
from campaign_sdk.testing import TwilioTestServer


from .conftest import FAST_RETRY, approve, gateway_for, leads_frame

START = dt.datetime.now(dt.UTC).replace(microsecond=0)
DAY = dt.timedelta(days=1)
ONE_A_DAY = DeliveryPolicy(window=None, caps=[FrequencyCap(limit=1, per="24h")])


def _campaign(client: CampaignClient, server: TwilioTestServer, name: str, count: int = 3, *,
              policy: DeliveryPolicy | None = ONE_A_DAY, start: int = 0) -> Campaign:
    campaign = client.create_campaign(name, template="order_confirmation")
    campaign.add_leads(leads_frame(count, start=start))
    approve(campaign, server)
    return campaign.set_delivery(policy)


def _actions(campaign: Campaign, **options: Any) -> Counter[tuple[str, Any]]:
    plan = campaign.plan(**options)
    return Counter(zip(plan["action"], plan["reason"].fillna("-")))


def test_a_message_twilio_holds_is_capped_at_its_send_at_and_not_after_it_is_canceled(sender, twilio_server):
    a = _campaign(sender, twilio_server, "A")
    b = _campaign(sender, twilio_server, "B")
    arrives = START + 3 * DAY
    assert a.schedule(at=arrives, progress=False, retry=FAST_RETRY).scheduled == 3
    with sender.engine.connect() as connection:
        stored = connection.execute(sa.select(OutboundMessage.scheduled_for, OutboundMessage.status)).all()
    assert {(when, str(status)) for when, status in stored} == {(arrives, "scheduled")}

    # an hour after A arrives: capped; today (A was handed over today, arrives in 3 days): free
    assert _actions(b, at=arrives + dt.timedelta(hours=1)) == Counter({("skip", "frequency_cap"): 3})
    assert _actions(b, at=arrives - dt.timedelta(hours=23)) == Counter({("skip", "frequency_cap"): 3})
    assert _actions(b) == Counter({("send", "-"): 3})
    assert _actions(b, at=arrives + DAY) == Counter({("defer", "scheduled"): 3})
    report = b.schedule(at=arrives + dt.timedelta(hours=1), progress=False, retry=FAST_RETRY)
    assert report.scheduled == 0 and report.skipped == {"frequency_cap": 3}
    assert Counter(m["status"] for m in twilio_server.sent()) == Counter({"scheduled": 3})

    a.disable()  # canceled at Twilio: it no longer counts
    assert _actions(b, at=arrives + dt.timedelta(hours=1)) == Counter({("defer", "scheduled"): 3})


def test_the_messaging_limit_counts_a_message_twilio_holds_at_its_send_at(migrated_url, twilio_server):
    gateway = gateway_for(twilio_server, messaging_tier=2)
    with CampaignClient(migrated_url, gateway=gateway) as client:
        a = _campaign(client, twilio_server, "A", 2, policy=DeliveryPolicy(window=None))
        b = _campaign(client, twilio_server, "B", 2, policy=DeliveryPolicy(window=None), start=10)
        assert a.schedule(at=START + 3 * DAY, progress=False, retry=FAST_RETRY).scheduled == 2
        # A's two people take their slots in three days, not today
        assert _actions(b) == Counter({("send", "-"): 2})


def test_other_campaigns_worker_held_sends_cap_a_plan_but_not_their_own(sender, twilio_server):
    a = _campaign(sender, twilio_server, "A")
    b = _campaign(sender, twilio_server, "B")
    soon = START + dt.timedelta(minutes=10)  # too soon for Twilio's scheduler: the worker holds it
    report = a.schedule(at=soon, progress=False, retry=FAST_RETRY)
    assert report.deferred == {"scheduled": 3} and report.scheduled == 0

    assert _actions(a, at=soon) == Counter({("defer", "scheduled"): 3})  # its own rows do not cap it
    assert _actions(b, at=soon) == Counter({("skip", "frequency_cap"): 3})
    assert _actions(b, at=soon - dt.timedelta(minutes=5)) == Counter({("skip", "frequency_cap"): 3})
    assert _actions(b, at=soon + DAY) == Counter({("defer", "scheduled"): 3})
    assert b.schedule(at=soon, progress=False, retry=FAST_RETRY).skipped == {"frequency_cap": 3}

    due = DueSender(sender._sessions, sender.gateway, retry=FAST_RETRY, clock=lambda: soon,
                    client_policy=sender.delivery_policy).run()
    assert due.sent == 3 and Counter(m["to"] for m in twilio_server.sent()).most_common(1)[0][1] == 1


def test_two_campaigns_held_for_the_same_moment_send_once_per_person(sender, twilio_server):
    """Held before the caps applied: at the due moment the earlier-held campaign goes, the other
    is capped (neither counts the other's held message as its own, nor do both cap each other)."""
    a = _campaign(sender, twilio_server, "A", policy=DeliveryPolicy(window=None))
    b = _campaign(sender, twilio_server, "B", policy=DeliveryPolicy(window=None))
    soon = START + dt.timedelta(minutes=10)
    assert a.schedule(at=soon, progress=False, retry=FAST_RETRY).deferred == {"scheduled": 3}
    assert b.schedule(at=soon, progress=False, retry=FAST_RETRY).deferred == {"scheduled": 3}
    a.set_delivery(ONE_A_DAY)
    b.set_delivery(ONE_A_DAY)
    assert _actions(a, at=soon) == Counter({("defer", "scheduled"): 3})
    assert _actions(b, at=soon) == Counter({("skip", "frequency_cap"): 3})

    due = DueSender(sender._sessions, sender.gateway, retry=FAST_RETRY, clock=lambda: soon,
                    client_policy=sender.delivery_policy).run()
    assert due.sent == 3 and due.skipped == {"frequency_cap": 3}
    assert sorted(Counter(m["to"] for m in twilio_server.sent()).values()) == [1, 1, 1]
    with sender.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(DeferredSend)).scalar() == 0


def test_moving_expires_at_earlier_cancels_what_twilio_holds_for_after_it(sender, twilio_server):
    a = _campaign(sender, twilio_server, "A", 4, policy=None)
    early, late = START + DAY, START + 3 * DAY
    assert a.schedule(at=early, progress=False, retry=FAST_RETRY).scheduled == 4
    with sender.engine.begin() as connection:  # two of them for later (as if scheduled in two sends)
        held = connection.execute(sa.select(OutboundMessage.sid).order_by(OutboundMessage.id)).scalars().all()
        connection.execute(sa.update(OutboundMessage).where(OutboundMessage.sid.in_(held[2:]))
                           .values(scheduled_for=late))

    a.set_delivery(None, expires_at=START + 2 * DAY)

    statuses = {m["sid"]: m["status"] for m in twilio_server.sent()}
    assert [statuses[sid] for sid in held] == ["scheduled", "scheduled", "canceled", "canceled"]
    with sender.engine.connect() as connection:
        stored = connection.execute(sa.select(OutboundMessage.status).order_by(OutboundMessage.id)).scalars().all()
    assert [str(s) for s in stored] == ["scheduled", "scheduled", "canceled", "canceled"]
    assert Counter(a.plan()["reason"].fillna("-")) == Counter({"already_messaged": 2, "-": 2})  # free again

    twilio_server.fail("error", path=f"/Messages/{held[0]}.json", status=503, times=None)
    with pytest.raises(CancelError, match="could not be canceled") as raised:
        a.set_delivery(None, expires_at=START + dt.timedelta(hours=1))
    assert list(raised.value.report.failed) == [held[0]] and raised.value.report.canceled == 1
    assert a._row().expires_at == START + dt.timedelta(hours=1)  # stored all the same
