"""Opening the system of record: engine setup per dialect and migrations on open."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from campaign_sdk.migrations import upgrade

DEFAULT_URL = "sqlite:///campaigns.db"


def open_engine(url: str | sa.URL | None = None, *, echo: bool = False) -> sa.Engine:
    """An engine for ``url`` (default: ``./campaigns.db``), brought up to the latest schema.

    SQLite gets WAL (two notebooks can share a file), foreign keys and a busy timeout.
    """
    engine = sa.create_engine(url or DEFAULT_URL, echo=echo)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    upgrade(engine)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def safe_url(engine: sa.Engine) -> str:
    """The engine's URL with any password masked (for reprs and messages)."""
    return engine.url.render_as_string(hide_password=True)
