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
(``CampaignClient.close``: dropped then through ``analytics._mirror.ON_CLOSE``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from campaign_sdk.analytics import _mirror

STATS: Counter[str] = Counter()  # reused / patched / read, for tests and benchmarks
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


_mirror.ON_CLOSE.append(forget)
