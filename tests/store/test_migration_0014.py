"""Migration 0014: a deferred send's ``sender`` (the Messaging Service SID or From number of the
send that deferred it); rows deferred before it keep NULL (a worker of any sender sends them) and
their channel, down and up again keeps the rows."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from campaign_sdk.migrations import alembic_config, current_revision, upgrade

from tests.store.test_migration_0011 import NOW
from tests.store.test_migration_0011 import _seed as _seed_0011  # a campaign, a user, a lead and a message
from tests.store.test_migration_0013 import _columns  # the columns of deferred_sends


def _seed(connection: sa.Connection) -> None:
    _seed_0011(connection)
    connection.execute(sa.text(
        "INSERT INTO deferred_sends (id, campaign_id, lead_id, user_id, due_at, reason, created_at, channel) "
        "VALUES (1, 1, 1, 1, :now, 'scheduled', :now, 'sms')"
    ), {"now": NOW})


def test_0014_adds_the_deferred_sender_and_goes_down_and_up_again(store_url: str) -> None:
    engine = sa.create_engine(store_url)
    upgrade(engine, "0013")
    with engine.begin() as connection:
        _seed(connection)
    assert "sender" not in _columns(engine)
    upgrade(engine, "0014")
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT id, channel, sender FROM deferred_sends")).all() == [(1, "sms", None)]
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE deferred_sends SET sender = :s"), {"s": "MG" + "7" * 32})

    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0013")
    assert current_revision(engine) == "0013" and "sender" not in _columns(engine)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT id, reason, channel FROM deferred_sends")).all() == [(1, "scheduled", "sms")]
    upgrade(engine)
    assert "sender" in _columns(engine)
    with engine.connect() as connection:  # the way back up starts unknown again
        assert connection.execute(sa.text("SELECT id, sender FROM deferred_sends")).all() == [(1, None)]
    engine.dispose()
