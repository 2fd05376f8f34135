"""A brand-new store gets, from the second one a process opens on, the SQL its first migration
wrote, replayed: the same schema, triggers and rows as running every migration, on SQLite and on
PostgreSQL, and never for a database that already has tables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pandas as pd
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from campaign_sdk import CampaignClient, migrations
from campaign_sdk.models import Base
from tests.conftest import _pg_base_url, _pg_schema

# Everything PostgreSQL keeps about a schema's objects, with the schema's name replaced by "S".
PG_CATALOG = {
    "columns": "SELECT table_name, column_name, ordinal_position, data_type, is_nullable, column_default, "
               "character_maximum_length, numeric_precision FROM information_schema.columns "
               "WHERE table_schema = :schema ORDER BY 1, 3",
    "constraints": "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(c.oid) FROM pg_constraint c "
                   "JOIN pg_namespace n ON n.oid = c.connamespace WHERE nspname = :schema ORDER BY 1, 2",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = :schema ORDER BY 1, 2",
    "sequences": "SELECT sequence_name, data_type, start_value, increment FROM information_schema.sequences "
                 "WHERE sequence_schema = :schema ORDER BY 1",
    "triggers": "SELECT event_object_table, trigger_name, action_statement FROM information_schema.triggers "
                "WHERE trigger_schema = :schema ORDER BY 1, 2",
    "objects": "SELECT relname, relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
               "WHERE nspname = :schema ORDER BY 1",
}


def _schema(engine: sa.Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every object of the store's schema as the database describes it, and every row of every table."""
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            objects = {"sqlite_master": sorted(connection.exec_driver_sql(
                "SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall(), key=repr)}
        else:
            schema = connection.scalar(sa.text("SELECT current_schema()"))
            objects = {
                name: [tuple(str(v).replace(f"{schema}.", "S.") if isinstance(v, str) else v for v in row)
                       for row in connection.execute(sa.text(query), {"schema": schema})]
                for name, query in PG_CATALOG.items()
            }
        for table in sa.inspect(connection).get_table_names():
            objects[f"rows of {table}"] = sorted(connection.exec_driver_sql(f"SELECT * FROM {table}"), key=repr)
    return objects


@pytest.fixture
def two_new_urls(store_url: str, tmp_path) -> Iterator[tuple[str, str]]:
    """Two new, empty stores of one kind (SQLite files, or PostgreSQL schemas)."""
    if store_url.startswith("sqlite"):
        yield store_url, f"sqlite:///{tmp_path / 'second.db'}"
    else:
        with _pg_schema(_pg_base_url()) as second:
            yield store_url, second


@pytest.fixture
def alembic_runs(monkeypatch) -> list[str]:
    """The revisions Alembic is asked to migrate to from now on (it still migrates)."""
    runs: list[str] = []
    real = command.upgrade

    def spy(config, revision, *args, **kwargs):
        runs.append(revision)
        return real(config, revision, *args, **kwargs)

    monkeypatch.setattr(command, "upgrade", spy)
    return runs


def test_the_second_new_store_replays_the_first_ones_migration_and_gets_the_same_store(
    two_new_urls: tuple[str, str], alembic_runs: list[str], monkeypatch
) -> None:
    monkeypatch.setattr(migrations, "_NEW_STORE_SQL", {})  # as in a process that opened no store yet
    first, second = two_new_urls
    with ExitStack() as stack:
        one = stack.enter_context(CampaignClient(first))
        assert alembic_runs == ["head"]
        two = stack.enter_context(CampaignClient(second))
        assert alembic_runs == ["head"], "the second new store ran the migrations again"
        assert _schema(two.engine) == _schema(one.engine)
        assert migrations.current_revision(two.engine) == migrations.head_revision()
        with two.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        # and it is a working store: the replayed defaults, sequences and (SQLite) triggers work alike
        versions = []
        for client in (one, two):
            campaign = client.create_campaign("Orders", template="order_confirmation")
            campaign.add_leads(pd.DataFrame({"phone_number": ["+14155550100", "+14155550101"],
                                             "lead_name": ["Ana", "Bo"], "order_id": ["A-1", "A-2"]}))
            with client.engine.begin() as connection:
                connection.exec_driver_sql("UPDATE campaign_leads SET updated_at = created_at")
                versions.append(connection.exec_driver_sql(
                    "SELECT c.id, c.language, l.id, l.row_version FROM campaigns c JOIN campaign_leads l "
                    "ON l.campaign_id = c.id ORDER BY l.id").fetchall())
        assert versions[0] == versions[1] and len(versions[0]) == 2


def test_a_database_with_tables_of_its_own_is_migrated_not_replayed(
    two_new_urls: tuple[str, str], alembic_runs: list[str]
) -> None:
    first, other = two_new_urls
    CampaignClient(first).close()  # the process has the SQL of a new store
    engine = sa.create_engine(other)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        connection.exec_driver_sql("INSERT INTO notes (id, body) VALUES (1, 'kept')")
    engine.dispose()
    runs = len(alembic_runs)
    with CampaignClient(other) as client:
        assert alembic_runs[runs:] == ["head"]
        with client.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT body FROM notes").fetchall() == [("kept",)]
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert [d for d in compare_metadata(context, Base.metadata) if d[0] != "remove_table"] == []


def test_an_old_store_is_upgraded_by_the_migrations(store_url: str, alembic_runs: list[str]) -> None:
    engine = sa.create_engine(store_url)
    migrations.upgrade(engine, "0003")
    migrations.upgrade(engine)
    assert alembic_runs == ["0003", "head"]
    assert migrations.current_revision(engine) == migrations.head_revision()
    engine.dispose()
