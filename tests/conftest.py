"""Shared fixtures: every store test runs on a SQLite file and on a real PostgreSQL server.

PostgreSQL tests read the server URL from CAMPAIGN_SDK_TEST_PG_URL (e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test``) and skip, saying so, when it is unset.
Each test gets a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

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


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh, empty schema."""
    base = _pg_base_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    with admin.begin() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    admin.dispose()


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


@pytest.fixture
def migrated_url(request, store_url) -> str:
    """``store_url`` for a client: on SQLite the file starts as a copy of ``migrated_sqlite`` (the
    same freshly migrated store, without running every migration again for each test); on
    PostgreSQL the empty schema, migrated when the client opens it."""
    if store_url.startswith("sqlite:///"):
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), store_url.removeprefix("sqlite:///"))
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
