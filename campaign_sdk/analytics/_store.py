"""Reading the store (SQLite or PostgreSQL) for the DuckDB mirror: what is copied, how changes
are found, and how rows travel (PostgreSQL: Arrow through ADBC; SQLite: ``sqlite3`` in this
process, and ADBC in a helper process for bulk reads; SQLAlchemy as the fallback).

What is mirrored comes from the SQLAlchemy metadata (``campaign_sdk.models``): every column of
a mirrored table, except the ones :data:`EXCLUDED` names with the reason. A column added to a
model reaches the mirror (and ``client.sql``) by itself.

Every mirrored row carries a version ``_v`` kept *by the database*: on SQLite the
``row_version`` column that triggers stamp on every UPDATE (migration 0007; deletes are logged
in ``row_deletions``), on PostgreSQL the row's ``xmin``. SQLite stores are refreshed from those
alone (ids above the last seen, versions above the last seen, deletions after the last seen);
PostgreSQL compares block fingerprints ``(count, sum(id), sum(_v))`` over ``id >> BLOCK_BITS``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from campaign_sdk.analytics._export import export
from campaign_sdk.models import Base

BLOCK_BITS = 16
BULK_ROWS = 100_000  # from this many rows to read, a SQLite file is read by the ADBC helper
CHUNK_ROWS = 1 << 18  # ids per query when a whole table is read
_DUCK_TYPES = {"int": "BIGINT", "text": "VARCHAR", "time": "TIMESTAMP", "json": "VARCHAR", "real": "DOUBLE",
               "bool": "BOOLEAN"}
_SENTINEL = {"int": "0", "text": "'x'", "time": "'2000-01-01 00:00:00.000000'", "json": "'{}'", "real": "0.5",
             "bool": "0"}

# view name -> (store table, re-read whole on every change); the views ``client.sql`` offers
MIRRORED: dict[str, tuple[str, bool]] = {
    "campaigns": ("campaigns", True),  # a handful of rows
    "users": ("conversation_users", False),
    "leads": ("campaign_leads", False),
    "messages": ("outbound_messages", False),
    "replies": ("inbound_messages", False),
    "conversions": ("conversions", False),
}
_BOOKKEEPING = "the mirror's own change tracking"
# store table -> column -> why it is not mirrored (every other column is)
EXCLUDED: dict[str, dict[str, str]] = {
    "campaigns": {"content": "the template itself (campaign.content reads it)",
                  "rejection_reason": "free text from WhatsApp review (campaign.rejection_reason)",
                  "approval_name": "Twilio's approval name, not analysed",
                  "updated_at": "bookkeeping; the table is re-read whole anyway"},
    "conversation_users": {"opt_out_keyword": "the keyword text; opted_out_at carries the state",
                           "created_at": "not analysed", "row_version": _BOOKKEEPING},
    "campaign_leads": {"row_version": _BOOKKEEPING},
    "outbound_messages": {"to_number": "the user's number with a channel prefix (users.phone_number)",
                          "content_variables": "a copy of the lead's variables per message (leads has them)",
                          "content_sid": "send bookkeeping", "error_message": "send bookkeeping",
                          "dedupe_key": "send bookkeeping", "row_version": _BOOKKEEPING},
    "inbound_messages": {"button_payload": "kept in the store; body carries the button's text",
                         "row_version": _BOOKKEEPING},
    "conversions": {"row_version": _BOOKKEEPING},
}
# tables of the store that are not mirrored at all, and why
NOT_MIRRORED = {
    "sync_state": "cursors of resumable jobs",
    "inbox_events": "the webhook inbox (events are mirrored once applied to their tables)",
    "row_deletions": _BOOKKEEPING,
    "campaign_variants": "experiment arms, read by campaign.variants and lift()",
    "global_holdouts": "the users kept out of marketing campaigns, read by the experiments package",
    "deferred_sends": "messages held until due, read and claimed by the send worker (sending._deferred)",
    "store_settings": "settings of the whole store (the client's delivery policy), read by delivery._stored",
}


def _kind(column: sa.Column[Any]) -> str:
    kind = column.type
    if isinstance(kind, sa.TypeDecorator):
        kind = kind.impl if isinstance(kind.impl, sa.types.TypeEngine) else kind.impl()
    if isinstance(kind, sa.Boolean):
        return "bool"
    if isinstance(kind, sa.Integer):
        return "int"
    if isinstance(kind, (sa.Float, sa.Numeric)):
        return "real"
    if isinstance(kind, sa.DateTime):
        return "time"
    if isinstance(kind, sa.JSON):
        return "json"
    return "text"  # strings, texts, enums (stored as their values)


@dataclass(frozen=True)
class Table:
    """A mirrored table: its view name, the store table and ``(column, kind)`` pairs.
    ``reload`` tables are small and re-read whole every time anything changed."""

    name: str
    source: str
    columns: tuple[tuple[str, str], ...]
    reload: bool = False

    @property
    def ddl(self) -> str:
        cols = ", ".join(f'"{c}" {_DUCK_TYPES[k]}' for c, k in self.columns)
        return f"{cols}, _v BIGINT"

    def duck_select(self) -> str:
        """Casts that turn a fetched chunk (``chunk``) into the mirror's column types."""
        cols = ", ".join(f'CAST("{c}" AS {_DUCK_TYPES[k]})' for c, k in self.columns)
        return f"SELECT {cols}, CAST(_v AS BIGINT) FROM chunk WHERE id >= 0"


