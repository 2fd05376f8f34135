"""A DuckDB mirror of the store, one per engine, kept correct by incremental refresh.

Before every query the mirror makes the tables it reads current:

1. a change token says whether anything at all was committed since the last refresh
   (SQLite: ``PRAGMA data_version`` on a connection the mirror keeps open; PostgreSQL: the
   current snapshot). Unchanged: nothing to read, the query runs at once.
2. otherwise, on SQLite, the rows the database itself marked as changed since the mirror's
   mark (``_store``: higher ids, higher row versions, logged deletions) are read in one
   snapshot; a row count that still differs (a row inserted below the highest id by hand)
   falls back to step 3. On PostgreSQL, and in that fallback, each table's block fingerprints
   are compared with the mirror's own and only the blocks that differ are read again. All of
   it lands in one DuckDB transaction.

The token is taken *before* the store is read, so a commit that races with a refresh is seen
by the next call. A SQLite file store gets its mirror in a DuckDB file beside it
(``<store>.analytics.duckdb``), so a new process starts from the last copy and re-reads only
what changed; when that file cannot be used (read-only folder, another process holds it) the
mirror lives in memory. A file mirror keeps its generations (:meth:`Mirror.versions`) in the
file too, under an identity of its own (:attr:`Mirror.identity`), so that what a layer above
saved beside it for some generations (delivery's plan rows) is known to be current in a later
process while those generations stay the same.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sqlite3
import threading
import uuid
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from campaign_sdk.analytics._store import BLOCK_BITS, TABLES, Mark, Source, Table, sqlite_path

# a mirror file made with other tables or another way of tracking changes is rebuilt, not trusted
FORMAT = "campaign_sdk analytics mirror v2 " + hashlib.sha256(
    repr([(t.name, t.ddl, t.reload) for t in TABLES.values()]).encode()
).hexdigest()[:16]
CACHE_SUFFIX = ".analytics.duckdb"
# view name -> the SQL users see (every mirrored table, without the internal version column)
VIEWS = {name: f"SELECT * EXCLUDE (_v) FROM mirror.{name}" for name in TABLES}
LOG_IDS = 200_000  # the changed ids a table's log holds (:meth:`Mirror.changed`); beyond, "any row"


class Mirror:
    """The DuckDB copy of one store. Use :func:`mirror_for`; ``stats`` counts what refreshes
    did (``checks``, ``skipped``, ``blocks_read``, ``rows_read``, ``full_reads``)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.source = Source(engine)
        self.stats: Counter[str] = Counter()
        self._lock = threading.RLock()
        self._fresh: dict[str, object] = {}
        # per table: each refresh that changed it, (generation, the ids it inserted, replaced or
        # deleted; None: any row), and the generation after which that log is complete
        self._log: dict[str, list[tuple[int, pa.Array | None]]] = {}
        self._floor: dict[str, int] = {}
        self._generation = 0
        store_path = sqlite_path(engine)
        self.cache_path: str | None = None
        self.con = self._open(store_path)
        # the file mirror's identity (None in memory): its generations go on in a later process
        self.identity: str | None = None
        if self.cache_path is not None:
            self.identity, self._generation, self._floor = self._persisted()
        self._watch = _watch_connection(store_path)
        self._finalizer = weakref.finalize(self, _close, self.con, self._watch, self.source)

    # -- setup ----------------------------------------------------------------------------
    def _open(self, store_path: str | None) -> duckdb.DuckDBPyConnection:
        if store_path is not None:
            path = store_path + CACHE_SUFFIX
            for attempt in range(2):
                try:
                    con = duckdb.connect(path, config={"autoinstall_known_extensions": False})
                except duckdb.Error as exc:
                    if attempt == 0 and "lock" not in str(exc).lower() and os.path.exists(path):
                        _remove(path)  # not a DuckDB file we can read (another version?): rebuild
                        continue
                    break  # held by another process, or not writable: use memory
                if self._prepare(con, cached=True):
                    self.cache_path = path
                    return con
                con.close()
                _remove(path)
        con = duckdb.connect(config={"autoinstall_known_extensions": False})
        self._prepare(con, cached=False)
        return con

    def _prepare(self, con: duckdb.DuckDBPyConnection, *, cached: bool) -> bool:
        """Create the mirror's tables and views; False if a cache file is of another format."""
        con.execute("SET autoload_known_extensions = false")
        con.execute("SET enable_progress_bar = false")  # DuckDB's own bar would print into cells
        con.execute("CREATE SCHEMA IF NOT EXISTS mirror")
        con.execute("CREATE TABLE IF NOT EXISTS mirror.meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        found = con.execute("SELECT value FROM mirror.meta WHERE key = 'format'").fetchone()
        if cached and found is not None and found[0] != FORMAT:
            return False
        con.execute("INSERT OR REPLACE INTO mirror.meta VALUES ('format', ?)", [FORMAT])
        for table in TABLES.values():
            con.execute(f"CREATE TABLE IF NOT EXISTS mirror.{table.name} ({table.ddl})")
        for name, sql in VIEWS.items():
            con.execute(f"CREATE OR REPLACE VIEW main.{name} AS {sql}")
        con.execute("CHECKPOINT")
        return True

    def _persisted(self) -> tuple[str, int, dict[str, int]]:
        """The file's identity (made once), its last generation and each table's (what
        :meth:`versions` says of a table this process has not seen change)."""
        meta = dict(self.con.execute("SELECT key, value FROM mirror.meta").fetchall())
        if "identity" not in meta:
            meta["identity"] = uuid.uuid4().hex
            self.con.execute("INSERT OR REPLACE INTO mirror.meta VALUES ('identity', ?)", [meta["identity"]])
        floor = {k.removeprefix("generation:"): int(v) for k, v in meta.items() if k.startswith("generation:")}
        return meta["identity"], int(meta.get("generation", 0)), floor

    def close(self) -> None:
        """Release the DuckDB file (if any) and the store connections."""
        self._finalizer()

    # -- freshness ------------------------------------------------------------------------
    def _token(self) -> object | None:
        if self._watch is not None:
            return ("sqlite", self._watch.execute("PRAGMA data_version").fetchone()[0])
        return self.source.change_token()

    def refresh(self, names: Iterable[str] = tuple(TABLES)) -> None:
        """Bring the mirrored tables ``names`` up to date with the store."""
        with self._lock:
            token = self._token()
            stale = [TABLES[n] for n in names if token is None or self._fresh.get(n) != token]
            if not stale:
                self.stats["skipped"] += 1
                return
            self.stats["checks"] += 1
            plans = [self._plan(table) for table in stale]
            jobs = [(plan.table, r) for plan in plans for r in plan.reads]
            chunks = self.source.fetch(jobs, rows=sum(plan.rows for plan in plans if plan.chunks is None))
            self.con.execute("BEGIN TRANSACTION")
            try:
                for plan in plans:
                    fetched = [c for (table, _), c in zip(jobs, chunks) if table is plan.table]
                    self._apply(plan, plan.chunks if plan.chunks is not None else fetched)
                self.con.execute("COMMIT")
            except BaseException:
                self.con.execute("ROLLBACK")
                self._fresh.clear()
                raise
            for table in stale:
                self._fresh[table.name] = token

    def _plan(self, table: Table) -> _Plan:
        """What to delete and read again: on SQLite what changed since the mark; elsewhere the
        blocks whose fingerprints differ; everything for small tables and an empty mirror."""
        empty = self.con.execute(f"SELECT count(*) = 0 FROM mirror.{table.name}").fetchall()[0][0]
        sqlite = self.source.dialect == "sqlite" and not table.reload
        mark = self._mark(table) if sqlite else None
        now: Mark | None
        if mark is not None:
            found = self.source.changes(table, mark)
            if found is not None:
                now, count, gone, rows = found
                return _Plan(table, [], [], 0, chunks=[rows], gone=gone, mark=now, count=count)
        if table.reload or empty or sqlite:
            now = self.source.mark(table)[0] if sqlite else None
            rows, ranges = self.source.id_ranges(table)
            return _Plan(table, None, ranges, rows, mark=now)
        return self._compare(table)

    def _compare(self, table: Table) -> _Plan:
        store = self.source.fingerprints(table)
        mine = {
            b: (n, s, v)
            for b, n, s, v in self.con.execute(
                f"SELECT id >> {BLOCK_BITS}, count(*), sum(id)::BIGINT, sum(_v)::BIGINT "
                f"FROM mirror.{table.name} GROUP BY 1"
            ).fetchall()
        }
        changed = sorted(b for b in store.keys() | mine.keys() if store.get(b) != mine.get(b))
        ranges: list[tuple[int, int] | None] = [(b << BLOCK_BITS, (b + 1) << BLOCK_BITS) for b in changed]
        return _Plan(table, changed, ranges, sum(store[b][0] for b in changed if b in store))

    def _mark(self, table: Table) -> Mark | None:
        found = self.con.execute("SELECT value FROM mirror.meta WHERE key = ?", [f"mark:{table.name}"]).fetchone()
        return None if found is None else Mark(**json.loads(found[0]))

    def _apply(self, plan: _Plan, chunks: list[pa.Table]) -> None:
        name = plan.table.name
        ids: list[pa.Array] | None = None if plan.blocks is None else []  # what changed (None: all)
        if ids is None:
            self.con.execute(f"DELETE FROM mirror.{name}")
            self.stats["full_reads"] += 1
        elif plan.blocks:
            blocks = ", ".join(map(str, plan.blocks))
            ids.append(self.con.sql(f"SELECT id FROM mirror.{name} WHERE id >> {BLOCK_BITS} IN ({blocks})")
                       .to_arrow_table().column(0).combine_chunks())
            self.con.execute(f"DELETE FROM mirror.{name} WHERE id >> {BLOCK_BITS} IN ({blocks})")
            self.stats["blocks_read"] += len(plan.blocks)
        if plan.gone:
            self.con.register("gone", pa.table({"id": pa.array(plan.gone, pa.int64())}))
            try:
                self.con.execute(f"DELETE FROM mirror.{name} WHERE id IN (SELECT id FROM gone)")
            finally:
                self.con.unregister("gone")
            self.stats["rows_deleted"] += len(plan.gone)
            if ids is not None:
                ids.append(pa.array(plan.gone, pa.int64()))
        for chunk in chunks:
            if ids is not None:
                found = chunk.column("id").combine_chunks().cast(pa.int64())
                ids.append(pc.filter(found, pc.greater_equal(found, 0)))  # not the sentinel
            self.stats["rows_read"] += chunk.num_rows - (self.source.dialect == "sqlite")  # the sentinel
            self.con.register("chunk", chunk)
            try:
                if plan.chunks is not None:  # changed rows: replace them by id
                    self.con.execute(f"DELETE FROM mirror.{name} WHERE id IN (SELECT id FROM chunk)")
                self.con.execute(f"INSERT INTO mirror.{name} {plan.table.duck_select()}")
            finally:
                self.con.unregister("chunk")
        if plan.count is not None:
            mine = self.con.execute(f"SELECT count(*) FROM mirror.{name}").fetchall()[0][0]
            if mine != plan.count:  # a row inserted below the highest id: find it by fingerprints
                self.stats["fallbacks"] += 1
                fallback = self._compare(plan.table)
                jobs = [(plan.table, r) for r in fallback.reads]
                self._apply(fallback, self.source.fetch(jobs, rows=fallback.rows))
        if plan.mark is not None:
            value = json.dumps(plan.mark.__dict__)
            self.con.execute("INSERT OR REPLACE INTO mirror.meta VALUES (?, ?)", [f"mark:{name}", value])
        self._logged(name, ids)

    def _logged(self, name: str, ids: list[pa.Array] | None) -> None:
        """Log a refresh of ``name`` that changed the rows ``ids`` (None: any; none: no entry)."""
        changed = None if ids is None else pa.concat_arrays([pa.array([], pa.int64()), *ids])
        if changed is not None and not len(changed):
            return
        self._generation += 1
        if self.identity is not None:  # in the refresh's transaction: the generation is the data's
            self.con.execute("INSERT OR REPLACE INTO mirror.meta VALUES ('generation', $g), ($t, $g)",
                             {"g": str(self._generation), "t": f"generation:{name}"})
        log = self._log.setdefault(name, [])
        log.append((self._generation, None if changed is None or len(changed) > LOG_IDS else changed))
        while len(log) > 1 and sum(len(i) if i is not None else LOG_IDS for _, i in log) > LOG_IDS:
            self._floor[name] = log.pop(0)[0]

    def versions(self, names: Iterable[str]) -> tuple[object, ...] | None:
        """The generation of the last change of each mirrored table ``names`` (None: one was
        never refreshed). Only a refresh changes a mirrored table, and a refresh that changes
        a row of one makes a new generation of it: while they stay the same, the tables' rows
        do too (:meth:`changed` says which rows changed since). A file mirror's generations go
        on across processes (with its :attr:`identity`); what changed before this process
        opened it is not known (:meth:`changed` says None for those generations)."""
        with self._lock:
            if any(self._fresh.get(n) is None for n in names):
                return None
            return tuple(self._log[n][-1][0] if self._log.get(n) else self._floor.get(n, 0) for n in names)

    def changed(self, name: str, since: object) -> pa.Array | None:
        """The ids of the rows of ``name`` inserted, updated or deleted after its generation
        ``since`` (one of :meth:`versions`); None when that is not known (a table read whole, a
        log that no longer reaches back so far, more than :data:`LOG_IDS` ids)."""
        with self._lock:
            if not isinstance(since, int) or since < self._floor.get(name, 0):
                return None
            found = [ids for generation, ids in self._log.get(name, []) if generation > since]
        if any(ids is None for ids in found):
            return None
        return pc.unique(pa.concat_arrays([pa.array([], pa.int64()), *found]))

    # -- use ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def reading(self, names: Iterable[str] = tuple(TABLES)) -> Iterator[duckdb.DuckDBPyConnection]:
        """The mirror's connection, refreshed for ``names`` and held for this thread."""
        with self._lock:
            self.refresh(names)
            yield self.con


@dataclass(frozen=True)
class _Plan:
    """``blocks`` to delete (None: the whole table) and id ``reads`` ([lo, hi)) to load; or
    (SQLite) ``chunks`` already read, to replace by id, ``gone`` ids to delete, the ``count``
    the table must then have, and the ``mark`` to remember."""

    table: Table
    blocks: list[int] | None
    reads: list[tuple[int, int] | None]
    rows: int
    chunks: list[pa.Table] | None = None
    gone: list[int] = field(default_factory=list)
    mark: Mark | None = None
    count: int | None = None


_MIRRORS: weakref.WeakKeyDictionary[sa.Engine, Mirror] = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


def mirror_for(engine: sa.Engine) -> Mirror:
    """The engine's mirror, created on first use."""
    with _REGISTRY_LOCK:
        mirror = _MIRRORS.get(engine)
        if mirror is None:
            mirror = _MIRRORS[engine] = Mirror(engine)
        return mirror


def close_mirror(engine: sa.Engine) -> None:
    """Close the engine's mirror, if it has one (``CampaignClient.close`` calls this)."""
    with _REGISTRY_LOCK:
        mirror = _MIRRORS.pop(engine, None)
    if mirror is not None:
        mirror.close()


def _watch_connection(store_path: str | None) -> sqlite3.Connection | None:
    if store_path is None:
        return None
    return sqlite3.connect(f"file:{store_path}?mode=ro", uri=True, check_same_thread=False)


# Called with a mirror's connection just before it closes: what a layer above keeps for that
# connection (delivery's kept plan rows) is dropped with it, without this layer knowing it.
ON_CLOSE: list[Callable[[duckdb.DuckDBPyConnection], None]] = []


def _close(con: duckdb.DuckDBPyConnection, watch: sqlite3.Connection | None, source: Source) -> None:
    for close in (*(functools.partial(f, con) for f in ON_CLOSE), con.close,
                  *((watch.close,) if watch else ()), source.close):
        with contextlib.suppress(Exception):
            close()


def _remove(path: str) -> None:
    for suffix in ("", ".wal"):
        with contextlib.suppress(OSError):
            os.remove(path + suffix)
