"""The plan's ``detail`` for the reasons that need more than their code (which frequency cap, when
the person is free again; when the customer-service window closed, what to do instead), and
``plan().summary(by=...)``."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from campaign_sdk import CampaignClient, DeliveryPolicy, FrequencyCap, InvalidArgumentError
from campaign_sdk.models import (
    CampaignLead,
    ConversationUser,
    InboundKind,
    InboundMessage,
    OutboundMessage,
)

from .test_plan import BERLIN, LA, NOW, NY, by_phone, lead, make, sent_before

DAILY = FrequencyCap(limit=1, per="24h")
WEEKLY = FrequencyCap(limit=3, per="7d")
FREE_AGAIN = "the person is free again from {}; send to them again from then"


def test_a_capped_lead_says_which_cap_whose_policy_and_when_the_person_is_free_again(client: CampaignClient) -> None:
    campaign = make(client, [lead(LA), lead("+14155550101"), lead("+14155550102")])
    sent_before(client, [LA], dt.timedelta(hours=23))  # leaves the 24 h at 03:00 UTC on 1 July
    for days in (2, 3, 4):  # three in the week: the oldest leaves the 7 days at 02:00 on 4 July
        sent_before(client, ["+14155550101"], dt.timedelta(days=days), name=f"Week {days}")
    plan = campaign.plan(now=NOW, policy=DeliveryPolicy(caps=[DAILY, WEEKLY]))
    rows = by_phone(plan)
    assert rows[LA]["reason"] == "frequency_cap"
    assert rows[LA]["detail"] == ("cap 1 per 24h reached (the policy passed to plan()): "
                                  + FREE_AGAIN.format("2026-07-01 03:00 UTC"))
    assert rows["+14155550101"]["detail"] == ("cap 3 per 7d reached (the policy passed to plan()): "
                                              + FREE_AGAIN.format("2026-07-04 02:00 UTC"))
    assert rows["+14155550102"]["action"] == "send" and pd.isna(rows["+14155550102"]["detail"])
    # the client's policy, then the campaign's own, named as such
    client.delivery_policy = DeliveryPolicy(caps=[DAILY])
    assert "(the client's delivery policy)" in by_phone(campaign.plan(now=NOW))[LA]["detail"]
    campaign.set_delivery(DeliveryPolicy(caps=[DAILY]))
    assert "(the campaign's delivery policy)" in by_phone(campaign.plan(now=NOW))[LA]["detail"]


def test_over_two_caps_the_person_is_free_once_both_allow_a_message(client: CampaignClient) -> None:
    campaign = make(client, [lead(LA)])
    for ago in (dt.timedelta(hours=23), dt.timedelta(days=2), dt.timedelta(days=3)):
        sent_before(client, [LA], ago, name=f"Earlier {ago}")
    row = by_phone(campaign.plan(now=NOW, policy=DeliveryPolicy(caps=[DAILY, WEEKLY])))[LA]
    # the daily cap frees at 03:00 on 1 July, but the week holds three until the message of
    # 28 June leaves it at 02:00 on 5 July
    assert row["detail"] == ("caps 1 per 24h and 3 per 7d reached (the policy passed to plan()): "
                             + FREE_AGAIN.format("2026-07-05 02:00 UTC"))


def test_a_message_scheduled_later_keeps_the_person_capped_past_the_oldest_ones_departure(client: CampaignClient) -> None:
    campaign = make(client, [lead(LA)])
    sent_before(client, [LA], dt.timedelta(hours=23))  # leaves the window at 03:00
    other = make(client, [lead(LA)], name="Later")
    with client.transaction() as session:  # Twilio holds another campaign's message for 04:00
        user = session.query(ConversationUser).filter_by(phone_number=LA).one()
        row = session.query(CampaignLead).filter_by(campaign_id=other.id).one()
        session.add(OutboundMessage(sid="SM" + "5" * 32, campaign_id=other.id, lead_id=row.id, user_id=user.id,
                                    to_number=LA, status="scheduled", created_at=NOW - dt.timedelta(hours=1),
                                    status_at=NOW - dt.timedelta(hours=1), scheduled_for=NOW + dt.timedelta(hours=2)))
    row = by_phone(campaign.plan(now=NOW, policy=DeliveryPolicy(caps=[DAILY])))[LA]
    # at 03:00 the 04:00 message is inside the 24 h around it: free only once it leaves, at 04:00 the next day
    assert row["reason"] == "frequency_cap" and row["detail"].endswith(FREE_AGAIN.format("2026-07-02 04:00 UTC"))


def test_outside_the_service_window_says_when_it_closed_and_to_send_a_template(client: CampaignClient) -> None:
    campaign = make(client, [lead(LA), lead(NY), lead(BERLIN)], campaign_type="service")
    with client.transaction() as session:
        users = {u.phone_number: u for u in session.query(ConversationUser)}
        for sid, phone, ago in (("SMin0001", LA, 30), ("SMin0002", BERLIN, 3), ("SMin0003", LA, 50)):
            session.add(InboundMessage(sid=sid, user_id=users[phone].id, body="hi", kind=InboundKind.REPLY,
                                       received_at=NOW - dt.timedelta(hours=ago)))
    rows = by_phone(campaign.plan(now=NOW))  # not approved: a free-form message
    assert rows[BERLIN]["action"] == "send" and pd.isna(rows[BERLIN]["detail"])  # inside the window
    assert rows[LA]["reason"] == "outside_service_window"
    assert rows[LA]["detail"] == (
        "their last message was at 2026-06-29 20:00 UTC; their 24-hour customer-service window closed at "
        "2026-06-30 20:00 UTC, before the send moment; a free-form WhatsApp message fails outside it (63016): "
        "send an approved template instead")
    assert rows[NY]["detail"] == (
        "no message from the person on record, so no 24-hour customer-service window is open; a free-form "
        "WhatsApp message fails outside it (63016): send an approved template instead")


def _summary_campaign(client: CampaignClient):
    # 02:00 UTC: LA sends now (19:00), the two New York leads wait for 09:00, Berlin for 09:00 (07:00 UTC)
    return make(client, [lead(LA), lead(NY), lead("+12125550101"), lead(BERLIN), lead("+12125550102", name="")])


def test_summary_by_one_column_totals_leads_and_cost_per_group(client: CampaignClient) -> None:
    summary = _summary_campaign(client).plan(now=NOW).summary(by="country")
    assert summary.columns.tolist() == ["country", "leads", "cost", "unpriced", "currency"]
    totals = summary.set_index("country")
    assert totals["leads"].to_dict() == {"DE": 1, "US": 4}
    # the sandbox's labelled table prices US and DE marketing alike; the skipped lead costs nothing
    assert totals.loc["US", "cost"] == pytest.approx(3 * 0.025) and totals.loc["US", "currency"] == "USD"
    assert totals["unpriced"].sum() == 0


def test_summary_by_several_columns_and_by_reason_with_its_meaning(client: CampaignClient) -> None:
    plan = _summary_campaign(client).plan(now=NOW)
    hours = plan.summary(by=["action", "local_hour"])
    got = {(a, None if pd.isna(h) else int(h)): n for a, h, n in hours[["action", "local_hour", "leads"]].itertuples(index=False)}
    assert got == {("send", 19): 1, ("defer", 9): 3, ("skip", None): 1}
    reasons = plan.summary(by="reason").set_index("reason")
    assert reasons.loc["quiet_hours", "leads"] == 3 and "send window" in reasons.loc["quiet_hours", "meaning"]
    assert reasons.loc["missing_variables", "leads"] == 1
    assert plan.summary().columns.tolist()[:4] == ["action", "reason", "local_hour", "country"]  # the default


@pytest.mark.parametrize(("by", "what"), [
    ("city", "'city' is not a column of the plan"),
    (["action", "hour"], "'hour' is not a column of the plan"),
    ([], "name at least one column"),
    (["country", "country"], "a column is named twice"),
])
def test_summary_by_an_unknown_column_names_the_allowed_ones(client: CampaignClient, by, what) -> None:
    plan = _summary_campaign(client).plan(now=NOW)
    with pytest.raises(InvalidArgumentError, match="group by any of: lead_id, phone_number, country") as caught:
        plan.summary(by=by)
    assert what in str(caught.value) and "local_hour" in str(caught.value)
