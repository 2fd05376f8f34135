"""campaign.plan() on a SQLite file and on PostgreSQL: actions, reasons, moments, caps, limits, cost."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd
import pytest

from campaign_sdk import (
    CampaignClient,
    DeliveryPlan,
    DeliveryPolicy,
    DeliveryPolicyError,
    FrequencyCap,
    SendWindow,
    TwilioTextContext,
)
from campaign_sdk.facts.errors import kind_of_code
from campaign_sdk.gateways import TwilioGateway
from campaign_sdk.models import (
    CampaignLead,
    ConversationUser,
    InboundKind,
    InboundMessage,
    OutboundMessage,
)
from campaign_sdk.testing import TwilioTestServer

UTC = dt.UTC
# 02:00 UTC on 1 July 2026: 22:00 in New York, 19:00 in Los Angeles, 04:00 in Berlin
NOW = dt.datetime(2026, 7, 1, 2, 0, tzinfo=UTC)
NY, LA, BERLIN = "+12125550100", "+14155550100", "+4915112345678"
BODY = "Hi {{lead_name}}, new offers in {{city}}!"


def make(client: CampaignClient, rows: list[dict[str, object]], *, name: str = "Summer",
         campaign_type: str = "marketing", body: str = BODY):
    campaign = client.create_campaign(name, content=TwilioTextContext(body=body), campaign_type=campaign_type)
    report = campaign.add_leads(pd.DataFrame(rows))
    assert report.rejected.empty, report.rejected
    return campaign


def lead(phone: str, name: str = "Ana", city: str = "Lisbon", **more: object) -> dict[str, object]:
    return {"phone_number": phone, "lead_name": name, "city": city, **more}


def by_phone(plan: DeliveryPlan) -> dict[str, pd.Series]:
    return {row["phone_number"]: row for _, row in plan.iterrows()}


def sent_before(client: CampaignClient, phones: Iterable[str], ago: dt.timedelta, *,
                campaign_type: str = "marketing", status: str = "delivered", name: str | None = None) -> None:
    """One earlier message of another campaign to each of ``phones``, ``ago`` before NOW."""
    other = client.create_campaign(name or f"Earlier {campaign_type} {ago} {status}",
                                   content=TwilioTextContext(body="Hello {{lead_name}}!"), campaign_type=campaign_type)
    with client.transaction() as session:
        for i, phone in enumerate(phones):
            user = session.query(ConversationUser).filter_by(phone_number=phone).one()
            row = CampaignLead(campaign_id=other.id, user_id=user.id, custom_variables={})
            session.add(row)
            session.flush()
            at = NOW - ago
            session.add(OutboundMessage(
                sid=f"SM{other.id:04d}{i:028d}", campaign_id=other.id, lead_id=row.id, user_id=user.id,
                to_number=phone, status=status, created_at=at, status_at=at, sent_at=at,
                error_code=30008 if status in ("failed", "undelivered") else None))


def test_plan_is_one_row_per_lead_with_action_reason_zone_and_local_time(client: CampaignClient) -> None:
    campaign = make(client, [lead(NY), lead(LA, "Bo"), lead(BERLIN, "Cy", city="Berlin")])
    plan = campaign.plan(now=NOW)
    assert isinstance(plan, DeliveryPlan) and len(plan) == 3
    rows = by_phone(plan)
    ny, la, berlin = rows[NY], rows[LA], rows[BERLIN]
    # 22:00 in New York: deferred to 09:00 local the next morning (13:00 UTC, EDT)
    assert (ny["action"], ny["reason"], ny["zone"]) == ("defer", "quiet_hours", "America/New_York")
    assert ny["local_send_time"] == pd.Timestamp("2026-07-01 09:00")
    assert ny["send_at"] == pd.Timestamp("2026-07-01 13:00", tz="UTC")
    # 19:00 in Los Angeles: now
    assert (la["action"], la["send_at"]) == ("send", pd.Timestamp(NOW)) and pd.isna(la["reason"])
    assert la["local_send_time"] == pd.Timestamp("2026-06-30 19:00") and la["scheduler"] == "now"
    # 04:00 in Berlin: 09:00 CEST = 07:00 UTC
    assert berlin["send_at"] == pd.Timestamp("2026-07-01 07:00", tz="UTC") and berlin["country"] == "DE"
    assert ny["message"] == "Hi Ana, new offers in Lisbon!"
    assert (ny["sms_encoding"], ny["sms_segments"], bool(ny["ambiguous"])) == ("GSM-7", 1, False)
    assert plan.attrs["problems"]  # not approved, not enabled: a send would be refused now


def test_the_send_paths_skip_reasons_and_per_lead_timezone_problems(client: CampaignClient) -> None:
    campaign = make(client, [
        lead(NY), lead(LA, name=""), lead("+12125550101", timezone="Mars/Base"),
        lead("+12125550102", timezone="Europe/Lisbon"), lead("+12125550103"),
    ])
    campaign.remove_leads(["+12125550103"])
    rows = by_phone(campaign.plan(now=NOW))
    assert rows[LA]["reason"] == "missing_variables" and rows[LA]["message"] == "Hi [missing: lead_name], new offers in Lisbon!"
    bad = rows["+12125550101"]
    assert (bad["action"], bad["reason"]) == ("skip", "invalid_timezone") and "'Mars/Base'" in bad["detail"]
    lisbon = rows["+12125550102"]  # 03:00 in Lisbon -> 09:00 WEST = 08:00 UTC
    assert lisbon["zone"] == "Europe/Lisbon" and lisbon["send_at"] == pd.Timestamp("2026-07-01 08:00", tz="UTC")
    assert rows["+12125550103"]["reason"] == "removed"


def test_a_service_campaign_is_exempt_from_quiet_hours_unless_set(client: CampaignClient) -> None:
    campaign = make(client, [lead(NY)], campaign_type="service")
    campaign.set_approval_status("approved")  # an approved template: not a free-form message
    assert by_phone(campaign.plan(now=NOW))[NY]["action"] == "send"
    strict = DeliveryPolicy(service_window=SendWindow(start="08:00", end="20:00"))
    assert by_phone(campaign.plan(now=NOW, policy=strict))[NY]["local_send_time"] == pd.Timestamp("2026-07-01 08:00")


def test_country_overrides_replace_the_window(client: CampaignClient) -> None:
    campaign = make(client, [lead(NY), lead(BERLIN)])
    policy = DeliveryPolicy(countries={"DE": SendWindow(start="11:00", end="17:00", days=["mon", "tue", "wed", "thu", "fri"])})
    rows = by_phone(campaign.plan(now=NOW, policy=policy))
    assert rows[BERLIN]["local_send_time"] == pd.Timestamp("2026-07-01 11:00")  # a Wednesday
    assert rows[NY]["local_send_time"] == pd.Timestamp("2026-07-01 09:00")


@pytest.mark.parametrize(("prior", "action"), [(0, "send"), (1, "skip")])
def test_a_cap_of_one_per_day_at_and_past_the_limit(client: CampaignClient, prior: int, action: str) -> None:
    campaign = make(client, [lead(LA)])
    for i in range(prior):
        sent_before(client, [LA], dt.timedelta(hours=23), name=f"Earlier {i}")
    plan = campaign.plan(now=NOW, policy=DeliveryPolicy(caps=[FrequencyCap(limit=1, per="24h")]))
    row = by_phone(plan)[LA]
    assert row["action"] == action and (row["reason"] == "frequency_cap") == (action == "skip")


@pytest.mark.parametrize(("prior", "action"), [(2, "send"), (3, "skip")])
def test_three_per_week_at_and_one_past_the_limit(client: CampaignClient, prior: int, action: str) -> None:
    campaign = make(client, [lead(LA)])
    for i in range(prior):
        sent_before(client, [LA], dt.timedelta(days=2 + i), name=f"Week {i}")
    policy = DeliveryPolicy(caps=[FrequencyCap(limit=1, per="24h"), FrequencyCap(limit=3, per="7d")])
    assert by_phone(campaign.plan(now=NOW, policy=policy))[LA]["action"] == action


def test_caps_count_only_marketing_messages_that_may_have_arrived(client: CampaignClient) -> None:
    campaign = make(client, [lead(LA), lead(NY)])
    sent_before(client, [LA], dt.timedelta(hours=1), campaign_type="service")  # service: exempt
    sent_before(client, [NY], dt.timedelta(hours=1), status="failed")  # never reached the person
    sent_before(client, [NY], dt.timedelta(hours=24, seconds=1))  # just outside the 24 h
    plan = campaign.plan(now=NOW, policy=DeliveryPolicy(caps=[FrequencyCap(limit=1, per="24h")]))
    assert set(plan["reason"].dropna()) <= {"quiet_hours"}


def test_a_message_after_expiry_is_never_planned(client: CampaignClient) -> None:
    campaign = make(client, [lead(LA), lead(NY)])
    campaign.set_delivery(expires_at=NOW + dt.timedelta(hours=6))  # NY's 09:00 is 11 hours away
    assert campaign.expires_at == NOW + dt.timedelta(hours=6)
    rows = by_phone(campaign.plan(now=NOW))
    assert rows[LA]["action"] == "send"
    assert (rows[NY]["action"], rows[NY]["reason"]) == ("skip", "expired")
    with pytest.raises(DeliveryPolicyError, match="after the campaign expires"):
        campaign.plan(now=NOW, at=NOW + dt.timedelta(days=1))


def test_the_whatsapp_messaging_limit_defers_the_overflow_by_days(client: CampaignClient) -> None:
    phones = [f"+1415555{i:04d}" for i in range(5)]
    campaign = make(client, [lead(p) for p in phones])
    sent_before(client, ["+14155550000"], dt.timedelta(hours=2))  # one person already used today
    plan = campaign.plan(now=NOW, messaging_tier=2)
    # 2 a day, one already used: 1 more now, then 2 a day; the one used (a lead here too) is
    # counted already (unique people): sent now without a new slot
    assert sorted(plan["action"]) == ["defer", "defer", "defer", "send", "send"]
    assert by_phone(plan)["+14155550000"]["action"] == "send"
    assert plan.loc[plan["action"] == "defer", "reason"].eq("messaging_tier").all()
    deferred = plan[plan["reason"] == "messaging_tier"].sort_values("send_at")
    days = (deferred["send_at"] - pd.Timestamp(NOW)).dt.total_seconds() / 86400
    assert days.tolist() == [1.0, 1.0, 2.0]  # 19:00 in LA stays inside the window


def test_local_time_sends_each_recipient_at_ten_in_their_zone(client: CampaignClient) -> None:
    campaign = make(client, [lead(NY), lead(LA), lead(BERLIN)])
    plan = campaign.plan(now=NOW, local_time="10:00")
    assert set(plan["local_send_time"].dt.strftime("%H:%M")) == {"10:00"}
    assert set(plan["reason"]) == {"scheduled"} and set(plan["action"]) == {"defer"}
    assert by_phone(plan)[LA]["send_at"] == pd.Timestamp("2026-07-01 17:00", tz="UTC")


def test_a_schedule_in_the_past_is_refused(client: CampaignClient) -> None:
    campaign = make(client, [lead(LA)])
    with pytest.raises(DeliveryPolicyError, match="in the past"):
        campaign.plan(now=NOW, at=NOW - dt.timedelta(minutes=1))


def test_prices_from_a_table_per_segment_and_a_missing_country_is_a_reason(client: CampaignClient) -> None:
    campaign = make(client, [lead(LA, name="x" * 150), lead(BERLIN)])
    client.gateway.channel = "sms"
    prices = [{"country": "US", "channel": "sms", "price": 0.0079, "currency": "USD"}]
    rows = by_phone(campaign.plan(now=NOW, prices=prices))
    assert rows[LA]["sms_segments"] == 2 and rows[LA]["cost"] == pytest.approx(2 * 0.0079)
    assert rows[LA]["currency"] == "USD"
    assert pd.isna(rows[BERLIN]["cost"]) and "no price for DE / sms / marketing" in rows[BERLIN]["cost_reason"]


def test_summary_totals_by_action_reason_local_hour_and_country(client: CampaignClient) -> None:
    campaign = make(client, [lead(NY), lead("+12125550101"), lead(LA), lead(BERLIN)])
    summary = campaign.plan(now=NOW).summary()
    assert summary["leads"].sum() == 4
    ny = summary[(summary["country"] == "US") & (summary["reason"] == "quiet_hours")]
    assert (ny["leads"].item(), ny["local_hour"].item()) == (2, 9)
    assert ny["cost"].item() == pytest.approx(2 * 0.025)  # the sandbox's labelled table
    assert "sandbox" in campaign.plan(now=NOW).attrs["price_source"]


def test_a_stored_policy_and_the_clients_policy_apply(client: CampaignClient) -> None:
    campaign = make(client, [lead(LA)])
    client.delivery_policy = DeliveryPolicy(window=SendWindow(start="20:00", end="22:00"))
    assert by_phone(campaign.plan(now=NOW))[LA]["local_send_time"] == pd.Timestamp("2026-06-30 20:00")
    campaign.set_delivery(DeliveryPolicy(window=None))
    assert by_phone(campaign.plan(now=NOW))[LA]["action"] == "send"
    campaign.set_delivery(None)
    assert by_phone(campaign.plan(now=NOW))[LA]["reason"] == "quiet_hours"


def test_free_form_service_messages_need_the_service_window(client: CampaignClient) -> None:
    campaign = make(client, [lead(LA), lead(NY)], campaign_type="service")
    with client.transaction() as session:
        user = session.query(ConversationUser).filter_by(phone_number=LA).one()
        session.add(InboundMessage(sid="SMin0001", user_id=user.id, body="hi", kind=InboundKind.REPLY,
                                   received_at=NOW - dt.timedelta(hours=3)))
    rows = by_phone(campaign.plan(now=NOW))  # the template is not approved: a free-form message
    assert rows[LA]["action"] == "send"
    assert (rows[NY]["action"], rows[NY]["reason"]) == ("skip", "outside_service_window")


def test_plan_over_twilio_prices_from_the_pricing_api_and_schedules_with_twilio(
    store_url: str, twilio_server: TwilioTestServer
) -> None:
    gateway = TwilioGateway(twilio_server.twilio_client(), messaging_service_sid="MG" + "7" * 32, channel="sms", rate=None)
    with CampaignClient(store_url, gateway=gateway) as client:
        campaign = make(client, [lead(NY), lead(LA), lead("+442071234567"), lead("+33142685300")])
        rows = by_phone(campaign.plan(now=NOW))
    assert rows[LA]["cost"] == pytest.approx(0.0083)  # the highest local price over the carriers
    assert rows["+442071234567"]["cost"] == pytest.approx(0.0463)
    assert pd.isna(rows["+33142685300"]["cost"]) and "FR" in rows["+33142685300"]["cost_reason"]  # Twilio 404
    assert rows[NY]["scheduler"] == "twilio"  # 11 hours ahead: inside Twilio's 15 min .. 35 days
    paths = {r.path for r in twilio_server.requests}
    assert {"/v1/Messaging/Countries/US", "/v1/Messaging/Countries/GB", "/v1/Messaging/Countries/FR"} <= paths


def test_an_empty_campaign_plans_nothing(client: CampaignClient) -> None:
    plan = client.create_campaign("Empty", content=TwilioTextContext(body=BODY)).plan(now=NOW)
    assert plan.empty and plan.summary().empty


def test_a_dst_day_in_new_york(client: CampaignClient) -> None:
    campaign = make(client, [lead(NY)])
    # 06:00 UTC on 8 March 2026 is 01:00 EST; at 02:00 clocks go to EDT: 09:00 EDT is 13:00 UTC
    row = by_phone(campaign.plan(now=dt.datetime(2026, 3, 8, 6, 0, tzinfo=UTC)))[NY]
    assert row["send_at"] == pd.Timestamp("2026-03-08 13:00", tz="UTC")
    assert row["local_send_time"] == pd.Timestamp("2026-03-08 09:00")


def test_an_ambiguous_number_is_flagged_and_shown_where_it_is_earliest(client: CampaignClient) -> None:
    campaign = make(client, [lead("+61412345678")])  # an Australian mobile: every Australian zone
    row = by_phone(campaign.plan(now=NOW))["+61412345678"]
    assert row["ambiguous"] and "Australia/Perth" in row["zones"] and row["country"] == "AU"
    assert "Indian/Cocos" not in row["zones"]  # libphonenumber's, but Cocos is not Australia (zone.tab)
    # now (02:00 UTC) it is 10:00 in Perth (UTC+8), the earliest clock of its zones, 12:30 on Lord
    # Howe (UTC+10:30): inside 09:00-21:00 in all of them, sent now and shown at Perth's 10:00
    assert row["action"] == "send" and row["send_at"] == pd.Timestamp("2026-07-01 02:00", tz="UTC")
    assert row["zone"] == "Australia/Perth" and row["local_send_time"] == pd.Timestamp("2026-07-01 10:00")
    # two hours earlier, 08:00 in Perth: deferred to 09:00 there, 01:00 UTC
    early = by_phone(campaign.plan(now=NOW - dt.timedelta(hours=2)))["+61412345678"]
    assert early["action"] == "defer" and early["send_at"] == pd.Timestamp("2026-07-01 01:00", tz="UTC")
    assert early["zone"] == "Australia/Perth" and early["local_send_time"] == pd.Timestamp("2026-07-01 09:00")


def test_a_category_price_wins_over_the_any_category_price(client: CampaignClient) -> None:
    campaign = make(client, [lead(LA)])
    prices = [{"country": "US", "channel": "whatsapp", "category": "*", "price": 0.5, "currency": "USD"},
              {"country": "US", "channel": "whatsapp", "category": "marketing", "price": 0.025, "currency": "USD"}]
    assert by_phone(campaign.plan(now=NOW, prices=prices))[LA]["cost"] == pytest.approx(0.025)


def test_the_messaging_tier_can_be_a_gateway_setting(client: CampaignClient) -> None:
    campaign = make(client, [lead(f"+1415555{i:04d}") for i in range(3)])
    client.gateway.messaging_tier = 1  # type: ignore[attr-defined]
    assert sorted(campaign.plan(now=NOW)["action"]) == ["defer", "defer", "send"]
    assert sorted(campaign.plan(now=NOW, messaging_tier=5)["action"]) == ["send", "send", "send"]


@pytest.mark.parametrize("tier", [0, -5, 2.5, True])
def test_a_messaging_tier_argument_that_is_no_number_of_people_is_refused(client: CampaignClient, tier) -> None:
    campaign = make(client, [lead(NY)])  # 0 used to mean "no limit" and -5 deferred everyone
    with pytest.raises(DeliveryPolicyError, match=rf"messaging_tier={tier!r}: WhatsApp's messaging limit is a number"):
        campaign.plan(now=NOW, messaging_tier=tier)


def test_earlier_messages_give_the_send_paths_reasons(client: CampaignClient) -> None:
    campaign = make(client, [lead(NY), lead(LA), lead(BERLIN)])
    sent_before(client, [BERLIN], dt.timedelta(days=30), status="failed")  # another campaign
    with client.transaction() as session:
        users = {u.phone_number: u for u in session.query(ConversationUser)}
        leads = {row.user_id: row for row in session.query(CampaignLead).filter_by(campaign_id=campaign.id)}
        at = NOW - dt.timedelta(hours=1)
        session.add(OutboundMessage(sid="SM" + "1" * 32, campaign_id=campaign.id, lead_id=leads[users[NY].id].id,
                                    user_id=users[NY].id, to_number=NY, status="delivered", created_at=at, status_at=at))
        session.add(OutboundMessage(campaign_id=campaign.id, lead_id=leads[users[LA].id].id, user_id=users[LA].id,
                                    to_number=LA, status="failed", error_code=63016, created_at=at, status_at=at,
                                    error_kind=kind_of_code(63016).value))  # as record_rejected writes it
        session.query(OutboundMessage).filter_by(user_id=users[BERLIN].id).update(
            {"error_code": 21211, "error_kind": kind_of_code(21211).value})
    rows = by_phone(campaign.plan(now=NOW))
    assert rows[NY]["reason"] == "already_messaged"
    assert rows[LA]["reason"] == "failed_before"
    assert rows[BERLIN]["reason"] == "invalid_number"  # Twilio called the number invalid before


def test_experiment_holdouts_show_as_holdout(client: CampaignClient) -> None:
    campaign = make(client, [lead(NY), lead(LA), lead(BERLIN), lead("+12125550101")])
    with client.transaction() as session:
        users = {u.id: u.phone_number for u in session.query(ConversationUser)}
        arms = {LA: "holdout", BERLIN: "global_holdout", "+12125550101": "rest"}
        for row in session.query(CampaignLead).filter_by(campaign_id=campaign.id):
            row.variant = arms.get(users[row.user_id])
    plan = campaign.plan(now=NOW)
    rows = by_phone(plan)
    assert (rows[LA]["action"], rows[LA]["reason"], rows[LA]["variant"]) == ("holdout", "holdout", "holdout")
    assert (rows[BERLIN]["action"], rows[BERLIN]["reason"]) == ("holdout", "global_holdout")
    assert (rows["+12125550101"]["action"], rows["+12125550101"]["reason"]) == ("skip", "awaiting_winner")
    assert rows[NY]["action"] == "defer" and pd.isna(rows[LA]["cost"])
    assert "holdout" in set(plan.summary()["action"])


def test_the_messaging_limit_ranks_every_lead_by_send_moment_across_zones(client: CampaignClient) -> None:
    la = [f"+1415555010{i}" for i in range(3)]  # due now (19:00): ranks 0-2, today
    berlin = [f"+491511234567{i}" for i in range(3)]  # 07:00 UTC: ranks 3-5, all one day later
    ny = [f"+1212555010{i}" for i in range(4)]  # 13:00 UTC: ranks 6-8 two days later, rank 9 three
    campaign = make(client, [lead(p) for p in la + berlin + ny])
    plan = campaign.plan(now=NOW, messaging_tier=3).set_index("phone_number")
    hours = ((plan["send_at"] - pd.Timestamp(NOW)).dt.total_seconds() / 3600).round(2)
    assert set(plan.loc[la, "action"]) == {"send"} and set(hours[la]) == {0.0}
    # a day later is 02:00 UTC: 04:00 in Berlin, 22:00 in New York: each waits for its 09:00
    assert set(hours[berlin]) == {29.0} and set(plan.loc[berlin, "reason"]) == {"messaging_tier"}
    assert sorted(hours[ny]) == [59.0, 59.0, 59.0, 83.0]  # in lead order: the last one a day later
    assert hours[ny[-1]] == 83.0
