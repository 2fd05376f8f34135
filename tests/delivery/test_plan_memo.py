"""The last plan's lead rows kept in memory (``delivery/_memo.py``), on a SQLite file and on
PostgreSQL: a plan reuses them while the store's leads, users and messages and the content cache
stay the same, reads again only the rows of what changed in them (the mirror says which ids),
reads every row when the cache or the query changed, and every plan equals the plan made
without them."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from campaign_sdk import CampaignClient, DeliveryPolicy, FrequencyCap, TwilioTextContext
from campaign_sdk.analytics import mirror_for
from campaign_sdk.delivery import DeliveryPlan, _content_cache, _memo, _zone_cache
from campaign_sdk.facts.errors import ErrorKind
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


def _plan(campaign, kept: str) -> DeliveryPlan:
    """The plan, checking how it got its lead rows (``kept``: ``reused`` the kept ones, read
    only the changed ones into them, ``patched``, or ``read`` them all), and that it equals
    the plan made without them (what is kept forgotten first; the second plan keeps its rows
    again): kept rows that were not brought up to date would differ."""
    before = dict(_memo.STATS)
    plan = campaign.plan(now=NOW, policy=POLICY)
    how = {k for k in ("reused", "patched", "read") if _memo.STATS[k] > before.get(k, 0)}
    assert how == {kept} or (_shared(campaign._client) and how <= {"reused", "patched", "read"} - {_BETTER[kept]}), how
    _memo.forget()
    fresh = campaign.plan(now=NOW, policy=POLICY)
    pd.testing.assert_frame_equal(pd.DataFrame(plan), pd.DataFrame(fresh), check_exact=True)
    assert plan.attrs.keys() == fresh.attrs.keys()
    return plan


# on PostgreSQL a plan may read more than it needs (never less): what it must not have done
_BETTER = {"read": "reused", "patched": "reused", "reused": ""}


def _shared(client: CampaignClient) -> bool:
    """PostgreSQL: the mirror compares block fingerprints, and other tests' commits may change
    rows of the same blocks: a plan there may read rows again where it could have reused them
    (never the reverse, which every test checks on both stores)."""
    return client.engine.dialect.name == "postgresql"


def _lead(session, campaign, phone: str) -> CampaignLead:
    user = session.query(ConversationUser).filter_by(phone_number=phone).one()
    return session.query(CampaignLead).filter_by(campaign_id=campaign.id, user_id=user.id).one()


def _message(session, campaign, phone: str, sid: str | None, **values) -> None:
    lead = _lead(session, campaign, phone)
    session.add(OutboundMessage(sid=sid, campaign_id=campaign.id, lead_id=lead.id, user_id=lead.user_id,
                                to_number=phone, created_at=NOW, status_at=NOW, **values))


def test_a_warm_plan_reuses_the_kept_rows_until_the_store_changes(client: CampaignClient) -> None:
    campaign = _campaign(client)
    _plan(campaign, "read")  # cold: computes the caches and keeps its rows
    _plan(campaign, "reused")
    with client.transaction() as session:  # a user opts out
        session.query(ConversationUser).filter_by(phone_number=PHONES[0]).one().opted_out_at = NOW
    assert _plan(campaign, "patched").set_index("phone_number").loc[PHONES[0], "reason"] == "opted_out"
    with client.transaction() as session:  # a lead is messaged
        _message(session, campaign, PHONES[1], "SM" + "1" * 32, status="delivered", sent_at=NOW)
    assert _plan(campaign, "patched").set_index("phone_number").loc[PHONES[1], "reason"] == "already_messaged"
    with client.transaction() as session:  # a lead's variables change: its content is computed again
        _lead(session, campaign, PHONES[2]).custom_variables = {"lead_name": "Zoë", "city": "Porto",
                                                                "timezone": "Asia/Tokyo"}
    before = _content_cache.STATS["computed"]
    changed = _plan(campaign, "patched").set_index("phone_number")
    assert _content_cache.STATS["computed"] - before == 1  # that lead only (the plan made without kept rows: none)
    assert changed.loc[PHONES[2], "message"] == "Hi Zoë, offers in Porto!"
    assert changed.loc[PHONES[2], "zone"] == "Asia/Tokyo"  # a new zone key, not the kept ones
    _plan(campaign, "reused")
    campaign.remove_leads([PHONES[3]])
    assert _plan(campaign, "patched").set_index("phone_number").loc[PHONES[3], "reason"] == "removed"


def test_each_table_a_plan_reads_brings_the_kept_rows_up_to_date(client: CampaignClient) -> None:
    """A change in each table the lead rows are read from, each checked against a plan made
    without the kept rows (:func:`_plan`): kept rows left stale would differ."""
    campaign, other = _campaign(client), _campaign(client, "Other")
    _plan(campaign, "read")
    with client.transaction() as session:  # a new number for a person: placed again (another zone)
        session.query(ConversationUser).filter_by(phone_number=PHONES[3]).one().phone_number = "+819012345678"
    moved = _plan(campaign, "patched").set_index("phone_number")
    assert moved.loc["+819012345678", "zone"] == "Asia/Tokyo" and moved.loc["+819012345678", "country"] == "JP"
    with client.transaction() as session:  # a failed message, and one canceled (which does not count)
        _message(session, campaign, PHONES[0], None, status="failed", error_kind=ErrorKind.CONTENT, error_code=21211)
        _message(session, campaign, PHONES[1], None, status="canceled")
    reasons = _plan(campaign, "patched").set_index("phone_number")["reason"]
    assert reasons[PHONES[0]] == "failed_before" and reasons[PHONES[1]] not in ("unresolved", "failed_before")
    with client.transaction() as session:  # another campaign finds a person's number invalid
        _message(session, other, PHONES[2], None, status="failed", error_kind=ErrorKind.INVALID_NUMBER,
                 error_code=21211)
    assert _plan(campaign, "patched").set_index("phone_number").loc[PHONES[2], "reason"] == "invalid_number"
    with client.transaction() as session:  # a lead moves to an arm that is never sent, another is added
        _lead(session, campaign, PHONES[1]).variant = "holdout"
    assert campaign.add_leads(pd.DataFrame([{"phone_number": "+12125550199", "lead_name": "New", "city": "Rome"}])
                              ).rejected.empty
    plan = _plan(campaign, "patched").set_index("phone_number")
    assert plan.loc["+12125550199", "message"] == "Hi New, offers in Rome!"
    assert len(plan) == len(PHONES) + 1
    with client.transaction() as session:  # a lead deleted
        session.delete(_lead(session, campaign, PHONES[0]))
    assert PHONES[0] not in set(_plan(campaign, "patched")["phone_number"])
    with client.transaction() as session:  # the other campaign's leads change: nothing of these is read
        _lead(session, other, PHONES[1]).custom_variables = {"lead_name": "Else", "city": "Oslo"}
    _plan(campaign, "reused")


def test_the_mirror_says_which_rows_changed_since_a_generation(client: CampaignClient) -> None:
    campaign = _campaign(client)
    mirror = mirror_for(client.engine)
    with mirror.reading(("leads", "users")):
        leads, users = mirror.versions(("leads", "users"))
    with client.transaction() as session:
        lead = _lead(session, campaign, PHONES[1])
        lead.custom_variables = {"lead_name": "Changed", "city": "Oslo"}
        changed_id = lead.id
    with mirror.reading(("leads", "users")):
        now_leads, now_users = mirror.versions(("leads", "users"))
        assert now_users == users and now_leads != leads  # the users did not change: the same generation
        if not _shared(client):
            assert mirror.changed("leads", leads).to_pylist() == [changed_id]
        else:  # the ids of the blocks that changed
            assert changed_id in mirror.changed("leads", leads).to_pylist()
        assert mirror.changed("leads", now_leads).to_pylist() == []
        assert mirror.changed("leads", "a token") is None  # not a generation of this mirror


def test_a_patched_table_equals_the_table_made_again() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        ids = np.unique(rng.integers(0, 60, rng.integers(0, 40)))
        schema = pa.schema([("lead_id", pa.int64()), ("v", pa.large_string())])
        table = pa.table({"lead_id": ids, "v": [f"old{i}" for i in ids]}, schema=schema)
        if rng.random() < 0.5 and len(table) > 2:  # kept tables are made of pieces
            table = pa.concat_tables([table.slice(0, 2), table.slice(2)])
        changed = np.unique(rng.integers(0, 70, rng.integers(0, 12)))
        now = np.sort(rng.choice(changed, rng.integers(0, len(changed) + 1), replace=False))
        rows = pa.table({"lead_id": now, "v": [f"new{i}" for i in now]}, schema=schema)
        expected = sorted([(i, f"old{i}") for i in ids if i not in set(changed)] + [(i, f"new{i}") for i in now])
        got = _memo.patch(table, changed, rows)
        assert list(zip(got.column("lead_id").to_pylist(), got.column("v").to_pylist())) == expected


def test_another_campaign_a_dropped_cache_and_another_template_read_the_rows_again(client: CampaignClient) -> None:
    campaign, other = _campaign(client), _campaign(client, "Other")
    _plan(campaign, "read")
    _plan(other, "read")  # one campaign's rows are kept: the last planned
    _plan(campaign, "read")
    with mirror_for(client.engine).reading(()) as con:  # the content cache dropped: computed again, not reused
        con.execute(f"DROP TABLE {_zone_cache.schema(con)}.lead_content")
    _plan(campaign, "read")
    _plan(campaign, "reused")
    campaign.update(content=TwilioTextContext(body="Hello {{lead_name}}!"))
    assert set(_plan(campaign, "read")["message"]) == {f"Hello P{i}!" for i in range(len(PHONES))}
    _plan(campaign, "reused")


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
    pd.testing.assert_frame_equal(pd.DataFrame(_plan(campaign, "reused")), expected, check_exact=True)


def test_closing_the_client_drops_its_kept_rows(store_url: str) -> None:
    with CampaignClient(store_url) as client:
        campaign = _campaign(client, "Closed")
        campaign.plan(now=NOW, policy=POLICY)  # its rows are kept
        assert _memo._LAST and _memo._LAST[0].con is mirror_for(client.engine).con
    assert _memo._LAST == []  # the mirror closed with the client, and what was kept for it went too
