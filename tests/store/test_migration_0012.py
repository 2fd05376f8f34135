"""Migration 0012: a partial index of the scheduled messages (``ix_outbound_scheduled``), which the
queries for what Twilio's scheduler holds can use (all of them, or one campaign's), and which goes
down and up again."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from campaign_sdk.migrations import alembic_config, current_revision, upgrade

SCHEDULED = "SELECT id FROM outbound_messages WHERE status = 'scheduled'"


def _indexes(engine: sa.Engine) -> set[str]:
    return {i["name"] for i in sa.inspect(engine).get_indexes("outbound_messages")}


def _plan(connection: sa.Connection, query: str) -> str:
    if connection.dialect.name == "sqlite":
        return " ".join(str(row[-1]) for row in connection.execute(sa.text(f"EXPLAIN QUERY PLAN {query}")))
    connection.execute(sa.text("SET LOCAL enable_seqscan = off"))  # an empty table: ask whether it can be used
    return " ".join(str(row[0]) for row in connection.execute(sa.text(f"EXPLAIN {query}")))


def test_0012_indexes_the_scheduled_messages_and_goes_down_and_up_again(store_url: str) -> None:
    engine = sa.create_engine(store_url)
    upgrade(engine, "0011")
    assert "ix_outbound_scheduled" not in _indexes(engine)
    upgrade(engine, "0012")
    assert "ix_outbound_scheduled" in _indexes(engine)
    with engine.begin() as connection:
        assert "ix_outbound_scheduled" in _plan(connection, SCHEDULED)
        assert "ix_outbound_scheduled" in _plan(connection, f"{SCHEDULED} AND campaign_id = 1")
        # a partial index: the other statuses are not in it, so a query of them cannot use it
        assert "ix_outbound_scheduled" not in _plan(connection, "SELECT id FROM outbound_messages WHERE status = 'sent'")

    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0011")
    assert current_revision(engine) == "0011"
    assert "ix_outbound_scheduled" not in _indexes(engine)
    upgrade(engine)
    assert "ix_outbound_scheduled" in _indexes(engine)
    engine.dispose()
