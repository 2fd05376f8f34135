"""Reading the store (SQLite or PostgreSQL) for the DuckDB mirror: what is copied, how a block of
rows is fingerprinted, and how rows travel (PostgreSQL: Arrow through ADBC; SQLite: ``sqlite3``
in this process, and ADBC in a helper process for bulk reads; SQLAlchemy as the fallback).

Every mirrored row carries a version ``_v`` computed *by the store*: PostgreSQL's ``xmin`` (a new
one for every insert or update), on SQLite a checksum of the row's values. Rows are grouped in
blocks of ids (``id >> BLOCK_BITS``); a block's fingerprint is ``(count, sum(id), sum(_v))``.
The mirror compares the store's fingerprints with the same sums over its own rows and re-reads
only the blocks that differ (inserts, updates, deletes and re-used ids all change them).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from campaign_sdk.analytics._export import export

BLOCK_BITS = 16
BULK_ROWS = 100_000  # from this many rows to read, a SQLite file is read by the ADBC helper
CHUNK_ROWS = 1 << 18  # ids per query when a whole table is read
_MOD = 2147483647  # 2^31 - 1: SQLite row checksums stay far from int64 overflow when summed
_DUCK_TYPES = {"int": "BIGINT", "text": "VARCHAR", "time": "TIMESTAMP", "json": "VARCHAR", "real": "DOUBLE"}
_SENTINEL = {"int": "0", "text": "'x'", "time": "'2000-01-01 00:00:00.000000'", "json": "'{}'", "real": "0.5"}


@dataclass(frozen=True)
class Table:
    """A mirrored table: its view name, the store table and ``(column, kind)`` pairs.

    ``checked`` lists the columns whose *values* the SQLite checksum covers; for the others it
    covers only whether they are NULL. ``reload`` tables are small and re-read whole every time.
    """

    name: str
    source: str
    columns: tuple[tuple[str, str], ...]
    checked: tuple[str, ...] = ()
    reload: bool = False

    @property
    def ddl(self) -> str:
        cols = ", ".join(f'"{c}" {_DUCK_TYPES[k]}' for c, k in self.columns)
        return f"{cols}, _v BIGINT"

    def duck_select(self) -> str:
        """Casts that turn a fetched chunk (``chunk``) into the mirror's column types."""
        cols = ", ".join(f'CAST("{c}" AS {_DUCK_TYPES[k]})' for c, k in self.columns)
        return f"SELECT {cols}, CAST(_v AS BIGINT) FROM chunk WHERE id >= 0"


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "campaigns", "campaigns",
            (("id", "int"), ("name", "text"), ("campaign_type", "text"), ("status", "text"),
             ("approval_state", "text"), ("enabled", "time"), ("created_at", "time")),
            reload=True,
        ),
        Table(
            "users", "conversation_users",
            (("id", "int"), ("phone_number", "text"), ("opted_out_at", "time")),
            checked=("id", "phone_number", "opted_out_at"),
        ),
        # every write to a lead (the SDK's upserts and removals) sets updated_at
        Table(
            "leads", "campaign_leads",
            (("id", "int"), ("campaign_id", "int"), ("user_id", "int"), ("custom_variables", "json"),
             ("removed_at", "time"), ("created_at", "time"), ("updated_at", "time"), ("variant", "text")),
            checked=("id", "campaign_id", "user_id", "custom_variables", "updated_at", "variant"),
        ),
        # status_at changes with every status change; the other times are set once
        Table(
            "messages", "outbound_messages",
            (("id", "int"), ("sid", "text"), ("campaign_id", "int"), ("lead_id", "int"),
             ("user_id", "int"), ("status", "text"), ("error_code", "int"), ("created_at", "time"),
             ("status_at", "time"), ("sent_at", "time"), ("delivered_at", "time"),
             ("read_at", "time"), ("failed_at", "time")),
            checked=("id", "sid", "campaign_id", "lead_id", "user_id", "status", "error_code",
                     "status_at"),
        ),
        # append-only
        Table(
            "replies", "inbound_messages",
            (("id", "int"), ("sid", "text"), ("user_id", "int"), ("body", "text"), ("kind", "text"),
             ("received_at", "time")),
            checked=("id", "sid", "user_id", "body", "kind", "received_at"),
        ),
        Table(
            "conversions", "conversions",
            (("id", "int"), ("external_id", "text"), ("user_id", "int"), ("occurred_at", "time"),
             ("value", "real")),
            checked=("id", "external_id", "user_id", "occurred_at", "value"),
        ),
    )
}


