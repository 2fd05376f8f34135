"""Migration 0015: ``store_settings``, the settings of the whole store (its first: the client's
delivery policy). A store migrated up keeps its rows and has no setting (the default policy, as
a new process had before); down drops the table and keeps the rest; up again starts empty."""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import command

from campaign_sdk import CampaignClient, DeliveryPolicy, SendWindow
from campaign_sdk.migrations import alembic_config, current_revision, upgrade

from tests.store.test_migration_0014 import _seed  # a campaign, a user, a lead, a message, a deferred send

POLICY = DeliveryPolicy(window=SendWindow(start="10:00", end="18:00"), caps=[{"limit": 1, "per": "24h"}])


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def _kept(connection: sa.Connection) -> list[tuple]:
    return [*connection.execute(sa.text("SELECT id, name FROM campaigns")).all(),
            *connection.execute(sa.text("SELECT id, reason, channel FROM deferred_sends")).all()]


def test_0015_adds_the_store_settings_and_goes_down_and_up_again(store_url: str) -> None:
    engine = sa.create_engine(store_url)
    upgrade(engine, "0014")
    with engine.begin() as connection:
        _seed(connection)
        before = _kept(connection)
    assert "store_settings" not in _tables(engine)
    upgrade(engine, "0015")
    assert current_revision(engine) == "0015"
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM store_settings")).scalar() == 0
        assert _kept(connection) == before
    with CampaignClient(store_url) as client:  # no setting: the default, as before
        assert client.delivery_policy is None
        client.delivery_policy = POLICY
    with engine.connect() as connection:
        key, value = connection.execute(sa.text("SELECT key, value FROM store_settings")).one()
    stored = value if isinstance(value, dict) else json.loads(value)
    assert key == "delivery_policy" and stored == POLICY.model_dump(mode="json")

    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0014")
    assert current_revision(engine) == "0014" and "store_settings" not in _tables(engine)
    with engine.connect() as connection:
        assert _kept(connection) == before
    upgrade(engine)
    with engine.connect() as connection:  # the way back up starts with no setting
        assert connection.execute(sa.text("SELECT count(*) FROM store_settings")).scalar() == 0
    with CampaignClient(store_url) as client:
        assert client.delivery_policy is None
    engine.dispose()
