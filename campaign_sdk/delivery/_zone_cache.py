"""Each person's zones and region, resolved once and kept beside the analytics mirror.

A phone number's zones (libphonenumber's data) do not change between plans, so the plan keeps
them per user in the mirror's DuckDB database (a file beside a SQLite store, memory otherwise):
``cs_delivery.user_places(user_id, phone, place)`` and ``cs_delivery.places(place, zones, country)``.
A plan resolves (:func:`campaign_sdk.delivery._zones.resolve_zones`) only the users it has not
seen with that number; each lead's row in the content cache (:mod:`._content_cache`) holds its
person's place too, so a later plan of the same leads reads it there. The cache is keyed by the phonenumbers version (and this
module's :data:`VERSION`): another version starts it afresh. It is derived data: deleting it
(or the mirror file) costs one slower plan, never a wrong one.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import duckdb
import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from campaign_sdk.delivery._content_cache import schema, writing
from campaign_sdk.delivery._zones import resolve_zones, zone_key

VERSION = f"3/phonenumbers {phonenumbers.__version__}"  # 3: each number looked up alone (2 grouped, wrongly)
STATS: Counter[str] = Counter()  # resolved / cached users, for tests and benchmarks


def prepare(con: duckdb.DuckDBPyConnection) -> str:
    """Create the cache's tables (afresh for another :data:`VERSION`); returns :func:`schema`."""
    delivery = schema(con)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {delivery}")
    con.execute(f"CREATE TABLE IF NOT EXISTS {delivery}.meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    found = con.execute(f"SELECT value FROM {delivery}.meta WHERE key = 'version'").fetchone()
    try:
        con.execute(f"SELECT 1 FROM {delivery}.places LIMIT 0")
        places = True
    except duckdb.CatalogException:
        places = False
    if found is None or found[0] != VERSION or not places:
        # new place ids: the content cache's rows hold the old ones (:mod:`._content_cache`)
        with writing(con):
            for table in ("user_places", "places", "lead_content"):
                con.execute(f"DROP TABLE IF EXISTS {delivery}.{table}")
        con.execute(f"INSERT OR REPLACE INTO {delivery}.meta VALUES ('version', ?)", [VERSION])
    con.execute(f"CREATE TABLE IF NOT EXISTS {delivery}.places (place INTEGER, zones VARCHAR, country VARCHAR)")
    con.execute(f"CREATE TABLE IF NOT EXISTS {delivery}.user_places (user_id BIGINT, phone VARCHAR, place INTEGER)")
    return delivery


def fill(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Set the ``place`` of the rows of ``table(lead_id, user_id, phone, place, ...)`` whose
    place is NULL: the cached one of the person with that number, else resolved and cached."""
    delivery = schema(con)
    con.execute(f"""UPDATE {table} SET place = zc.place FROM {delivery}.user_places zc
                    WHERE {table}.place IS NULL AND zc.user_id = {table}.user_id AND zc.phone = {table}.phone""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _zone_new AS
        SELECT DISTINCT user_id AS lead_id, phone, NULL::VARCHAR AS tz_override FROM {table}
        WHERE place IS NULL AND phone LIKE '+%'
    """)
    new = con.execute("SELECT count(*) FROM _zone_new").fetchall()[0][0]
    STATS["resolved"] += new
    if not new:
        con.execute("DROP TABLE _zone_new")
        return
    keys = resolve_zones(con, "_zone_new")  # no overrides: one key per place
    known = con.execute(f"SELECT zones, country, place FROM {delivery}.places").fetchall()
    ids = {(z, c): p for z, c, p in known}
    pairs = list(zip(_plain(keys["zones"]), _plain(keys["country"])))
    for pair in pairs:
        ids.setdefault(pair, len(ids))
    fresh = [(p, z, c) for (z, c), p in ids.items() if p >= len(known)]
    if fresh:
        con.executemany(f"INSERT INTO {delivery}.places VALUES (?, ?, ?)", fresh)
    con.register("_zone_map", pd.DataFrame({"zkey": keys["zkey"], "place": [ids[pair] for pair in pairs]}))
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _zone_found AS
        SELECT n.lead_id AS user_id, n.phone, m.place FROM _zone_new n
        JOIN plan_zones z ON z.lead_id = n.lead_id JOIN _zone_map m ON m.zkey = z.zkey
    """)
    con.unregister("_zone_map")
    con.execute(f"DELETE FROM {delivery}.user_places WHERE user_id IN (SELECT user_id FROM _zone_found)")
    con.execute(f"INSERT INTO {delivery}.user_places SELECT * FROM _zone_found")
    con.execute(f"UPDATE {table} SET place = f.place FROM _zone_found f WHERE f.user_id = {table}.user_id")
    for name in ("_zone_new", "_zone_found", "plan_zones"):
        con.execute(f"DROP TABLE {name}")


def zone_keys(con: duckdb.DuckDBPyConnection, rows: pa.Table,
              kept: dict[str, Any] | None = None) -> tuple[pd.DataFrame, pa.Array]:
    """The zone keys of ``rows`` (Arrow, with ``place`` and ``tz_override``: ``zkey, zones,
    country, ambiguous, zone_problem``, in key order) and each row's key (``place * width +
    oid``, ``oid`` the row's ``tz_override`` among the distinct ones; null: no place).
    ``kept``: where an earlier call put the keys of these very rows (a plan's kept rows,
    :mod:`._memo`; a place's zones never change once cached): they are taken from there, else
    found and put there."""
    if kept is not None and "zone_keys" in kept:
        names, frame = kept["zone_keys"]
    else:
        names, frame = sorted(pc.unique(rows.column("tz_override")).drop_null().to_pylist()), None
    if kept is not None and "row_keys" in kept:
        per_row = kept["row_keys"]
    else:
        per_row = _row_keys(rows, names)
        if kept is not None:
            kept["row_keys"] = per_row
    if frame is None:
        width = len(names) + 1
        places: dict[int, tuple[Any, Any]] = {p: (z, c) for p, z, c in con.execute(
            f"SELECT place, zones, country FROM {schema(con)}.places").fetchall()}
        keys = sorted(pc.unique(per_row).drop_null().to_pylist())
        frame = pd.DataFrame([zone_key(k, width, places, names) for k in keys],
                             columns=["zkey", "zones", "country", "ambiguous", "zone_problem"])
        if kept is not None:
            kept["zone_keys"] = (names, frame)
    return frame.copy(), per_row


def _row_keys(rows: pa.Table, names: list[str]) -> pa.Array:
    """Each row's key (``place * width + oid``; null: no place)."""
    zone = rows.column("tz_override")
    oid = pc.add(pc.fill_null(pc.index_in(zone, value_set=pa.array(names, zone.type)), -1), 1)
    keys = pc.add(pc.multiply(rows.column("place").cast(pa.int64()), len(names) + 1), oid.cast(pa.int64()))
    return keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys


def _plain(values: pd.Series) -> list[Any]:
    return [v if isinstance(v, str) else None for v in values]
