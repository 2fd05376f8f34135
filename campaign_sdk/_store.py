"""Opening the system of record: engine setup per dialect and migrations on open."""

from __future__ import annotations

import os
from typing import Any

import sqlalchemy as sa

from campaign_sdk._exceptions import InvalidArgumentError
from campaign_sdk.migrations import upgrade

DEFAULT_URL = "sqlite:///campaigns.db"


def store_url(url: str | os.PathLike[str] | sa.URL | None) -> str | sa.URL:
    """``url`` as SQLAlchemy takes it: a URL as given, a file path (``Path`` or a string
    without ``://``, e.g. ``"campaigns.db"``) as the SQLite file at that path.

    >>> store_url("data/campaigns.db")
    'sqlite:///data/campaigns.db'
    >>> store_url("postgresql+psycopg://user@db/campaigns")
    'postgresql+psycopg://user@db/campaigns'
    """
    if url is None:
        return DEFAULT_URL
    if isinstance(url, sa.URL):
        return url
    text = os.fspath(url)
    if not text.strip():
        raise InvalidArgumentError("the store is an empty string: pass a SQLAlchemy URL "
                         "('sqlite:///campaigns.db', 'postgresql+psycopg://...'), a file path, or None")
    if isinstance(url, os.PathLike) or "://" not in text:
        if text.startswith(("sqlite:", "postgresql:", "postgresql+")):  # e.g. 'sqlite:/x.db': a mistyped URL
            raise InvalidArgumentError(f"{text!r} is neither a URL nor a file path: a SQLAlchemy URL has '://' "
                             "(sqlite:///relative.db, sqlite:////absolute.db, postgresql+psycopg://...)")
        return "sqlite:///" + text
    return text


def open_engine(url: str | os.PathLike[str] | sa.URL | None = None, *, echo: bool = False) -> sa.Engine:
    """An engine for ``url`` (default: ``./campaigns.db``; a file path is a SQLite file), brought
    up to the latest schema.

    SQLite gets WAL (two notebooks can share a file), foreign keys and a busy timeout.
    """
    engine = sa.create_engine(store_url(url), echo=echo)
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
