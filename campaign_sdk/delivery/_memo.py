"""The last warm plan's lead rows, kept in memory while what they were read from stays the same.

Every plan after the first on a store reads the same ``plan_base`` rows (each lead's person,
phone, place, skip reason and cached content decisions: :func:`._plan._base`) and the same
cached message columns, as long as the mirrored leads, users and messages and the content cache
(:mod:`._content_cache`) do not change. The rows of the last plan whose every lead was current
are kept here with what proves them current (:func:`proof`): the mirror connection, the change
tokens under which the mirrored tables were last refreshed (a refresh is the only thing that
changes them, and it stores a new token: ``Mirror.versions``), the content cache's state
(:func:`._content_cache.state`: this process's writes to it and the table's identity, which a
drop changes) and the query itself (its SQL and parameters: the campaign, its arms, its
templates' fingerprint). A later plan with the same proof reads nothing of lead size for them
(nor finds their zone keys again: what is derived from the rows alone is kept with them);
any other proof reads them again (and replaces them). Only one campaign's rows are kept (the
last planned); they cost the memory of those rows, as long as the process lives or until
another plan replaces them, or until their mirror closes (``CampaignClient.close``: dropped
then through ``analytics._mirror.ON_CLOSE``). On PostgreSQL the token is the server's snapshot, which any commit
on the server moves: there a plan reuses the rows only while the whole server is idle.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from campaign_sdk.analytics import _mirror

STATS: Counter[str] = Counter()  # reused / read, for tests and benchmarks


@dataclass
class Kept:
    """Rows a warm plan read: ``found`` (``plan_base``), once a plan showed them ``shown`` (the
    number, arm, ``timezone`` value and cached message columns, in lead order), and what is
    derived from ``found`` alone (``derived``: its zone keys, :func:`._zone_cache.zone_keys`)."""

    con: duckdb.DuckDBPyConnection
    proof: tuple[object, ...] | None
    found: pa.Table
    shown: pa.Table | None = None
    derived: dict[str, Any] = field(default_factory=dict)


_LAST: list[Kept] = []  # at most one


def proof(versions: tuple[object, ...] | None, *parts: object) -> tuple[object, ...] | None:
    """What proves kept rows current: the mirrored tables' ``versions`` and ``parts`` (None:
    the versions are not known, nothing is kept)."""
    return None if versions is None else (versions, *parts)


def recall(con: duckdb.DuckDBPyConnection, found_by: tuple[object, ...] | None) -> Kept | None:
    """The rows kept under ``found_by`` on ``con``, if any."""
    for kept in _LAST:
        if found_by is not None and kept.con is con and kept.proof == found_by:
            STATS["reused"] += 1
            return kept
    STATS["read"] += 1
    return None


def keep(con: duckdb.DuckDBPyConnection, found_by: tuple[object, ...] | None, found: pa.Table) -> Kept:
    """Keep ``found`` under ``found_by`` (replacing what was kept; nothing is kept without a proof)."""
    kept = Kept(con, found_by, found)
    _LAST.clear()
    if found_by is not None:
        _LAST.append(kept)
    return kept


def forget(con: duckdb.DuckDBPyConnection | None = None) -> None:
    """Drop what is kept (for ``con`` only, when given: its mirror is closing)."""
    _LAST[:] = [kept for kept in _LAST if con is not None and kept.con is not con]


_mirror.ON_CLOSE.append(forget)
