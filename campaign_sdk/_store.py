"""Opening the system of record: engine setup per dialect and migrations on open."""

from __future__ import annotations

import functools
import os
import weakref
from collections.abc import Callable, Iterator, Sequence
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


def engine_of(sessions: Any) -> sa.Engine:
    """The engine a ``sessionmaker`` binds its sessions to (the client's store)."""
    engine = sessions.kw["bind"]
    assert isinstance(engine, sa.Engine), "the client's sessionmaker is bound to its engine"
    return engine


def safe_url(engine: sa.Engine) -> str:
    """The engine's URL with any password masked (for reprs and messages)."""
    return engine.url.render_as_string(hide_password=True)


# -- writes straight through the DBAPI cursor ------------------------------------------------
# the DBAPI placeholder of each paramstyle the raw writes use (others fall back to the Core)
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}
_RAW: weakref.WeakKeyDictionary[sa.Dialect, dict[str, RawTable]] = weakref.WeakKeyDictionary()


def raw_table(session_or_connection: Any, table: sa.Table) -> RawTable | None:
    """``table`` for raw writes on the session's (or connection's) dialect, or None when its
    DBAPI's paramstyle is not one the raw writes know (then write through the Core)."""
    dialect: sa.Dialect = session_or_connection.get_bind().dialect if hasattr(
        session_or_connection, "get_bind") else session_or_connection.dialect
    if dialect.paramstyle not in _PLACEHOLDERS:
        return None
    tables = _RAW.setdefault(dialect, {})
    if (found := tables.get(table.name)) is None:
        found = tables[table.name] = RawTable(table, dialect)
    return found


class RawTable:
    """A table's rows as its DBAPI takes them: each value converted by its column's own bind
    processor (the one the Core applies: UTC datetimes as SQLite stores them, JSON as the
    engine serializes it, enums as their values), statements written once, executed with the
    driver's ``executemany`` or as one INSERT of many rows.

    The send's bookkeeping writes go through here: the Core's processing of an executemany's
    parameters (a dict per row, each bind looked up and converted) costs several times what
    the database itself does with the rows."""

    def __init__(self, table: sa.Table, dialect: sa.Dialect) -> None:
        self.table = table
        self.dialect = dialect
        self.mark = _PLACEHOLDERS[str(dialect.paramstyle)]
        quote = dialect.identifier_preparer.quote
        self.name = dialect.identifier_preparer.format_table(table)
        self._quote = quote
        self._processors: dict[str, Callable[[Any], Any]] = {}
        self._sql: dict[Any, str] = {}

    def bind(self, column: str) -> Callable[[Any], Any]:
        """The function that turns a value of ``column`` into its DBAPI parameter."""
        if (found := self._processors.get(column)) is None:
            type_ = self.table.c[column].type
            processor = type_.dialect_impl(self.dialect).bind_processor(self.dialect)
            found = self._processors[column] = processor if processor is not None else _same
        return found

    def cached(self, key: Any, make: Callable[[], str]) -> str:
        """The statement ``make`` writes for ``key``, written once."""
        if (sql := self._sql.get(key)) is None:
            sql = self._sql[key] = make()
        return sql

    def columns(self, names: Sequence[str]) -> str:
        return ", ".join(self._quote(n) for n in names)

    def values(self, width: int, rows: int) -> str:
        """``VALUES (?, ?), (?, ?)``: ``rows`` rows of ``width`` placeholders."""
        one = "(" + ", ".join([self.mark] * width) + ")"
        return "VALUES " + ", ".join([one] * rows)

    def assignments(self, names: Sequence[str]) -> str:
        return ", ".join(f"{self._quote(n)} = {self.mark}" for n in names)

    @property
    def most_parameters(self) -> int:
        """Parameters one statement may carry (SQLite's historic limit: 999)."""
        return 999 if self.dialect.name == "sqlite" else 30_000

    def many_rows(self, connection: sa.Connection, key: Any, rows: Sequence[tuple[Any, ...]],
                  sql_for: Callable[[int], str]) -> Iterator[sa.CursorResult[Any]]:
        """Run ``sql_for(n)`` (a statement of ``n`` rows, written once per ``key`` and ``n``) on
        ``rows`` of DBAPI parameters, as many rows per statement as :attr:`most_parameters`
        allows; yields each statement's result in turn (read it before taking the next)."""
        per_statement = max(1, self.most_parameters // len(rows[0])) if rows else 1
        for begin in range(0, len(rows), per_statement):
            part = rows[begin:begin + per_statement]
            sql = self.cached((key, len(part)), functools.partial(sql_for, len(part)))
            yield connection.exec_driver_sql(sql, tuple(value for row in part for value in row))


def _same(value: Any) -> Any:
    return value
