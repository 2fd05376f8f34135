"""A warm plan reads its leads and their content cache rows apart and puts them side by side
(``delivery/_content_cache.beside``), on a SQLite file and on PostgreSQL: whenever the cache's
rows are exactly the campaign's leads, in any stored order; otherwise (a lead not cached, a row
of a lead no longer in the store) it joins them. Either way the plan equals the plan made
without the cache, skip reasons, actions and schedulers included."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from campaign_sdk import CampaignClient, DeliveryPolicy, FrequencyCap, TwilioTextContext
from campaign_sdk.analytics import mirror_for
from campaign_sdk.delivery import DeliveryPlan, _content_cache, _memo, _zone_cache
from campaign_sdk.models import CampaignLead, ConversationUser
from campaign_sdk.sending._planned import decide

NOW = dt.datetime(2026, 7, 1, 15, 0, tzinfo=dt.UTC)
PHONES = ["+12125550100", "+14155550100", "+4915112345678", "+61412345678", "+12125550101", "+447400123456"]
POLICY = DeliveryPolicy(caps=[FrequencyCap(limit=1, per="24h")], messaging_tier=2)


def _campaign(client: CampaignClient):
    campaign = client.create_campaign("Beside", content=TwilioTextContext(body="Hi {{lead_name}}, offers in {{city}}!"))
    rows = [{"phone_number": p, "lead_name": f"P{i}", "city": "Lisbon"} for i, p in enumerate(PHONES)]
    rows[2]["timezone"] = "Mars/Base"  # an invalid timezone value: a content reason
    rows[3]["lead_name"] = " "  # blank: missing_variables
    assert campaign.add_leads(pd.DataFrame(rows)).rejected.empty
    with client.transaction() as session:  # a removed lead, a holdout lead and an opted-out person
        _lead(session, campaign, PHONES[0]).removed_at = NOW
        _lead(session, campaign, PHONES[1]).variant = "holdout"
        session.query(ConversationUser).filter_by(phone_number=PHONES[4]).update({"opted_out_at": NOW})
    return campaign


def _lead(session, campaign, phone: str) -> CampaignLead:
    user = session.query(ConversationUser).filter_by(phone_number=phone).one()
    return session.query(CampaignLead).filter_by(campaign_id=campaign.id, user_id=user.id).one()


def _plan(client: CampaignClient, campaign, *, beside: bool) -> DeliveryPlan:
    """The plan (its rows read, not reused), checking whether it read the cache beside the
    leads, and that it and the send engine's decisions equal those made without the cache."""
    _memo.forget()
    before = _content_cache.STATS["beside"]
    plan = campaign.plan(now=NOW, policy=POLICY)
    assert _content_cache.STATS["beside"] - before == int(beside)
    _memo.forget()
    decisions = decide(client._sessions, client.gateway, campaign.id, client_policy=POLICY, now=NOW)
    expected = plan.set_index("lead_id")[["action", "reason", "send_at", "scheduler"]]
    pd.testing.assert_frame_equal(decisions.frame, expected, check_exact=True)
    with mirror_for(client.engine).reading(()) as con:
        kept = con.execute(f"SELECT * FROM {_zone_cache.schema(con)}.lead_content").df()
        con.execute(f"DROP TABLE {_zone_cache.schema(con)}.lead_content")
    _memo.forget()
    uncached = campaign.plan(now=NOW, policy=POLICY)
    pd.testing.assert_frame_equal(pd.DataFrame(plan), pd.DataFrame(uncached), check_exact=True)
    assert plan.dtypes.equals(uncached.dtypes)
    with mirror_for(client.engine).reading(()) as con:  # the cache as it was, for the next plan
        con.register("_kept", kept)
        con.execute(f"DELETE FROM {_zone_cache.schema(con)}.lead_content")
        con.execute(f"INSERT INTO {_zone_cache.schema(con)}.lead_content SELECT * FROM _kept")
        con.unregister("_kept")
    return plan


def test_a_warm_plan_reads_the_cache_beside_its_leads_in_any_stored_order(client: CampaignClient) -> None:
    campaign = _campaign(client)
    first = campaign.plan(now=NOW, policy=POLICY)  # cold: computes and caches every lead
    assert set(first["reason"].dropna()) >= {"removed", "holdout", "opted_out", "invalid_timezone",
                                             "missing_variables"}
    assert set(first["action"]) >= {"skip", "holdout", "send"}
    _plan(client, campaign, beside=True)
    with mirror_for(client.engine).reading(()) as con:  # the rows stored in reverse lead order
        table = f"{_zone_cache.schema(con)}.lead_content"
        con.execute(f"CREATE TEMP TABLE _rev AS SELECT * FROM {table} ORDER BY lead_id DESC")
        con.execute(f"DELETE FROM {table}")
        con.execute(f"INSERT INTO {table} SELECT * FROM _rev")
        con.execute("DROP TABLE _rev")
    pd.testing.assert_frame_equal(pd.DataFrame(_plan(client, campaign, beside=True)), pd.DataFrame(first))


def test_changed_variables_numbers_and_arms_are_found_beside_the_cache(client: CampaignClient) -> None:
    campaign = _campaign(client)
    campaign.plan(now=NOW, policy=POLICY)
    with client.transaction() as session:
        _lead(session, campaign, PHONES[3]).custom_variables = {"lead_name": "Zoë", "city": "Porto"}  # no longer blank
        _lead(session, campaign, PHONES[1]).variant = None  # out of the holdout: its arm changes
        session.query(ConversationUser).filter_by(phone_number=PHONES[5]).update({"phone_number": "+13105550100"})
    before = _content_cache.STATS["computed"]
    plan = _plan(client, campaign, beside=True).set_index("phone_number")
    assert _content_cache.STATS["computed"] - before == 2 + len(PHONES)  # two changed; all again uncached
    assert plan.loc[PHONES[3], "message"] == "Hi Zoë, offers in Porto!"
    assert plan.loc[PHONES[3], "action"] in ("send", "defer")  # no content reason now
    assert plan.loc[PHONES[1], "action"] != "holdout"
    assert plan.loc["+13105550100", "zones"] == "America/Los_Angeles"
    _plan(client, campaign, beside=True)


def test_a_lead_not_cached_or_a_row_of_a_deleted_lead_is_joined(client: CampaignClient) -> None:
    campaign = _campaign(client)
    campaign.plan(now=NOW, policy=POLICY)
    assert campaign.add_leads(pd.DataFrame({"phone_number": ["+12125550199"], "lead_name": ["New"],
                                            "city": ["Rome"]})).inserted == 1
    _plan(client, campaign, beside=False)  # the new lead has no cached row yet
    _plan(client, campaign, beside=True)
    with client.transaction() as session:  # its row stays in the cache until a plan shows the leads
        session.delete(_lead(session, campaign, "+12125550199"))
    plan = _plan(client, campaign, beside=False)
    assert "+12125550199" not in set(plan["phone_number"])