def tables_from(metadata: sa.MetaData) -> dict[str, Table]:
    """The mirrored tables as the models declare them, minus :data:`EXCLUDED` columns."""
    tables = {}
    for name, (source, reload) in MIRRORED.items():
        skip = EXCLUDED.get(source, {})
        columns = tuple((c.name, _kind(c)) for c in metadata.tables[source].columns if c.name not in skip)
        tables[name] = Table(name, source, columns, reload=reload)
    return tables


TABLES: dict[str, Table] = tables_from(Base.metadata)


@dataclass(frozen=True)
class Mark:
    """How far the mirror has read a SQLite table: the highest id, row version and deletion."""

    id: int = 0
    version: int = 0
    seq: int = 0


class Source:
    """Reads one store; ``parallel`` worker threads each hold their own connection.

    SQLite files are read in this process with Python's ``sqlite3`` (the library SQLAlchemy
    uses), and in bulk by a helper process with ADBC (``_export``): a second SQLite library in
    one process would release the first one's POSIX locks when it closes a file, which can
    corrupt a live database (sqlite.org/howtocorrupt.html, 2.2.1). PostgreSQL is read with ADBC.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        if self.dialect not in ("sqlite", "postgresql"):
            raise NotImplementedError(
                f"analytics supports SQLite and PostgreSQL stores, not {self.dialect!r}"
            )
        self.path = sqlite_path(engine)
        self._connect = _pg_factory(engine) if self.dialect == "postgresql" else _sqlite_factory(self.path)
        self.parallel = max(1, min(4, os.cpu_count() or 1)) if self._connect else 1
        self._local = threading.local()
        self._connections: list[Any] = []
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    # -- connections ----------------------------------------------------------------------
    def query(self, sql: str) -> pa.Table:
        """Run ``sql`` on this thread's connection and return an Arrow table."""
        if self._connect is None:  # in-memory SQLite: only the engine's own connection sees it
            with self.engine.connect() as connection:
                result = connection.exec_driver_sql(sql)
                return _arrow(list(result.keys()), list(result.fetchall()))
        try:
            connection = self._connection()
        except Exception:
            if self.dialect != "postgresql":
                raise
            # a URL option libpq does not take, say: read through SQLAlchemy from now on
            self._connect, self.parallel = None, 1
            return self.query(sql)
        if self.dialect == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return cursor.fetch_arrow_table()
        cursor = connection.execute(sql)
        return _arrow([d[0] for d in cursor.description], cursor.fetchall())

    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            assert self._connect is not None
            connection = self._local.connection = self._connect()
            with self._lock:
                self._connections.append(connection)
        return connection

    def map(self, function: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        """``function`` over ``items``, on the worker threads when there are several."""
        items = list(items)
        if self.parallel == 1 or len(items) < 2:
            return [function(item) for item in items]
        if self._pool is None:
            # long-lived workers, so that each keeps its connection from call to call
            self._pool = ThreadPoolExecutor(self.parallel, thread_name_prefix="campaign-sdk-mirror")
        return list(self._pool.map(function, items))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            try:
                connection.close()
            except Exception:  # a broken connection is being dropped anyway
                pass

    # -- change tokens --------------------------------------------------------------------
    def change_token(self) -> str | None:
        """A value that stays the same only while no transaction commits (None: not known).

        PostgreSQL: the current snapshot (next transaction id and the ones in flight).
        SQLite is watched by the mirror itself (``PRAGMA data_version``)."""
        if self.dialect != "postgresql":
            return None
        try:
            return str(self.query("SELECT pg_current_snapshot()::text AS s").column(0)[0].as_py())
        except Exception:  # PostgreSQL before 13: no token, every call compares fingerprints
            return None

    # -- fingerprints and rows ------------------------------------------------------------
    def version_sql(self, table: Table) -> str:
        if self.dialect == "postgresql":
            return "xmin::text::bigint"
        return "0" if table.reload else "coalesce(row_version, 0)"

    # -- SQLite: changes since a mark ---------------------------------------------------
    def mark(self, table: Table, query: Callable[[str], pa.Table] | None = None) -> tuple[Mark, int]:
        """Where ``table`` stands now, and how many rows it has."""
        # each its own subquery: max(id) then reads the id index's last entry and count(*) the
        # smallest index, where one scan for both would read every row of the table
        row = (query or self.query)(
            f"SELECT (SELECT coalesce(max(id), 0) FROM {table.source}) AS i, (SELECT count(*) FROM"
            f" {table.source}) AS n, (SELECT coalesce(max(row_version), 0) FROM {table.source} WHERE"
            f" row_version IS NOT NULL) AS v, (SELECT coalesce(max(seq), 0) FROM row_deletions) AS s"
        ).to_pylist()[0]
        return Mark(row["i"], row["v"], row["s"]), row["n"]

    def changes(self, table: Table, since: Mark) -> tuple[Mark, int, list[int], pa.Table] | None:
        """In one snapshot of a SQLite store: the mark now, the row count, the ids deleted since
        ``since``, and the rows inserted above ``since.id`` or updated after ``since.version``.
        None when more than ``BULK_ROWS`` rows changed (a full read is faster then)."""
        with self.snapshot() as query:
            now, count = self.mark(table, query)
            changed = (f"WHERE id > {since.id} UNION ALL SELECT * FROM ({self.select_sql(table, '', bare=True)}"
                       f" WHERE row_version > {since.version} AND id <= {since.id})")
            size = query(f"SELECT (SELECT count(*) FROM {table.source} WHERE id > {since.id}) + (SELECT count(*)"
                         f" FROM {table.source} WHERE row_version > {since.version} AND id <= {since.id}) AS n"
                         ).to_pylist()[0]["n"]
            if size > BULK_ROWS:
                return None
            gone = query(f"SELECT row_id FROM row_deletions WHERE table_name = '{table.source}'"
                         f" AND seq > {since.seq}").column(0).to_pylist()
            rows = query(self.select_sql(table, changed))
        return now, count, [int(i) for i in gone], rows

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Callable[[str], pa.Table]]:
        """Queries that all see one committed state of a SQLite store (one read transaction)."""
        if self._connect is None:
            with self.engine.connect() as connection:
                def run(sql: str) -> pa.Table:
                    result = connection.exec_driver_sql(sql)
                    return _arrow(list(result.keys()), result.fetchall())

                yield run
            return
        connection = self._connection()
        connection.execute("BEGIN")
        try:
            def run(sql: str) -> pa.Table:
                cursor = connection.execute(sql)
                return _arrow([d[0] for d in cursor.description], cursor.fetchall())

            yield run
        finally:
            connection.execute("COMMIT")

    def fingerprints(self, table: Table) -> dict[int, tuple[int, int, int]]:
        """``{block: (count, sum(id), sum(_v))}`` of the store's rows now."""
        version = self.version_sql(table)
        if self.dialect == "postgresql":
            frame = self.query(
                f"SELECT id >> {BLOCK_BITS} AS b, count(*) AS n, sum(id)::bigint AS s,"
                f" sum({version})::bigint AS v FROM {table.source} GROUP BY 1"
            )
            return {r["b"]: (r["n"], r["s"], r["v"]) for r in frame.to_pylist()}
        bounds = self.query(f"SELECT min(id) AS lo, max(id) AS hi FROM {table.source}").to_pylist()[0]
        if bounds["lo"] is None:
            return {}
        blocks = range(bounds["lo"] >> BLOCK_BITS, (bounds["hi"] >> BLOCK_BITS) + 1)

        def one(block: int) -> tuple[int, tuple[int, int, int]]:
            # one query per block: a rowid range scan, where GROUP BY would sort
            lo, hi = block << BLOCK_BITS, (block + 1) << BLOCK_BITS
            row = self.query(
                f"SELECT count(*) AS n, coalesce(sum(id), 0) AS s, coalesce(sum({version}), 0) AS v"
                f" FROM {table.source} WHERE id >= {lo} AND id < {hi}"
            ).to_pylist()[0]
            return block, (row["n"], row["s"], row["v"])

        return {b: fp for b, fp in self.map(one, blocks) if fp[0]}

    def select_sql(self, table: Table, where: str = "", *, bare: bool = False) -> str:
        """The query that reads ``table``'s rows (plus ``_v``) in the mirror's shape (``bare``:
        without the leading row of typed sentinels)."""
        version = self.version_sql(table)
        if self.dialect == "postgresql":
            cols = ", ".join(_pg_column(c, k) for c, k in table.columns)
            return f"SELECT {cols}, {version} AS _v FROM {table.source} {where}"
        cols = ", ".join(table_column for table_column, _ in table.columns)
        if bare:
            return f"SELECT {cols}, {version} AS _v FROM {table.source} {where}"
        # SQLite is dynamically typed and ADBC infers each column's type from the first rows:
        # a leading row of typed sentinels (id -1, dropped on load) fixes every column's type.
        sentinel = ", ".join(
            f"{-1 if c == 'id' else _SENTINEL[k]} AS {c}" for c, k in table.columns
        )
        return f"SELECT {sentinel}, 0 AS _v UNION ALL SELECT {cols}, {version} AS _v FROM {table.source} {where}"

    def id_ranges(self, table: Table) -> tuple[int, list[tuple[int, int] | None]]:
        """About how many rows ``table`` has, and id ranges that split it into chunks of at
        most ``CHUNK_ROWS`` ids (one open range for a small table)."""
        bounds = self.query(
            f"SELECT count(*) AS n, min(id) AS lo, max(id) AS hi FROM {table.source}"
        ).to_pylist()[0]
        span = 0 if not bounds["n"] else bounds["hi"] - bounds["lo"]
        if span < CHUNK_ROWS or span > 64 * max(bounds["n"], CHUNK_ROWS):  # small, or very sparse ids
            return bounds["n"] or 0, [None]
        starts = range(bounds["lo"], bounds["hi"] + 1, CHUNK_ROWS)
        return bounds["n"], [(lo, lo + CHUNK_ROWS) for lo in starts]

    def fetch(self, jobs: list[tuple[Table, tuple[int, int] | None]], *, rows: int) -> list[pa.Table]:
        """Rows of each job's table with ids in its [lo, hi) range (None: every row); ``rows``
        (about how many in all) picks the bulk reader for a SQLite file."""
        queries = [
            self.select_sql(table, "" if r is None else f"WHERE id >= {r[0]} AND id < {r[1]}")
            for table, r in jobs
        ]
        if not queries:
            return []
        if self.path is not None and rows >= BULK_ROWS:
            tables = export(self.path, queries, parallel=self.parallel)
            if tables is not None:
                return tables
        return self.map(self.query, queries)


