"""Migration 0017: ``deferred_sends.not_before``, the earliest moment a held message may go by what
was asked of it; rows written before it get their ``due_at`` (never sent before it, as before),
and down and up again keeps the rows."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from campaign_sdk.migrations import alembic_config, current_revision, upgrade

from tests.store.test_migration_0014 import _seed  # a campaign, a user, a lead, a message, a deferred send


def _has_not_before(engine: sa.Engine) -> bool:
    return "not_before" in {c["name"] for c in sa.inspect(engine).get_columns("deferred_sends")}


def _rows(connection: sa.Connection) -> list[tuple]:
    return connection.execute(sa.text("SELECT id, lead_id, due_at, reason, channel FROM deferred_sends")).all()


def test_0017_adds_not_before_from_the_due_moment_and_goes_down_and_up_again(store_url: str) -> None:
    engine = sa.create_engine(store_url)
    upgrade(engine, "0016")
    with engine.begin() as connection:
        _seed(connection)
        before = _rows(connection)
    assert len(before) == 1 and not _has_not_before(engine)
    upgrade(engine, "0017")
    assert current_revision(engine) == "0017" and _has_not_before(engine)
    with engine.begin() as connection:
        assert _rows(connection) == before
        assert connection.execute(sa.text("SELECT not_before = due_at FROM deferred_sends")).scalars().all() == [True]

    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0016")
    assert current_revision(engine) == "0016" and not _has_not_before(engine)
    with engine.connect() as connection:
        assert _rows(connection) == before
    upgrade(engine)
    with engine.connect() as connection:
        assert _rows(connection) == before
    engine.dispose()
