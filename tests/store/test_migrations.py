"""Migrations: they create exactly the models' schema, and opening a client upgrades old stores."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from campaign_sdk import CampaignClient
from campaign_sdk.migrations import current_revision, upgrade
from campaign_sdk.models import Base


def _head() -> str:
    from alembic.script import ScriptDirectory

    from campaign_sdk.migrations import alembic_config

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_migrated_schema_matches_models(store_url: str) -> None:
    engine = sa.create_engine(store_url)
    upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_opening_a_client_upgrades_an_old_store_and_keeps_its_data(store_url: str) -> None:
    engine = sa.create_engine(store_url)
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO campaigns (name, campaign_type, status, approval_state, content_type, "
                "content, created_at, updated_at) VALUES ('Old', 'marketing', 'unsubmitted', "
                "'unsubmitted', 'twilio/text', :content, :now, :now)"
            ),
            {"content": '{"body": "Hello {{lead_name}}, welcome back to the shop!"}', "now": "2026-01-01 00:00:00"},
        )
    engine.dispose()

    with CampaignClient(store_url) as client:
        assert current_revision(client.engine) == _head()
        campaign = client.campaign("Old")
        assert campaign.variables == ["lead_name"]
        assert campaign.content.body.startswith("Hello")
    with CampaignClient(store_url) as client:  # opening again is a no-op
        assert current_revision(client.engine) == _head()


def test_a_store_at_the_head_opens_without_running_alembic(store_url: str, monkeypatch) -> None:
    from alembic import command

    CampaignClient(store_url).close()

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("alembic ran on a store already at the head")

    monkeypatch.setattr(command, "upgrade", refuse)
    with CampaignClient(store_url) as client:
        assert current_revision(client.engine) == _head()
