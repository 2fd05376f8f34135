"""Shared fixtures: every store test runs on a SQLite file and on a real PostgreSQL server.

PostgreSQL tests read the server URL from CAMPAIGN_SDK_TEST_PG_URL (e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test``) and skip, saying so, when it is unset.
Each test gets a schema of its own, dropped afterwards.

A test that wants a migrated store (``migrated_url``, ``client``) gets it without running Alembic
again: SQLite copies a file migrated once per run, PostgreSQL replays into its schema the statements
the migrations ran once per run (checked against the models before any test uses them).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from campaign_sdk import CampaignClient
from campaign_sdk.gateways import TwilioGateway
from campaign_sdk.migrations import current_revision, head_revision, upgrade
from campaign_sdk.models import Base
from campaign_sdk.testing import TwilioTestServer

PG_ENV = "CAMPAIGN_SDK_TEST_PG_URL"
SERVICE_SID = "MG" + "7" * 32


def _pg_base_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    return url


@contextmanager
def _pg_schema(base: str) -> Iterator[str]:
    """A URL of ``base`` whose search_path is a fresh, empty schema, dropped at the end."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


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
    """The same test on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A SQLite store migrated once per run (opening a fresh file runs every migration)."""
    path = tmp_path_factory.mktemp("migrated") / "campaigns.db"
    CampaignClient(f"sqlite:///{path}").close()
    return path


Statement = tuple[str, Any]


@pytest.fixture(scope="session")
def pg_migration_statements() -> list[Statement]:
    """The statements Alembic runs to migrate an empty PostgreSQL schema to the head, recorded
    once per run; replaying them into another empty schema is checked to give the models' schema
    at the head revision before any test relies on it."""
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


@pytest.fixture
def migrated_url(request, store_url) -> str:
    """``store_url`` for a client, already at the head revision: on SQLite the file starts as a
    copy of ``migrated_sqlite``, on PostgreSQL the schema gets the recorded migration statements
    (the same freshly migrated store, without running every migration again for each test)."""
    if store_url.startswith("sqlite:///"):
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), store_url.removeprefix("sqlite:///"))
    else:
        _replay(store_url, request.getfixturevalue("pg_migration_statements")).dispose()
    return store_url


@pytest.fixture
def client(migrated_url) -> Iterator[CampaignClient]:
    with CampaignClient(migrated_url) as client:
        yield client


@pytest.fixture
def twilio_server() -> Iterator[TwilioTestServer]:
    """A local Twilio-compatible HTTP server on 127.0.0.1 that records every request."""
    with TwilioTestServer() as server:
        yield server


@pytest.fixture
def gateway(twilio_server: TwilioTestServer) -> TwilioGateway:
    """A TwilioGateway whose real twilio-python client talks HTTP to ``twilio_server``."""
    return TwilioGateway(twilio_server.twilio_client(), messaging_service_sid=SERVICE_SID, rate=None)
