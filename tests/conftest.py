"""Shared fixtures: every store test runs on a SQLite file and on a real PostgreSQL server.

PostgreSQL tests read the server URL from CAMPAIGN_SDK_TEST_PG_URL (e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test``) and skip, saying so, when it is unset.
Each test gets a schema of its own: an empty one (``pg_url``) is made for the test and dropped
afterwards. The test sessions ask the server not to wait for the WAL flush at each commit
(``synchronous_commit=off``): a commit is seen by every other session as before, and only a crash of
the server itself could lose it (some 2 ms of each commit on this machine's disk).

A test that wants a migrated store (``migrated_url``, ``client``) gets it without running Alembic
again: SQLite copies a file migrated once per run; on PostgreSQL a process keeps the migrated
schemas its tests are done with (see :class:`_MigratedSchemas`): one is emptied of its rows and
handed to the next test, exactly as fresh as a new one (its structure is checked unchanged first,
else it is dropped). A new one gets the statements the migrations ran once per run replayed into it
(checked against the models before any test uses them).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa

# campaign_sdk (and Alembic) are imported by the fixtures that use them, not here: pytest loads this
# file in the xdist controller too, which runs no test (importing campaign_sdk costs some 1.5 s of CPU).
if TYPE_CHECKING:
    from campaign_sdk import CampaignClient
    from campaign_sdk.gateways import TwilioGateway
    from campaign_sdk.testing import TwilioTestServer

PG_ENV = "CAMPAIGN_SDK_TEST_PG_URL"
SERVICE_SID = "MG" + "7" * 32


def _pg_base_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    return url


@sa.event.listens_for(sa.pool.Pool, "connect")
def _no_wal_flush_wait(dbapi_connection: Any, _record: Any) -> None:
    """Every PostgreSQL connection of the test process commits without waiting for the WAL flush
    (see the module docstring). A URL's ``options`` could say it for the processes the tests start
    too, but the analytics' ADBC reads render the URL with a ``+`` for the space between two
    options, which libpq does not read as one."""
    if type(dbapi_connection).__module__.startswith("psycopg"):
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        dbapi_connection.execute("SET synchronous_commit = off")
        dbapi_connection.autocommit = autocommit


def _schema_url(base: str, schema: str) -> str:
    """``base`` with its sessions' search_path set to ``schema``."""
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def _pg_schema(base: str) -> Iterator[str]:
    """A URL of ``base`` whose search_path is a fresh, empty schema, dropped at the end."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine(base)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield _schema_url(base, schema)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def _admin_engine(base: str) -> sa.Engine:
    return sa.create_engine(base)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh, empty schema."""
    with _pg_schema(_pg_base_url()) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'campaigns.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request) -> str:
    """The same test on a SQLite file and on PostgreSQL (a migrated schema when the test wants
    ``migrated_url``: the same store, see there)."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    if "migrated_url" in request.fixturenames:
        return request.getfixturevalue("_pg_migrated_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A SQLite store migrated once per run (opening a fresh file runs every migration)."""
    from campaign_sdk import CampaignClient

    path = tmp_path_factory.mktemp("migrated") / "campaigns.db"
    CampaignClient(f"sqlite:///{path}").close()
    return path


Statement = tuple[str, Any]


