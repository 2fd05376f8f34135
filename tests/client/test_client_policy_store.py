"""The client's delivery policy is the store's (``store_settings``, migration 0015): set by any
client, read by every client and process on the store, on a SQLite file and on PostgreSQL. A
second client opened on the same store plans with it; None deletes it (the default again)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from campaign_sdk import CampaignClient, DeliveryPolicy, DeliveryPolicyError, SendWindow
from campaign_sdk.models import StoreSetting

POLICY = DeliveryPolicy(window=SendWindow(start="10:00", end="18:00"),
                        countries={"DE": SendWindow(days=["mon", "tue", "wed", "thu", "fri"])},
                        caps=[{"limit": 1, "per": "24h"}, {"limit": 3, "per": "7d"}], validity_period=3600)
EVENING = dt.datetime(2026, 7, 1, 2, tzinfo=dt.UTC)  # Tue 19:00 in Los Angeles: the default's, not POLICY's


def _stored(client: CampaignClient) -> list[tuple[str, dict]]:
    with client.engine.connect() as connection:
        return [tuple(r) for r in connection.execute(sa.select(StoreSetting.key, StoreSetting.value))]


def _evening_plan(client: CampaignClient, name: str) -> pd.DataFrame:
    return client.campaign(name).plan(now=EVENING)


def test_a_policy_set_by_one_client_is_read_by_a_second_client_on_the_store(migrated_url: str) -> None:
    with CampaignClient(migrated_url) as first, CampaignClient(migrated_url) as second:
        campaign = first.create_campaign("Evening", template="order_confirmation")
        campaign.add_leads(pd.DataFrame({"phone_number": ["+14155552671"], "lead_name": ["Ana"],
                                         "order_id": ["A-1"], "timezone": ["America/Los_Angeles"]}))
        assert second.delivery_policy is None
        assert _evening_plan(second, "Evening")["action"].tolist() == ["send"]  # the default: 09:00-21:00

        first.set_delivery(POLICY)
        assert second.delivery_policy == POLICY
        # stored as a campaign's own policy is
        assert _stored(first) == [("delivery_policy", POLICY.model_dump(mode="json"))]
        assert _evening_plan(second, "Evening")[["action", "reason"]].values.tolist() == [["defer", "quiet_hours"]]
        with CampaignClient(migrated_url) as third:  # opened after: the same
            assert third.delivery_policy == POLICY

        anytime = DeliveryPolicy(window=None)
        second.delivery_policy = anytime  # any client sets it; the last one set wins
        assert first.delivery_policy == anytime and len(_stored(first)) == 1

        first.delivery_policy = None  # deleted: the default for everyone
        assert second.delivery_policy is None and _stored(second) == []
        assert _evening_plan(second, "Evening")["action"].tolist() == ["send"]


def test_a_campaigns_own_policy_still_comes_first(migrated_url: str) -> None:
    with CampaignClient(migrated_url) as first, CampaignClient(migrated_url) as second:
        campaign = first.create_campaign("Own", template="order_confirmation")
        campaign.add_leads(pd.DataFrame({"phone_number": ["+14155552671"], "lead_name": ["Ana"],
                                         "order_id": ["A-1"], "timezone": ["America/Los_Angeles"]}))
        campaign.set_delivery(DeliveryPolicy(window=None))
        first.set_delivery(POLICY)
        assert _evening_plan(second, "Own")["action"].tolist() == ["send"]


def test_reading_the_policy_is_one_small_select(client: CampaignClient) -> None:
    client.set_delivery(POLICY)
    seen: list[str] = []
    sa.event.listen(client.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    assert client.delivery_policy == POLICY
    assert len(seen) == 1 and "store_settings" in seen[0]


def test_a_stored_policy_this_version_cannot_read_says_how_to_fix_it(client: CampaignClient) -> None:
    client.set_delivery(POLICY)
    with client.engine.begin() as connection:  # e.g. written by a newer campaign_sdk
        value = POLICY.model_dump(mode="json") | {"window": {"start": "10:00", "end": "18:00", "weekends": False}}
        connection.execute(sa.update(StoreSetting).values(value=value))
    with pytest.raises(DeliveryPolicyError, match="store's client delivery policy") as raised:
        client.delivery_policy  # noqa: B018 - the property reads the store
    assert "client.set_delivery(" in str(raised.value) and raised.value.problems
    assert any("weekends" in where for where, _ in raised.value.problems)
    client.set_delivery(None)  # the way out
    assert client.delivery_policy is None


def test_a_reused_postgresql_schema_starts_without_the_last_tests_policy(_pg_migrated_schemas) -> None:
    """The per-test reset of a kept PostgreSQL schema (tests/conftest.py) empties store_settings
    too: a policy one test sets never reaches the next test's store."""
    schema, url = _pg_migrated_schemas.take()
    with CampaignClient(url) as client:
        client.set_delivery(POLICY)
    _pg_migrated_schemas.give_back(schema)
    assert schema in _pg_migrated_schemas.free  # kept (not dropped), emptied
    again, url = _pg_migrated_schemas.take()
    try:
        assert again == schema
        with CampaignClient(url) as client:
            assert client.delivery_policy is None
    finally:
        _pg_migrated_schemas.give_back(again)
