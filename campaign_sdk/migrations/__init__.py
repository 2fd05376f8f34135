"""Alembic migrations shipped with the package; applied by :func:`upgrade` on every client open."""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

_HERE = Path(__file__).resolve().parent
# Alembic's ``context`` and ``op`` are module-level proxies: two threads migrating at once (even
# two different databases) see each other's configuration (KeyError: 'config' / 'script').
_ALEMBIC = threading.Lock()
_PG_LOCK_KEY = 0x63616D70  # "camp": the advisory lock that makes PostgreSQL openers migrate in turn


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic config pointing at the package's migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the database behind ``engine`` up to ``revision`` (idempotent).

    A database already at the head is only read (its one revision row), without loading the
    migration scripts: that is every open of a client after the first. Otherwise the migration
    runs under the database's write lock (SQLite ``BEGIN IMMEDIATE``, a PostgreSQL advisory lock)
    and the revision is read again inside it, so clients opening a new store at once, from threads
    or processes, migrate it once, one after the other."""
    from alembic.runtime.migration import MigrationContext

    if revision == "head" and current_revision(engine) == head_revision():
        return
    with _ALEMBIC, engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        if revision == "head" and MigrationContext.configure(connection).get_current_revision() == head_revision():
            return
        command.upgrade(alembic_config(connection), revision)


@cache
def head_revision() -> str:
    """The newest revision shipped with the package (read from the scripts once per process)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships its migrations
        raise RuntimeError(f"no Alembic migrations found in {_HERE}")
    return head


def current_revision(engine: sa.Engine) -> str | None:
    """The revision the database is at, or None for a database Alembic never touched."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