@pytest.fixture(scope="session")
def pg_migration_statements() -> list[Statement]:
    """The statements Alembic runs to migrate an empty PostgreSQL schema to the head, recorded
    once per run; replaying them into another empty schema is checked to give the models' schema
    at the head revision before any test relies on it."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from campaign_sdk.migrations import current_revision, head_revision, upgrade
    from campaign_sdk.models import Base

    statements: list[Statement] = []

    def record(_conn, _cursor, statement, parameters, _context, _executemany) -> None:
        if not statement.lstrip().upper().startswith("SELECT"):  # reads change nothing
            statements.append((statement, parameters))

    base = _pg_base_url()
    with _pg_schema(base) as url:
        engine = sa.create_engine(url)
        sa.event.listen(engine, "before_cursor_execute", record)
        upgrade(engine)
        engine.dispose()
    with _pg_schema(base) as url:
        engine = _replay(url, statements)
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
        revision = current_revision(engine)
        engine.dispose()
    assert diff == [] and revision == head_revision(), f"replayed migrations differ: {diff} at {revision}"
    return statements


def _replay(url: str, statements: list[Statement]) -> sa.Engine:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for statement, parameters in statements:
            connection.exec_driver_sql(statement, parameters or ())
    return engine


# What makes two schemas alike: every relation (table, index, sequence, view) with its kind,
# columns, defaults, constraints, indexes and triggers, and every function, in one digest.
_STRUCTURE = """
SELECT md5(string_agg(item, ' ; ' ORDER BY item)) FROM (
    SELECT concat_ws(' ', 'rel', c.relname, c.relkind, c.relpersistence) AS item
      FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace
    UNION ALL
    SELECT concat_ws(' ', 'col', c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attnum,
                     pg_get_expr(d.adbin, d.adrelid))
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE c.relnamespace = current_schema()::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT concat_ws(' ', 'con', conrelid::regclass, conname, pg_get_constraintdef(oid))
      FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
    UNION ALL
    SELECT concat_ws(' ', 'idx', indexdef) FROM pg_indexes WHERE schemaname = current_schema()
    UNION ALL
    SELECT concat_ws(' ', 'trg', tgrelid::regclass, pg_get_triggerdef(oid)) FROM pg_trigger
     WHERE NOT tgisinternal AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = current_schema()::regnamespace)
    UNION ALL
    SELECT concat_ws(' ', 'fn', p.oid::regprocedure, md5(p.prosrc)) FROM pg_proc p
     WHERE p.pronamespace = current_schema()::regnamespace
    UNION ALL
    SELECT concat_ws(' ', 'seq', sequencename, data_type, start_value, increment_by, min_value, max_value, cycle)
      FROM pg_sequences WHERE schemaname = current_schema()
) AS structure
"""


class _MigratedSchemas:
    """The migrated PostgreSQL schemas of one test process, each handed to one test at a time.

    A new schema gets the recorded migration statements. When its test is done, a schema whose
    structure (:data:`_STRUCTURE`) and migration-written rows (the revision row) are what the
    migration left is emptied of every other row and its sequences restarted, which gives a
    schema indistinguishable from a new one, and kept for the next test; any other schema (its
    test changed the schema itself, or the reset failed) is dropped, as every schema was before
    (the next test gets a new one). Replaying the migration into a new schema and dropping it
    cost PostgreSQL some 0.3 s per test; emptying it a few milliseconds."""

    def __init__(self, base: str, statements: list[Statement]) -> None:
        self.base = base
        self.statements = statements
        self.admin = _admin_engine(base)
        self.free: list[str] = []
        self.structure: str | None = None
        self.rows: dict[str, list[tuple[Any, ...]]] = {}

    def take(self) -> tuple[str, str]:
        """A migrated schema and its URL."""
        if self.free:
            schema = self.free.pop()
        else:
            schema = f"t_{uuid.uuid4().hex[:12]}"
            with self.admin.begin() as connection:
                connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
            try:
                _replay(_schema_url(self.base, schema), self.statements).dispose()
                if self.structure is None:
                    with self.admin.begin() as connection:
                        connection.exec_driver_sql(f"SET LOCAL search_path TO {schema}")
                        self.structure, self.rows = self._state(connection)
            except BaseException:
                with self.admin.begin() as connection:
                    connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
                raise
        return schema, _schema_url(self.base, schema)

    def give_back(self, schema: str) -> None:
        """Keep ``schema`` for the next test, emptied, if its structure is unchanged; else drop it."""
        try:
            with self.admin.begin() as connection:
                connection.exec_driver_sql(f"SET LOCAL search_path TO {schema}")
                connection.exec_driver_sql("SET LOCAL lock_timeout = '5s'")  # a test left a transaction open
                structure, rows = self._state(connection)
                if structure != self.structure or any(rows.get(name) != kept for name, kept in self.rows.items()):
                    raise LookupError(schema)
                from campaign_sdk.models import Base

                for table in reversed(Base.metadata.sorted_tables):  # children before their parents
                    if table.name not in self.rows:
                        connection.exec_driver_sql(f'DELETE FROM "{table.name}"')
                if self._state(connection, structure=False)[1] != self.rows:  # rows in a table the models lack
                    raise LookupError(schema)
                connection.exec_driver_sql(
                    "SELECT setval(quote_ident(sequencename)::regclass, start_value, false)"
                    " FROM pg_sequences WHERE schemaname = current_schema()"
                )
        except (LookupError, sa.exc.DBAPIError):
            with self.admin.begin() as connection:
                connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        else:
            self.free.append(schema)

    def _state(self, connection: sa.Connection, *, structure: bool = True) -> tuple[str | None, dict[str, list]]:
        """The schema's structure digest, and the rows of every table that has any."""
        digest = connection.exec_driver_sql(_STRUCTURE).scalar() if structure else None
        tables = connection.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        ).scalars().all()
        counts = connection.exec_driver_sql(
            " UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in tables) or "SELECT '', 0 WHERE false"
        ).all()
        rows = {
            name: sorted(map(tuple, connection.exec_driver_sql(f'SELECT * FROM "{name}"').all()), key=repr)
            for name, count in counts if count
        }
        return digest, rows

    def close(self) -> None:
        with self.admin.begin() as connection:
            for schema in self.free:
                connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        self.admin.dispose()


@pytest.fixture(scope="session")
def _pg_migrated_schemas(pg_migration_statements) -> Iterator[_MigratedSchemas]:
    schemas = _MigratedSchemas(_pg_base_url(), pg_migration_statements)
    yield schemas
    schemas.close()


@pytest.fixture
def _pg_migrated_url(_pg_migrated_schemas: _MigratedSchemas) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a schema at the head revision with no rows of its own."""
    schema, url = _pg_migrated_schemas.take()
    yield url
    _pg_migrated_schemas.give_back(schema)


@pytest.fixture
def migrated_url(request, store_url) -> str:
    """``store_url`` for a client, already at the head revision: on SQLite the file starts as a
    copy of ``migrated_sqlite``; on PostgreSQL ``store_url`` is a migrated schema already (see
    :class:`_MigratedSchemas`: the same freshly migrated store, without running every migration
    again for each test)."""
    if store_url.startswith("sqlite:///"):
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), store_url.removeprefix("sqlite:///"))
    return store_url


@pytest.fixture
def client(migrated_url) -> Iterator[CampaignClient]:
    from campaign_sdk import CampaignClient

    with CampaignClient(migrated_url) as client:
        yield client


@pytest.fixture
def twilio_server() -> Iterator[TwilioTestServer]:
    """A local Twilio-compatible HTTP server on 127.0.0.1 that records every request."""
    from campaign_sdk.testing import TwilioTestServer

    with TwilioTestServer() as server:
        yield server


@pytest.fixture
def gateway(twilio_server: TwilioTestServer) -> TwilioGateway:
    """A TwilioGateway whose real twilio-python client talks HTTP to ``twilio_server``."""
    from campaign_sdk.gateways import TwilioGateway

    return TwilioGateway(twilio_server.twilio_client(), messaging_service_sid=SERVICE_SID, rate=None)
