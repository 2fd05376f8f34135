"""The plan's per-lead content cache (``delivery/_content_cache.py``), on a SQLite file and on
PostgreSQL: a lead's content is computed once, again after its variables, its arm, the template
or the channel change, and a plan from the cache always equals the plan made without it."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from campaign_sdk import CampaignClient, DeliveryPolicy, FrequencyCap, SendWindow, TwilioTextContext
from campaign_sdk.analytics import mirror_for
from campaign_sdk.delivery import DeliveryPlan, _content_cache, _zone_cache
from campaign_sdk.models import CampaignLead, ConversationUser
from campaign_sdk.sending._planned import decide

NOW = dt.datetime(2026, 7, 1, 2, 0, tzinfo=dt.UTC)
PHONES = ["+12125550100", "+14155550100", "+4915112345678", "+61412345678"]


def _campaign(client: CampaignClient, name: str = "Cached"):
    campaign = client.create_campaign(name, content=TwilioTextContext(body="Hi {{lead_name}}, offers in {{city}} now!"))
    rows = [{"phone_number": p, "lead_name": f"P{i}", "city": "Lisbon"} for i, p in enumerate(PHONES)]
    assert campaign.add_leads(pd.DataFrame(rows)).rejected.empty
    return campaign


def _uncached(client: CampaignClient, campaign, **options) -> pd.DataFrame:
    """The plan made with no cached content (the cache table dropped first)."""
    with mirror_for(client.engine).reading(()) as con:
        con.execute(f"DROP TABLE IF EXISTS {_zone_cache.schema(con)}.lead_content")
    before = _content_cache.STATS["computed"]
    plan = campaign.plan(now=NOW, **options)
    assert _content_cache.STATS["computed"] - before == len(plan)
    return pd.DataFrame(plan)


def _planned(campaign, computed: int, **options) -> DeliveryPlan:
    """The plan, checking that it computed the content of ``computed`` leads."""
    before = _content_cache.STATS["computed"]
    plan = campaign.plan(now=NOW, **options)
    assert _content_cache.STATS["computed"] - before == computed
    return plan


def _same(plan: DeliveryPlan, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(pd.DataFrame(plan), expected, check_exact=True)
    assert plan.dtypes.equals(expected.dtypes)


def _set_variables(client: CampaignClient, phone: str, values: dict[str, object]) -> None:
    with client.transaction() as session:
        user = session.query(ConversationUser).filter_by(phone_number=phone).one()
        lead = session.query(CampaignLead).filter_by(user_id=user.id).one()
        lead.custom_variables = values


def test_content_is_computed_once_and_again_for_a_lead_whose_variables_change(client: CampaignClient) -> None:
    campaign = _campaign(client)
    first = _planned(campaign, len(PHONES))
    _same(_planned(campaign, 0), pd.DataFrame(first))  # nothing computed again
    _set_variables(client, PHONES[1], {"lead_name": "Zoë 😀", "city": "Porto"})
    changed = _planned(campaign, 1).set_index("phone_number")
    assert changed.loc[PHONES[1], "message"] == "Hi Zoë 😀, offers in Porto now!"
    assert changed.loc[PHONES[1], "sms_encoding"] == "UCS-2"
    _same(_planned(campaign, 0), _uncached(client, campaign))
    _set_variables(client, PHONES[2], {"lead_name": " ", "city": "Berlin"})  # now blank: a content reason
    blank = _planned(campaign, 1).set_index("phone_number")
    assert (blank.loc[PHONES[2], "action"], blank.loc[PHONES[2], "reason"]) == ("skip", "missing_variables")
    _set_variables(client, PHONES[0], {"lead_name": "Ana", "city": "NYC", "timezone": "Asia/Tokyo"})
    tokyo = _planned(campaign, 1).set_index("phone_number")
    assert tokyo.loc[PHONES[0], "zone"] == "Asia/Tokyo"
    _same(_planned(campaign, 0), _uncached(client, campaign))


def test_a_template_change_a_variant_change_and_a_channel_change_compute_it_again(client: CampaignClient) -> None:
    campaign = _campaign(client)
    _planned(campaign, len(PHONES))
    campaign.update(content=TwilioTextContext(body="Hello {{lead_name}}, see what is new in {{city}}!"))
    changed = _planned(campaign, len(PHONES))
    assert set(changed["message"].str.startswith("Hello P")) == {True}
    _same(_planned(campaign, 0), _uncached(client, campaign))
    with client.transaction() as session:  # one lead joins the holdout: its arm changes
        lead = session.query(CampaignLead).filter_by(campaign_id=campaign.id).order_by(CampaignLead.id).first()
        lead.variant = "holdout"
    held = _planned(campaign, 1)
    assert held.loc[held["lead_id"] == lead.id, "action"].item() == "holdout"
    client.gateway.channel = "sms"  # another channel: another length limit
    _same(_planned(campaign, len(PHONES)), _uncached(client, campaign))
    client.gateway.channel = "whatsapp"
    _same(_planned(campaign, len(PHONES)), _uncached(client, campaign))


def test_another_policy_reuses_the_content_and_decides_as_without_the_cache(client: CampaignClient) -> None:
    campaign = _campaign(client)
    _planned(campaign, len(PHONES))
    for policy in (DeliveryPolicy(window=None), DeliveryPolicy(window=SendWindow(start="20:00", end="22:00")),
                   DeliveryPolicy(caps=[FrequencyCap(limit=1, per="24h")], messaging_tier=2)):
        _same(_planned(campaign, 0, policy=policy), _uncached(client, campaign, policy=policy))
    _same(_planned(campaign, 0, local_time="10:00"), _uncached(client, campaign, local_time="10:00"))


def test_added_removed_and_deleted_leads_and_two_campaigns_with_one_template(client: CampaignClient) -> None:
    campaign = _campaign(client)
    other = _campaign(client, "Same template")  # the same people, the same content: rows of their own
    _planned(campaign, len(PHONES))
    _planned(other, len(PHONES))
    assert campaign.add_leads(pd.DataFrame({"phone_number": ["+12125550199"], "lead_name": ["New"],
                                            "city": ["Rome"]})).inserted == 1
    campaign.remove_leads([PHONES[3]])
    plan = _planned(campaign, 1)  # only the new lead's content is computed; removal is the store's
    assert len(plan) == len(PHONES) + 1
    assert plan.set_index("phone_number").loc[PHONES[3], "reason"] == "removed"
    with client.transaction() as session:  # a lead deleted outright: its cached row must not show
        user = session.query(ConversationUser).filter_by(phone_number=PHONES[0]).one()
        session.query(CampaignLead).filter_by(campaign_id=campaign.id, user_id=user.id).delete()
    shown, others = _planned(campaign, 0), _planned(other, 0)
    assert PHONES[0] not in set(shown["phone_number"]) and len(shown) == len(PHONES)
    _same(shown, _uncached(client, campaign))
    _same(others, _uncached(client, other))


def test_decide_reads_the_same_content_and_fills_it_for_the_plan(client: CampaignClient) -> None:
    campaign = _campaign(client)
    before = _content_cache.STATS["computed"]
    decisions = decide(client._sessions, client.gateway, campaign.id, now=NOW)
    assert _content_cache.STATS["computed"] - before == len(PHONES)
    plan = _planned(campaign, 0)
    expected = plan.set_index("lead_id")[["action", "reason", "send_at", "scheduler"]]
    pd.testing.assert_frame_equal(decisions.frame, expected, check_exact=True)


@pytest.mark.parametrize("stale", ["version", "file"])
def test_a_cache_of_another_version_or_a_new_process_is_not_trusted_blindly(client: CampaignClient, stale: str,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    campaign = _campaign(client)
    first = _planned(campaign, len(PHONES))
    if stale == "version":
        monkeypatch.setattr(_content_cache, "VERSION", "another")
        _same(_planned(campaign, len(PHONES)), pd.DataFrame(first))
    else:  # a new client (on SQLite: the mirror file with its cache, reopened)
        client.close()
        with CampaignClient(client.engine.url.render_as_string(hide_password=False)) as again:
            expected = 0 if again.engine.dialect.name == "sqlite" else len(PHONES)
            _same(_planned(again.campaign("Cached"), expected), pd.DataFrame(first))


def test_the_cached_place_follows_the_number_and_goes_with_the_zone_cache(client: CampaignClient,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    campaign = _campaign(client)
    first = pd.DataFrame(_planned(campaign, len(PHONES)))
    with client.transaction() as session:  # the New York person's number changes to Los Angeles
        session.query(ConversationUser).filter_by(phone_number=PHONES[0]).update({"phone_number": "+13105550100"})
    before = _zone_cache.STATS["resolved"]
    moved = _planned(campaign, 0).set_index("phone_number")  # the content stays; the place does not
    assert moved.loc["+13105550100", "zones"] == "America/Los_Angeles"
    assert _zone_cache.STATS["resolved"] - before == 1
    _same(_planned(campaign, 0), _uncached(client, campaign))
    assert _zone_cache.STATS["resolved"] - before == 1  # kept beside the content: not resolved again
    with client.transaction() as session:
        session.query(ConversationUser).filter_by(phone_number="+13105550100").update({"phone_number": PHONES[0]})
    _same(_planned(campaign, 0), first)  # the number back: resolved again (the zone cache keeps one per person)
    # a zone cache started afresh (another version, or its places deleted) numbers its places
    # anew: the content cache, which holds the old numbers, goes with it
    monkeypatch.setattr(_zone_cache, "VERSION", "another")
    _same(_planned(campaign, len(PHONES)), first)
    with mirror_for(client.engine).reading(()) as con:
        con.execute(f"DROP TABLE {_zone_cache.schema(con)}.places")
    _same(_planned(campaign, len(PHONES)), first)
    assert _zone_cache.STATS["resolved"] - before == 2 + 2 * len(PHONES)


def test_a_lead_deleted_from_the_store_leaves_the_cache_and_the_plan(client: CampaignClient) -> None:
    campaign = _campaign(client)
    _planned(campaign, len(PHONES))
    with client.transaction() as session:
        user = session.query(ConversationUser).filter_by(phone_number=PHONES[1]).one()
        session.delete(session.query(CampaignLead).filter_by(user_id=user.id).one())
    plan = _planned(campaign, 0)  # the cache still holds the deleted lead's row: the plan does not show it
    assert sorted(plan["phone_number"]) == sorted(p for p in PHONES if p != PHONES[1])
    with mirror_for(client.engine).reading(()) as con:  # and that row is gone from the cache
        kept = con.execute(f"SELECT count(*) FROM {_zone_cache.schema(con)}.lead_content").fetchall()[0][0]
    assert kept == len(PHONES) - 1
    _same(_planned(campaign, 0), _uncached(client, campaign))
