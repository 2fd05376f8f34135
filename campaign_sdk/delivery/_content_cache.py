"""Each lead's content, computed once and kept beside the analytics mirror.

What a lead's variables make of its arm's template does not change between plans while its
variables, its arm and the campaign's templates stay the same: the ``timezone`` override, the
content reason (``missing_variables``, ``value_format``, ``message_too_long``), the rendered
message and its SMS encoding and segments. The plan keeps them per lead in the mirror's DuckDB
database (a file beside a SQLite store, memory otherwise), ``cs_delivery.lead_content``, with
what they were computed from: the templates' fingerprint (:func:`fingerprint`: every arm's
:class:`~campaign_sdk.delivery._render.LeadTemplate`, which holds the channel's limit), the
lead's variant and a hash of its ``custom_variables`` text. Each row also holds its person's
place (:mod:`._zone_cache`) with the number it was found for (its hash), so that a plan joins its leads
to this one table (by lead id) and not to the zone cache as well. A plan joins its leads to
their rows; a lead whose row is missing or was computed from anything else is computed again
(:func:`compute`: the one JSON parse and render, in SQL, for those leads only) and its row
replaced (:func:`store`, with the place); a lead whose number changed gets its new place. Like
the zone cache it is derived data: deleting it costs one slower plan, never a wrong one (and
it is deleted with the zone cache, whose place ids it holds). Rows of leads no longer in the
store stay until the cache is rebuilt (another :data:`VERSION`).
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections import Counter
from collections.abc import Iterator

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from campaign_sdk.delivery._render import (
    arm_sql,
    blank_sql,
    features_sql,
    literal_size,
    message_sql,
    reason_sql,
    segments_sql,
    shown_sql,
    size_sql,
    values_sql,
)
from campaign_sdk.delivery._segments import sms_segments
from campaign_sdk.delivery._spec import PlanSpec

# the hash of the variables text is DuckDB's: another DuckDB version starts the cache afresh
VERSION = f"4/duckdb {duckdb.__version__}"
STATS: Counter[str] = Counter()  # computed / cached leads; plans read beside / joined: for tests and benchmarks
COLUMNS = ("tz_override", "content_reason", "message", "sms_encoding", "sms_segments")
_WRITES = Counter[str]()  # this process's writes to the cache (any store's): :func:`state`


def fingerprint(spec: PlanSpec) -> int:
    """What the content of every lead of ``spec`` is computed from, besides the lead itself
    (64 bits of a SHA-256)."""
    digest = hashlib.sha256(repr((VERSION, spec.templates, spec.slots)).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def prepare(con: duckdb.DuckDBPyConnection, delivery: str) -> str:
    """Create the cache table in the schema ``delivery`` (afresh for another :data:`VERSION`);
    returns its qualified name."""
    table = f"{delivery}.lead_content"
    found = con.execute(f"SELECT value FROM {delivery}.meta WHERE key = 'content_version'").fetchone()
    if found is None or found[0] != VERSION:
        with writing(con):
            con.execute(f"DROP TABLE IF EXISTS {table}")
        con.execute(f"INSERT OR REPLACE INTO {delivery}.meta VALUES ('content_version', ?)", [VERSION])
    con.execute(f"""CREATE TABLE IF NOT EXISTS {table} (
        lead_id BIGINT, campaign_id BIGINT, fp BIGINT, vh UBIGINT, variant VARCHAR, tz_override VARCHAR, content_reason VARCHAR,
        message VARCHAR, sms_encoding VARCHAR, sms_segments INTEGER, ph UBIGINT, place INTEGER)""")
    return table


def schema(con: duckdb.DuckDBPyConnection) -> str:
    """The caches' schema (this one's and :mod:`._zone_cache`'s), qualified by the database
    (whose name is the store file's)."""
    name = con.execute("SELECT current_database()").fetchall()[0][0]
    return '"' + str(name).replace('"', '""') + '".cs_delivery'


@contextlib.contextmanager
def writing(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Around a write to the caches of ``con``: what :func:`state` counts (before and after it,
    so that what a plan read while it ran is never taken for current), and a new :func:`stamp`
    before it (a write cut short by a crash leaves a stamp nothing was read under)."""
    _WRITES["writes"] += 1
    con.execute(f"INSERT OR REPLACE INTO {schema(con)}.meta VALUES ('stamp', ?)", [uuid.uuid4().hex])
    try:
        yield
    finally:
        _WRITES["writes"] += 1


def state(con: duckdb.DuckDBPyConnection) -> tuple[int, object]:
    """What changes whenever the content cache of ``con`` may have: this process's writes to a
    cache (:func:`writing`) and the table's identity (a dropped and remade table is another)."""
    found = con.execute("SELECT table_oid FROM duckdb_tables() WHERE database_name = current_database() "
                        "AND schema_name = 'cs_delivery' AND table_name = 'lead_content'").fetchall()
    return _WRITES["writes"], found[0][0] if found else None


def stamp(con: duckdb.DuckDBPyConnection) -> str:
    """What changes with every write to the caches of ``con``, in any process (:func:`writing`,
    kept in the caches' own database; made here if they have none yet): what rows read from
    them are saved under (:mod:`._memo`)."""
    found = con.execute(f"SELECT value FROM {schema(con)}.meta WHERE key = 'stamp'").fetchall()
    if not found:  # caches written before stamps were kept: a new one, that nothing was saved under
        value = uuid.uuid4().hex
        con.execute(f"INSERT OR REPLACE INTO {schema(con)}.meta VALUES ('stamp', ?)", [value])
        return value
    return str(found[0][0])


# the join (format with the table) that gives each lead ``l`` of the campaign $c its cached row
# ``cc`` ($fp: the fingerprint; at most one row per lead), joined on the lead id alone: a join
# on the id is quicker than one on (id, hash, variant), and whether the row is current is a
# column (:data:`KNOWN`)
JOIN = "LEFT JOIN (SELECT * FROM {table} WHERE campaign_id = $c AND fp = $fp) cc ON cc.lead_id = l.id"
# the row's content is current: computed from the lead's variables (``vh``: their hash) and arm
KNOWN = "coalesce(cc.vh = l.vh AND cc.variant IS NOT DISTINCT FROM l.variant, false)"
# the row's place was found for the person's number now (``u``: the lead's user); and that place
# (``ph``: the hash of that number, as the variables' hash: an integer is quicker to store)
PLACED = "coalesce(cc.ph = hash(u.phone_number), false)"
PLACE = f"CASE WHEN {PLACED} THEN cc.place END"
DECIDING = COLUMNS[:2]  # what the decisions read; the others are only shown


# what :func:`beside` reads of each cached row; and of each lead (``l``, its user ``u``): the
# hashes its row is checked against and whether its number can be placed
SCANNED = ("lead_id", "vh", "variant", "ph", "place", *DECIDING)
CHECKED = "l.vh, hash(u.phone_number) AS uph"


def deciding(table: str) -> str:
    """SQL of what :func:`beside` reads of the cache rows of the campaign $c's leads under the
    fingerprint $fp: a scan (no join)."""
    return f"SELECT {', '.join(SCANNED)} FROM {table} WHERE campaign_id = $c AND fp = $fp"


def beside(leads: pa.Table, rows: pa.Table) -> pa.Table | None:
    """The columns :data:`JOIN` gives (``place, known, placed, unplaced`` and :data:`DECIDING`,
    the same values) for ``leads(lead_id, user_id, phone, variant, vh, uph, plus, own)``,
    from their cache ``rows`` (:func:`deciding`), both in lead order: put side by side, no
    join. None when the rows are not exactly those of the leads (one is missing, or the cache
    holds rows of other leads too): then the join decides."""
    if not leads.column("lead_id").equals(rows.column("lead_id")):
        return None
    ours, theirs = leads.column("variant"), rows.column("variant")
    same_arm = pc.or_kleene(pc.equal(ours, theirs), pc.and_(pc.is_null(ours), pc.is_null(theirs)))
    known = pc.fill_null(pc.and_kleene(pc.equal(leads.column("vh"), rows.column("vh")), same_arm), False)
    placed = pc.fill_null(pc.equal(leads.column("uph"), rows.column("ph")), False)
    place = pc.if_else(placed, rows.column("place"), pa.scalar(None, rows.schema.field("place").type))
    unplaced = pc.and_kleene(pc.is_null(place), leads.column("plus"))
    columns = {"lead_id": leads.column("lead_id"), "user_id": leads.column("user_id"), "phone": leads.column("phone"),
               "variant": ours, "place": place, "known": known, "placed": placed, "unplaced": unplaced,
               **{c: rows.column(c) for c in DECIDING}, "plus": leads.column("plus"), "own": leads.column("own")}
    return pa.table(columns)


def cached(table: str) -> str:
    """SQL of the cached message columns (``lead_id`` and ``COLUMNS[2:]``) of the campaign $c's
    leads under the fingerprint $fp: a scan of the cache (at most one row per lead), with no join."""
    return f"SELECT lead_id, {', '.join(COLUMNS[2:])} FROM {table} WHERE campaign_id = $c AND fp = $fp"


def _columns(spec: PlanSpec) -> dict[str, str]:
    """Each message key's shown value column (:func:`shown_sql`)."""
    keys = dict.fromkeys(k for _, t in spec.templates for k in t.keys)
    return {k: f"s{i}" for i, k in enumerate(keys)}


def content_sql(spec: PlanSpec, where: str) -> str:
    """SQL of the content of the leads ``l`` matching ``where``: ``lead_id, campaign_id, vh, variant`` and
    :data:`COLUMNS`, plus ``exact`` (False: recount the segments with ``sms_segments``)."""
    slots = spec.slots
    paths = "[" + ", ".join(f"'$.\"{k}\"'" for k in slots) + "]"
    raw = {k: f"r{i}" for i, k in enumerate(slots[:-1])}
    blank = {k: f"b{i}" for i, k in enumerate(slots[:-1])}
    checked = dict.fromkeys(k for _, t in spec.templates for k in (*t.required, *t.keys))
    # each value once; blank tested once per value, for both the checks and the shown value
    values = "".join(f", vals[{i + 1}] AS {raw[k]}" for i, k in enumerate(slots[:-1]))
    blanks = "".join(f", {blank_sql(raw[k])} AS {blank[k]}" for k in checked)
    cols = _columns(spec)
    shown = "".join(f", {shown_sql(k, raw[k], blank[k])} AS {c}" for k, c in cols.items())
    reason = arm_sql(spec.templates, "variant", lambda t: reason_sql(t, raw, blank))
    message = arm_sql(spec.templates, "variant", lambda t: message_sql(t, cols, shown=True))
    joined = arm_sql(spec.templates, "variant", lambda t: values_sql(t, cols, shown=True))
    sizes = [arm_sql(spec.templates, "variant", lambda t, i=i: str(literal_size(t)[i]).lower()) for i in range(4)]
    is_gsm, chars, doubles = size_sql("vv", *(f"lit{i}" for i in range(4)))
    encoding, segments, exact = segments_sql("is_gsm", "chars", "doubles")
    return f"""
        WITH parsed AS (
            SELECT lead_id, campaign_id, vh, variant, nullif(trim(vals[{len(slots)}]), '') AS tz_override {values}
            FROM (SELECT l.id AS lead_id, l.campaign_id, hash(l.custom_variables) AS vh, l.variant,
                         json_extract_string(l.custom_variables, {paths}) AS vals
                  FROM leads l WHERE {where})),
        checked AS (SELECT * {blanks} FROM parsed),
        filled AS (SELECT *, {reason} AS content_reason {shown} FROM checked),
        rendered AS (SELECT *, {message} AS message, {joined} AS vv,
                            {", ".join(f"{x} AS lit{i}" for i, x in enumerate(sizes))} FROM filled),
        featured AS (SELECT *, {features_sql("vv")} FROM rendered),
        sized AS (SELECT *, {is_gsm} AS is_gsm, {chars} AS chars, {doubles} AS doubles FROM featured)
        SELECT lead_id, campaign_id, vh, variant, tz_override, content_reason, message,
               {encoding} AS sms_encoding, {segments} AS sms_segments, {exact} AS exact
        FROM sized
    """


def compute(con: duckdb.DuckDBPyConnection, spec: PlanSpec, base: str) -> bool:
    """Compute the content of the leads of ``base(lead_id, known, ...)`` that are not ``known``
    (no current row in the cache) into the temp table ``_content_new`` (``lead_id, vh`` and
    :data:`COLUMNS`, which the caller joins to its rows and drops); False (no table): every
    lead was known."""
    new = con.execute(f"SELECT count(*) FROM {base} WHERE NOT known").fetchall()[0][0]
    STATS["computed"] += new
    STATS["cached"] += con.execute(f"SELECT count(*) FROM {base}").fetchall()[0][0] - new
    if not new:
        return False
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _content_new AS
                    {content_sql(spec, f"l.id IN (SELECT lead_id FROM {base} WHERE NOT known)")}""")
    inexact = con.execute("SELECT lead_id, message FROM _content_new WHERE NOT exact").fetchall()
    if inexact:  # a two-unit character may straddle a segment boundary: count those exactly
        con.register("_content_exact", pd.DataFrame(
            [(lead, sms_segments(text).segments) for lead, text in inexact], columns=["lead_id", "segments"]))
        con.execute("UPDATE _content_new SET sms_segments = e.segments FROM _content_exact e "
                    "WHERE e.lead_id = _content_new.lead_id")
        con.unregister("_content_exact")
    return True


def store(con: duckdb.DuckDBPyConnection, spec: PlanSpec, table: str, base: str, computed: bool) -> None:
    """Keep in the cache ``table`` the content :func:`compute` made (``computed``): the rows of
    ``base(lead_id, variant, phone, place, known, placed, tz_override, content_reason, new_vh,
    new_message, ...)`` that are not ``known``, each with its place (placed by then); and the
    new place of each known lead whose place was not current (``placed`` false)."""
    fp = fingerprint(spec)
    with writing(con):
        if computed:
            con.execute(f"DELETE FROM {table} WHERE lead_id IN (SELECT lead_id FROM {base} WHERE NOT known)")
            con.execute(f"""INSERT INTO {table} SELECT lead_id, $c, $fp, new_vh, variant, {', '.join(COLUMNS[:2])},
                            {', '.join(f"new_{c}" for c in COLUMNS[2:])}, hash(phone), place
                            FROM {base} WHERE NOT known""", {"c": spec.campaign_id, "fp": fp})
        con.execute(f"""UPDATE {table} SET ph = hash(b.phone), place = b.place FROM {base} b
                        WHERE b.known AND NOT b.placed AND {table}.lead_id = b.lead_id
                          AND {table}.campaign_id = $c AND {table}.fp = $fp""", {"c": spec.campaign_id, "fp": fp})


def shown(con: duckdb.DuckDBPyConnection, spec: PlanSpec, table: str, base: str) -> duckdb.DuckDBPyRelation:
    """The relation ``lead_id, phone_number, variant, tz_override, message, sms_encoding,
    sms_segments`` of exactly the leads of ``base(lead_id, phone, variant, tz_override, ...)``
    (after :func:`store`: each has one current row): the cache's message columns beside the
    others of ``base``. Rows of leads no longer in the campaign (or no longer planned) are
    deleted."""
    where = f"campaign_id = {int(spec.campaign_id)} AND fp = $fp"
    params = {"fp": fingerprint(spec)}
    mine = con.execute(f"SELECT count(*) FROM {table} WHERE {where}", params).fetchall()[0][0]
    if mine != con.execute(f"SELECT count(*) FROM {base}").fetchall()[0][0]:
        with writing(con):
            con.execute(f"DELETE FROM {table} WHERE {where} AND lead_id NOT IN (SELECT lead_id FROM {base})", params)
    return con.sql(f"SELECT b.lead_id, b.phone AS phone_number, b.variant, b.tz_override, "
                   f"{', '.join(f'c.{c}' for c in COLUMNS[2:])} FROM {table} c JOIN {base} b ON b.lead_id = c.lead_id "
                   f"WHERE c.{where.replace(' AND ', ' AND c.')}", params=params)
