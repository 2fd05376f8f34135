"""Migration 0013: a deferred send's ``channel`` (the channel its send planned it for); rows
deferred before it keep NULL (a worker of any channel sends them, as before), down and up again
keeps the rows."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from campaign_sdk.migrations import alembic_config, current_revision, upgrade

from tests.store.test_migration_0011 import NOW
from tests.store.test_migration_0011 import _seed as _seed_0011  # a campaign, a user, a lead and a message


def _seed(connection: sa.Connection) -> None:
    _seed_0011(connection)
    connection.execute(sa.text(
        "INSERT INTO deferred_sends (id, campaign_id, lead_id, user_id, due_at, reason, created_at) "
        "VALUES (1, 1, 1, 1, :now, 'scheduled', :now)"
    ), {"now": NOW})


def _columns(engine: sa.Engine) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns("deferred_sends")}


def test_0013_adds_the_deferred_channel_and_goes_down_and_up_again(store_url: str) -> None:
    engine = sa.create_engine(store_url)
    upgrade(engine, "0012")
    with engine.begin() as connection:
        _seed(connection)
    assert "channel" not in _columns(engine)
    upgrade(engine, "0013")
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT id, channel FROM deferred_sends")).all() == [(1, None)]

    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0012")
    assert current_revision(engine) == "0012" and "channel" not in _columns(engine)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT id, reason FROM deferred_sends")).all() == [(1, "scheduled")]
    upgrade(engine)
    assert "channel" in _columns(engine)
    engine.dispose()
