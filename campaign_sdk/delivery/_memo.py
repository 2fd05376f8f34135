"""The last warm plan's lead rows, kept in memory and brought up to date table by table.

Every plan of a campaign reads the same ``plan_base`` rows (each lead's person, phone, place,
skip reason and cached content decisions: :func:`._plan._base`) and the same cached message
columns, but for what changed in the store since. The rows of the last plan are kept here with
what they were read from: the mirror connection, the content cache's state
(:func:`._content_cache.state`: this process's writes to it and the table's identity, which a
drop changes), the query itself (its SQL and parameters: the campaign, its arms, its templates'
fingerprint), which must all be the same for them to be used again, and the generation of each
mirrored table they were read under (``Mirror.versions``: a refresh that changes a row of a
table makes a new one). A later plan then reads only what changed since:

- leads or users: the rows of the leads whose row, or whose person's row, changed
  (``Mirror.changed`` says which ids; the caller reads them, computing their content if it
  changed, and :func:`patch` puts them in place); any row when the mirror cannot say, or when
  so many changed that reading them all is quicker;
- messages: only the skip reasons the messages give (already messaged, failed before,
  unresolved, a number found invalid), which the caller finds again from the kept rows.

What is derived from the rows alone (their zone keys) is kept with them until they change.
Only one campaign's rows are kept (the last planned); they cost the memory of those rows, as
long as the process lives or until another plan replaces them, or until their mirror closes
(``CampaignClient.close``, or the process's exit: dropped then through ``analytics._mirror.ON_CLOSE``).

A file mirror's kept rows are saved then beside it (:func:`save`: Arrow IPC files, memory-mapped
when read back), with what they were read under: the mirror's identity and generations, the
caches' stamp (:func:`._content_cache.stamp`, which every write to them changes) and the query.
A later process's first plan of that campaign takes them (:func:`load`) when the identity, stamp
and query are the same; the leads, users and messages that changed since are read again as
above (the mirror's first refresh says which: :meth:`Mirror.changed`), or every row when that is
not known (another process refreshed the mirror in between). A file that is missing, of
another format or not of this mirror is not used: it costs one slower plan, never a wrong one.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import zoneinfo
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from campaign_sdk.analytics import _mirror
from campaign_sdk.delivery._content_cache import stamp

STATS: Counter[str] = Counter()  # reused / patched / read / loaded / saved, for tests and benchmarks
MAX_CHUNKS = 64  # a kept table patched into more pieces than this is made one again


@dataclass
class Kept:
    """Rows a plan read: ``rows`` (the leads' own columns, :func:`._plan._leads_sql`),
    ``found`` (``plan_base``: ``rows`` with the skip reason its messages give too), once a plan
    showed them ``shown`` (the number, arm, ``timezone`` value and cached message columns, in
    lead order), what is derived from ``found`` alone (``derived``: its zone keys,
    :func:`._zone_cache.zone_keys`) and the mirrored tables' generations they are current for
    (``versions``: of ``._plan.BASE_TABLES``)."""

    con: duckdb.DuckDBPyConnection
    proof: tuple[object, ...] | None
    rows: pa.Table
    found: pa.Table
    versions: tuple[object, ...] | None
    shown: pa.Table | None = None
    derived: dict[str, Any] = field(default_factory=dict)
    disk: Disk | None = None  # where and under what they are saved at close (:func:`save`)
    on_disk: tuple[object, ...] | None = None  # what the saved files hold now (saved or loaded)


@dataclass(frozen=True)
class Disk:
    """Where a file mirror's kept rows are saved (``path``: the mirror file's, as a prefix),
    and under what: its ``identity``, the caches' ``stamp`` and the ``query`` (a digest of its
    SQL and parameters) they were read with."""

    path: str
    identity: str
    stamp: str
    query: str


def digest(*query: object) -> str:
    """What :attr:`Disk.query` holds for rows read by ``query`` (its SQL and parameters), with
    the zone data their zone keys were judged with."""
    return hashlib.sha256(repr((query, _ZONE_DATA)).encode()).hexdigest()


def _tzdata() -> str | None:
    try:
        return importlib.metadata.version("tzdata")
    except importlib.metadata.PackageNotFoundError:
        return None


# what the saved zone keys' verdicts (a valid IANA name, how many clocks) are read from
_ZONE_DATA = (_tzdata(), zoneinfo.TZPATH)
_KEY_COLUMNS = ["zkey", "zones", "country", "ambiguous", "zone_problem"]  # ``._zone_cache.zone_keys``' frame


_LAST: list[Kept] = []  # at most one


def proof(versions: tuple[object, ...] | None, *parts: object) -> tuple[object, ...] | None:
    """What must stay the same for kept rows to be used again: ``parts`` (None when the
    mirrored tables' ``versions`` are not known: nothing is kept)."""
    return None if versions is None else parts


def recall(con: duckdb.DuckDBPyConnection, found_by: tuple[object, ...] | None) -> Kept | None:
    """The rows kept under ``found_by`` on ``con``, if any (of any generations)."""
    for kept in _LAST:
        if found_by is not None and kept.con is con and kept.proof == found_by:
            return kept
    return None


def keep(con: duckdb.DuckDBPyConnection, found_by: tuple[object, ...] | None, rows: pa.Table, found: pa.Table,
         versions: tuple[object, ...] | None) -> Kept:
    """Keep ``rows`` and ``found`` under ``found_by`` (replacing what was kept; nothing is kept
    without a proof)."""
    kept = Kept(con, found_by, rows, found, versions)
    _LAST.clear()
    if found_by is not None:
        _LAST.append(kept)
    return kept


def forget(con: duckdb.DuckDBPyConnection | None = None) -> None:
    """Drop what is kept (for ``con`` only, when given: its mirror is closing)."""
    _LAST[:] = [kept for kept in _LAST if con is not None and kept.con is not con]


# rows per record batch: DuckDB scans an Arrow table's batches in parallel (one huge batch: one thread)
BATCH = 122_880
FORMAT = "campaign_sdk kept plan rows v2"  # v2: shown without the columns of found
_PARTS = ("found", "shown")  # the files: ``found`` (``rows`` is it without ``own_reason``) and ``shown``


def _file(disk: Disk, part: str) -> str:
    return f"{disk.path}.plan-{part}.arrow"


def _under(disk: Disk, versions: tuple[object, ...]) -> dict[bytes, bytes]:
    return {b"format": FORMAT.encode(), b"identity": disk.identity.encode(), b"stamp": disk.stamp.encode(),
            b"query": disk.query.encode(), b"versions": json.dumps(list(versions)).encode()}


def save(kept: Kept, stamp: str) -> bool:
    """Save ``kept`` beside its file mirror (``kept.disk``), if the caches' ``stamp`` is still
    the one it was read under (nothing written to them since): each part to a new file, then
    put in place (a reader sees the old files or the new ones). False: nothing saved."""
    disk = kept.disk
    if disk is None or kept.versions is None or stamp != disk.stamp:
        return False
    if kept.on_disk == (disk, kept.versions, kept.shown is not None):
        return True  # the files hold these rows already
    under = _under(disk, kept.versions)
    if "zone_keys" in kept.derived:  # small: a row per zone key
        names, frame = kept.derived["zone_keys"]
        under[b"zone_keys"] = json.dumps({"names": names, "rows": frame[_KEY_COLUMNS].values.tolist()},
                                         default=lambda value: value.item()).encode()
    made = []
    # the shown columns without what ``found`` holds (:func:`own`): put back beside them by :func:`load`
    shown = None if kept.shown is None else kept.shown.drop_columns(own(kept.found).column_names[1:])
    try:
        for part, table in (("found", kept.found), ("shown", shown)):
            if table is None:
                with contextlib.suppress(OSError):
                    os.remove(_file(disk, part))
                continue
            temp = f"{_file(disk, part)}.{os.getpid()}.tmp"
            with pa.OSFile(temp, "wb") as sink, pa.ipc.new_file(sink, table.schema.with_metadata(under)) as writer:
                writer.write_table(table, max_chunksize=BATCH)
            made.append((temp, _file(disk, part)))
        for temp, path in made:
            os.replace(temp, path)
        kept.on_disk = (disk, kept.versions, kept.shown is not None)
    except OSError:  # a full disk, a read-only folder: the next process reads the rows again
        for temp, _ in made:
            with contextlib.suppress(OSError):
                os.remove(temp)
        return False
    STATS["saved"] += 1
    return True


def load(con: duckdb.DuckDBPyConnection, disk: Disk | None, proof: tuple[object, ...] | None) -> Kept | None:
    """The rows saved for ``disk`` (same mirror, stamp and query), memory-mapped, kept again
    under ``proof`` with the generations they were saved for; None if there are none."""
    if disk is None or proof is None:
        return None
    tables: dict[str, pa.Table | None] = {}
    versions: set[bytes] = set()
    derived = None
    expected = {k: v for k, v in _under(disk, ()).items() if k != b"versions"}  # what each part must be saved under
    try:
        for part in _PARTS:
            if part == "shown" and not os.path.exists(_file(disk, part)):
                tables[part] = None
                continue
            table = pa.ipc.open_file(pa.memory_map(_file(disk, part))).read_all()
            meta = table.schema.metadata or {}
            if any(meta.get(k) != v for k, v in expected.items()):
                return None
            versions.add(meta[b"versions"])
            if b"zone_keys" in meta:
                derived = json.loads(meta[b"zone_keys"])
            tables[part] = table.replace_schema_metadata(None)
    except (OSError, pa.ArrowInvalid, KeyError):
        return None
    if len(versions) != 1:  # parts of two saves
        return None
    found = tables["found"]
    assert found is not None
    saved = tuple(json.loads(versions.pop()))
    kept = keep(con, proof, found.drop_columns(["own_reason"]), found, saved)
    shown = tables["shown"]
    if shown is not None:
        own_columns = own(found)
        for name in shown.column_names[1:]:
            own_columns = own_columns.append_column(name, shown.column(name))
        kept.shown = own_columns
    kept.disk, kept.on_disk = disk, (disk, saved, shown is not None)
    if derived is not None:
        kept.derived["zone_keys"] = (derived["names"], pd.DataFrame(derived["rows"], columns=_KEY_COLUMNS))
    STATS["loaded"] += 1
    return kept


def own(rows: pa.Table) -> pa.Table:
    """The lead's own shown columns (``._content_cache.shown``'s first four) of ``rows``
    (``plan_base``'s)."""
    return rows.select(["lead_id", "phone", "variant", "tz_override"]).rename_columns(
        ["lead_id", "phone_number", "variant", "tz_override"])


def closing(con: duckdb.DuckDBPyConnection) -> None:
    """``con``'s mirror is closing: save what is kept for it (:func:`save`), then drop it."""
    for kept in _LAST:
        if kept.con is con and kept.disk is not None:
            with contextlib.suppress(duckdb.Error):
                save(kept, stamp(con))
    forget(con)


def patch(table: pa.Table, leads: np.ndarray, rows: pa.Table) -> pa.Table:
    """``table`` (in lead order) without its rows of the leads ``leads`` (sorted, unique) and
    with ``rows`` (in lead order, of some of those leads) in their places: slices of both, not
    a copy (made one table again past :data:`MAX_CHUNKS` pieces)."""
    ids = table.column("lead_id").to_numpy()
    at = np.searchsorted(ids, leads)
    hit = at < len(ids)
    hit[hit] = ids[at[hit]] == leads[hit]
    kept = np.ones(len(ids), bool)
    kept[at[hit]] = False
    order = np.flatnonzero(kept)
    new = rows.column("lead_id").to_numpy()
    order = np.insert(order, np.searchsorted(ids[order], new), np.arange(len(ids), len(ids) + len(new)))
    both = pa.concat_tables([table, rows.select(table.column_names).cast(table.schema)])
    if not len(order):
        return both.slice(0, 0)
    starts = np.r_[0, np.flatnonzero(np.diff(order) != 1) + 1]
    if len(starts) > 4 * MAX_CHUNKS:
        return both.take(pa.array(order))
    ends = np.r_[starts[1:], len(order)]
    out = pa.concat_tables([both.slice(order[s], e - s) for s, e in zip(starts.tolist(), ends.tolist())])
    return out.combine_chunks() if out.column(0).num_chunks > MAX_CHUNKS else out


_mirror.ON_CLOSE.append(closing)
