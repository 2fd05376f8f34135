"""The last warm plan's lead rows kept in memory (``delivery/_memo.py``), on a SQLite file and on
PostgreSQL: a plan reuses them only while the store's leads, users and messages and the content
cache stay the same, and every plan equals the plan made without them."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from campaign_sdk import CampaignClient, DeliveryPolicy, FrequencyCap, TwilioTextContext
from campaign_sdk.analytics import mirror_for
from campaign_sdk.delivery import DeliveryPlan, _memo, _zone_cache
from campaign_sdk.models import CampaignLead, ConversationUser, OutboundMessage
from campaign_sdk.sending._planned import decide

NOW = dt.datetime(2026, 7, 1, 15, 0, tzinfo=dt.UTC)
PHONES = ["+12125550100", "+14155550100", "+4915112345678", "+61412345678"]
POLICY = DeliveryPolicy(caps=[FrequencyCap(limit=1, per="24h")], messaging_tier=2)


def _campaign(client: CampaignClient, name: str = "Memo"):
    campaign = client.create_campaign(name, content=TwilioTextContext(body="Hi {{lead_name}}, offers in {{city}}!"))
    rows = [{"phone_number": p, "lead_name": f"P{i}", "city": "Lisbon"} for i, p in enumerate(PHONES)]
    assert campaign.add_leads(pd.DataFrame(rows)).rejected.empty
    return campaign


def _plan(campaign, *, reused: bool) -> DeliveryPlan:
    """The plan, checking whether it reused the kept rows, and that it equals the plan made
    without them (what is kept forgotten first; the second plan keeps its rows again)."""
    before = _memo.STATS["reused"]
    plan = campaign.plan(now=NOW, policy=POLICY)
    assert _memo.STATS["reused"] - before in ((0, 1) if reused and _shared(campaign._client) else (int(reused),))
    _memo.forget()
    fresh = campaign.plan(now=NOW, policy=POLICY)
    pd.testing.assert_frame_equal(pd.DataFrame(plan), pd.DataFrame(fresh), check_exact=True)
    assert plan.attrs.keys() == fresh.attrs.keys()
    return plan


def _shared(client: CampaignClient) -> bool:
    """PostgreSQL: the mirror's change token is the server's snapshot, which any commit on the
    server moves (other tests' too): a plan there may read the rows again where it could have
    reused them (never the reverse, which every test checks on both stores)."""
    return client.engine.dialect.name == "postgresql"


def _lead(session, campaign, phone: str) -> CampaignLead:
    user = session.query(ConversationUser).filter_by(phone_number=phone).one()
    return session.query(CampaignLead).filter_by(campaign_id=campaign.id, user_id=user.id).one()


def test_a_warm_plan_reuses_the_kept_rows_until_the_store_changes(client: CampaignClient) -> None:
    campaign = _campaign(client)
    campaign.plan(now=NOW, policy=POLICY)  # cold: computes the caches, keeps nothing
    _plan(campaign, reused=False)  # the first warm plan keeps its rows
    _plan(campaign, reused=True)
    with client.transaction() as session:  # a user opts out
        session.query(ConversationUser).filter_by(phone_number=PHONES[0]).one().opted_out_at = NOW
    assert _plan(campaign, reused=False).set_index("phone_number").loc[PHONES[0], "reason"] == "opted_out"
    with client.transaction() as session:  # a lead is messaged
        lead = _lead(session, campaign, PHONES[1])
        session.add(OutboundMessage(sid="SM" + "1" * 32, campaign_id=campaign.id, lead_id=lead.id, user_id=lead.user_id,
                                    to_number=PHONES[1], status="delivered", created_at=NOW, sent_at=NOW, status_at=NOW))
    assert _plan(campaign, reused=False).set_index("phone_number").loc[PHONES[1], "reason"] == "already_messaged"
    with client.transaction() as session:  # a lead's variables change: its content is computed again
        _lead(session, campaign, PHONES[2]).custom_variables = {"lead_name": "Zoë", "city": "Porto",
                                                                "timezone": "Asia/Tokyo"}
    campaign.plan(now=NOW, policy=POLICY)
    changed = _plan(campaign, reused=False).set_index("phone_number")
    assert changed.loc[PHONES[2], "message"] == "Hi Zoë, offers in Porto!"
    assert changed.loc[PHONES[2], "zone"] == "Asia/Tokyo"  # a new zone key, not the kept ones
    _plan(campaign, reused=True)
    campaign.remove_leads([PHONES[3]])
    assert _plan(campaign, reused=False).set_index("phone_number").loc[PHONES[3], "reason"] == "removed"


def test_another_campaign_a_dropped_cache_and_another_template_read_the_rows_again(client: CampaignClient) -> None:
    campaign, other = _campaign(client), _campaign(client, "Other")
    for each in (campaign, other):  # cold: the caches computed, nothing kept
        each.plan(now=NOW, policy=POLICY)
    _plan(campaign, reused=False)
    _plan(other, reused=False)  # one campaign's rows are kept: the last planned
    _plan(campaign, reused=False)
    with mirror_for(client.engine).reading(()) as con:  # the content cache dropped: computed again, not reused
        con.execute(f"DROP TABLE {_zone_cache.schema(con)}.lead_content")
    campaign.plan(now=NOW, policy=POLICY)
    _plan(campaign, reused=False)
    campaign.update(content=TwilioTextContext(body="Hello {{lead_name}}!"))
    campaign.plan(now=NOW, policy=POLICY)
    assert set(_plan(campaign, reused=False)["message"]) == {f"Hello P{i}!" for i in range(len(PHONES))}
    _plan(campaign, reused=True)


@pytest.mark.parametrize("first", ["plan", "decide"])
def test_decide_and_the_plan_share_the_kept_rows(client: CampaignClient, first: str) -> None:
    campaign = _campaign(client)
    campaign.plan(now=NOW, policy=POLICY)
    client.delivery_policy = POLICY

    def decided() -> pd.DataFrame:
        return decide(client._sessions, client.gateway, campaign.id, client_policy=POLICY, now=NOW).frame

    made = decided() if first == "decide" else campaign.plan(now=NOW, policy=POLICY)
    before = _memo.STATS["reused"]
    decisions, plan = decided(), campaign.plan(now=NOW, policy=POLICY)
    assert _memo.STATS["reused"] - before in ((0, 1, 2) if _shared(client) else (2,))
    expected = plan.set_index("lead_id")[["action", "reason", "send_at", "scheduler"]]
    pd.testing.assert_frame_equal(decisions, expected, check_exact=True)
    assert len(made) == len(PHONES)


def test_changing_a_plans_frame_changes_no_later_plan(client: CampaignClient) -> None:
    campaign = _campaign(client)
    campaign.plan(now=NOW, policy=POLICY)
    expected = pd.DataFrame(campaign.plan(now=NOW, policy=POLICY))
    plan = campaign.plan(now=NOW, policy=POLICY)  # reused rows: its columns come from what is kept
    plan.loc[plan.index[0], ["sms_segments", "message", "phone_number", "variant"]] = [99, "X", "+1", "arm"]
    plan["lead_id"] += 1000
    pd.testing.assert_frame_equal(pd.DataFrame(_plan(campaign, reused=True)), expected, check_exact=True)


def test_closing_the_client_drops_its_kept_rows(store_url: str) -> None:
    with CampaignClient(store_url) as client:
        campaign = _campaign(client, "Closed")
        campaign.plan(now=NOW, policy=POLICY)
        campaign.plan(now=NOW, policy=POLICY)  # a warm plan: its rows are kept
        assert _memo._LAST and _memo._LAST[0].con is mirror_for(client.engine).con
    assert _memo._LAST == []  # the mirror closed with the client, and what was kept for it went too
