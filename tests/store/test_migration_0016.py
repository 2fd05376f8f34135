"""Migration 0016: the ``local_time`` of a scheduled send, kept with the messages Twilio's
scheduler holds (``outbound_messages``) and the ones the local worker holds (``deferred_sends``);
rows written before it keep NULL, down and up again keeps the rows."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from campaign_sdk.migrations import alembic_config, current_revision, upgrade

from tests.store.test_migration_0014 import _seed  # a campaign, a user, a lead, a message, a deferred send

_TABLES = ("outbound_messages", "deferred_sends")


def _has_local_time(engine: sa.Engine) -> dict[str, bool]:
    inspector = sa.inspect(engine)
    return {t: "local_time" in {c["name"] for c in inspector.get_columns(t)} for t in _TABLES}


def _rows(connection: sa.Connection) -> list[tuple]:
    return [*connection.execute(sa.text("SELECT id, status FROM outbound_messages")).all(),
            *connection.execute(sa.text("SELECT id, reason, channel FROM deferred_sends")).all()]


def test_0016_adds_the_local_time_and_goes_down_and_up_again(store_url: str) -> None:
    engine = sa.create_engine(store_url)
    upgrade(engine, "0015")
    with engine.begin() as connection:
        _seed(connection)
        before = _rows(connection)
    assert _has_local_time(engine) == {t: False for t in _TABLES}
    upgrade(engine, "0016")
    assert current_revision(engine) == "0016" and _has_local_time(engine) == {t: True for t in _TABLES}
    with engine.begin() as connection:
        assert _rows(connection) == before
        for table in _TABLES:  # written before it: NULL (moved to the next allowed moment, as before)
            assert connection.execute(sa.text(f"SELECT local_time FROM {table}")).scalars().all() == [None]
            connection.execute(sa.text(f"UPDATE {table} SET local_time = '10:00'"))

    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0015")
    assert current_revision(engine) == "0015" and _has_local_time(engine) == {t: False for t in _TABLES}
    with engine.connect() as connection:
        assert _rows(connection) == before
    upgrade(engine)
    with engine.connect() as connection:
        assert _rows(connection) == before
        assert {t: connection.execute(sa.text(f"SELECT local_time FROM {t}")).scalars().all() for t in _TABLES} == {
            t: [None] for t in _TABLES}
    engine.dispose()