def _sqlite_term(column: str, kind: str, checked: bool) -> str:
    """One column's share of a row checksum: its value when ``checked`` (texts by length and
    first character), else whether it is NULL. Every term stays below about 2e15."""
    if not checked:
        return f"({column} IS NULL)"
    if kind == "int":
        term = column
    elif kind == "real":
        term = f"CAST({column} * 1000 AS INTEGER)"
    elif kind == "time":
        # whole seconds only: SQLite's date functions round fractions differently across
        # versions (3.40 to the millisecond), and the ADBC helper carries a newer SQLite
        term = f"(unixepoch(substr({column}, 1, 19)) * 1000003 + CAST(substr({column}, 21) AS INTEGER))"
    else:
        term = f"(length({column}) * 1009 + unicode({column}))"
    return f"coalesce({term}, -7)"  # NULL, and '' (whose first character is NULL)


def sqlite_version_sql(table: Table) -> str:
    """The per-row checksum SQLite computes for ``table``: deterministic, below 2^43, so that
    a block's sum cannot overflow. Weighting by the id makes values swapped between rows count."""
    terms = " + ".join(
        f"{_sqlite_term(c, k, c in table.checked)} * {2 * i + 3}" for i, (c, k) in enumerate(table.columns)
    )
    return f"(({terms}) % {_MOD}) * (id % 4093 + 1)"


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
                return _arrow(list(result.keys()), result.fetchall())
        connection = getattr(self._local, "connection", None)
        if connection is None:
            try:
                connection = self._connect()
            except Exception:
                if self.dialect != "postgresql":
                    raise
                # a URL option libpq does not take, say: read through SQLAlchemy from now on
                self._connect, self.parallel = None, 1
                return self.query(sql)
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        if self.dialect == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return cursor.fetch_arrow_table()
        cursor = connection.execute(sql)
        return _arrow([d[0] for d in cursor.description], cursor.fetchall())

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
        return "xmin::text::bigint" if self.dialect == "postgresql" else sqlite_version_sql(table)

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

    def select_sql(self, table: Table, where: str = "") -> str:
        """The query that reads ``table``'s rows (plus ``_v``) in the mirror's shape."""
        version = self.version_sql(table)
        if self.dialect == "postgresql":
            cols = ", ".join(_pg_column(c, k) for c, k in table.columns)
            return f"SELECT {cols}, {version} AS _v FROM {table.source} {where}"
        cols = ", ".join(table_column for table_column, _ in table.columns)
        # SQLite is dynamically typed and ADBC infers each column's type from the first rows:
        # a leading row of typed sentinels (id -1, dropped on load) fixes every column's type.
        sentinel = ", ".join(
            f"{-1 if c == 'id' else _SENTINEL[k]} AS {c}" for c, k in table.columns
        )
        return f"SELECT {sentinel}, 0 AS _v UNION ALL SELECT {cols}, {version} FROM {table.source} {where}"

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


def _arrow(names: list[str], rows: list[Any]) -> pa.Table:
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
    uri = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    return lambda: driver.connect(uri, autocommit=True)


def sqlite_path(engine: sa.Engine) -> str | None:
    """The absolute path of a file SQLite store, else None."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database or ""
    if database in ("", ":memory:") or database.startswith("file:") or "mode=memory" in str(engine.url):
        return None
    return os.path.abspath(database)
