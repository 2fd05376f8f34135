"""Alembic migrations shipped with the package; applied by :func:`upgrade` on every client open."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

_HERE = Path(__file__).resolve().parent
# Alembic's ``context`` and ``op`` are module-level proxies: two threads migrating at once (even
# two different databases) see each other's configuration (KeyError: 'config' / 'script').
_ALEMBIC = threading.Lock()
_PG_LOCK_KEY = 0x63616D70  # "camp": the advisory lock that makes PostgreSQL openers migrate in turn
# What migrating a brand-new (empty) database to the head wrote, per kind of database: the SQL and
# parameters the migrations sent, in order, reads left out (see _new_store_sql).
_Statement = tuple[str, Any]
_NEW_STORE_SQL: dict[tuple[object, ...], list[_Statement]] = {}
_READ = re.compile(r"\s*(SELECT\b|PRAGMA\s+[\w.]+\s*(\(|$))", re.IGNORECASE)


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
    or processes, migrate it once, one after the other.

    A brand-new database (no tables) is migrated to the head once per process and kind of
    database; the next one gets the SQL that migration wrote, replayed in the same transaction
    under the same lock (see :func:`_new_store_sql`), which makes the same schema without loading
    and running every migration again (a test suite opens hundreds of new stores)."""
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
        key = _new_store_key(connection) if revision == "head" else None
        if key is None:
            command.upgrade(alembic_config(connection), revision)
        elif (statements := _NEW_STORE_SQL.get(key)) is not None:
            for statement, parameters in statements:
                connection.exec_driver_sql(statement, parameters)
        else:
            _NEW_STORE_SQL[key] = _new_store_sql(
                connection, lambda: command.upgrade(alembic_config(connection), "head")
            )


def _new_store_key(connection: sa.Connection) -> tuple[object, ...] | None:
    """What the SQL of migrating this database from nothing depends on (the dialect, its driver,
    the server's version, the head revision), or None when it may not be replayed: the database
    has tables (the migrations may read and keep them) or names are translated per connection."""
    if connection.get_execution_options().get("schema_translate_map") or sa.inspect(connection).get_table_names():
        return None
    dialect = connection.dialect
    return dialect.name, dialect.driver, dialect.server_version_info, head_revision()


def _new_store_sql(connection: sa.Connection, migrate: Callable[[], None]) -> list[_Statement]:
    """Run ``migrate`` on ``connection`` and return every statement it sent with its parameters,
    except reads (SELECT, and PRAGMA queries on SQLite): on an empty database the migrations read
    only what they wrote themselves, so sending the same statements to another empty database of
    the same kind makes the same schema, rows and triggers, including the revision row. Nothing is
    returned (the exception propagates) if the migration fails."""
    statements: list[_Statement] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if not _READ.match(statement):
            statements.append((statement, parameters))

    sa.event.listen(connection, "before_cursor_execute", record)
    try:
        migrate()
    finally:
        sa.event.remove(connection, "before_cursor_execute", record)
    return statements


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