def _arrow(names: list[str], rows: Sequence[Any]) -> pa.Table:
    columns = list(zip(*rows)) if rows else [() for _ in names]
    return pa.table({name: pa.array(list(values)) for name, values in zip(names, columns)})


def _pg_column(column: str, kind: str) -> str:
    if kind == "time":
        return f"({column} AT TIME ZONE 'UTC') AS {column}"
    if kind in ("json", "text"):
        return f"{column}::text AS {column}"
    return column


def _sqlite_factory(path: str | None) -> Callable[[], Any] | None:
    """Read-only ``sqlite3`` connections to a SQLite file (None for an in-memory store)."""
    if path is None:
        return None

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        connection.execute("PRAGMA busy_timeout = 30000")
        return connection

    return connect


def _pg_factory(engine: sa.Engine) -> Callable[[], Any] | None:
    """ADBC connections to the PostgreSQL store (None without the driver: SQLAlchemy reads)."""
    try:
        import adbc_driver_postgresql.dbapi as driver
    except ImportError:
        return None
    uri = libpq_uri(engine.url)
    return lambda: driver.connect(uri, autocommit=True)


def libpq_uri(url: sa.URL) -> str:
    """``url`` as a libpq connection URI, for ADBC. SQLAlchemy writes a space in a query value
    as ``+``, which libpq keeps as a plus sign (``options=-csearch_path=x -cstatement_timeout=5s``
    would reach the server as one option); libpq decodes ``%20``.

    >>> import sqlalchemy as sa
    >>> libpq_uri(sa.make_url("postgresql+psycopg://u@h/db?options=-ca%3D1%20-cb%3D2&sslmode=disable"))
    'postgresql://u@h/db?options=-ca%3D1%20-cb%3D2&sslmode=disable'
    """
    base = url.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    query = urllib.parse.urlencode(dict(url.query), doseq=True, quote_via=urllib.parse.quote)
    return f"{base}?{query}" if query else base


def sqlite_path(engine: sa.Engine) -> str | None:
    """The absolute path of a file SQLite store, else None."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database or ""
    if database in ("", ":memory:") or database.startswith("file:") or "mode=memory" in str(engine.url):
        return None
    return os.path.abspath(database)
