"""Build a campaign's delivery plan set-wise in DuckDB (on the analytics mirror of the store).

One wide relation of lead size is made, ``plan_base``: each lead's person, phone, place, the send
path's skip reason and what its content decides (the per-lead content checks and ``timezone``
override, kept per lead with the person's place by :mod:`._content_cache` and computed only for
leads whose variables, arm or templates changed; places by :mod:`._zones`, cached per person by
:mod:`._zone_cache`), read by two queries, the leads with their users and the cache's rows, put
side by side in lead order (:func:`._content_cache.beside`; one join when the cache's rows are not
exactly the leads'); once every lead's row is current, the cached message columns are read apart,
by a scan of the cache. Then send moments per
distinct zone key, computed in Python (:mod:`._spec`, :mod:`._windows`), given to each lead by
its key's row (a gather in Arrow, no join: ``_plan_rows``, narrow); the limits (:mod:`._limits`) read
those rows and leave small tables; the final query applies them and returns narrow rows (no
text but the decisions), beside which the message columns are put, and the shown zone, time
and cost columns come from small tables (:mod:`._present`). Python work is per zone key or per group of numbers, never per lead. The
send engine asks only for the decisions (``decisions_only``: no message, zones or prices).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from campaign_sdk.delivery import _details as details
from campaign_sdk.delivery import _limits
from campaign_sdk.delivery import _memo as memo
from campaign_sdk.delivery._frame import PLAN_COLUMNS, DeliveryPlan
from campaign_sdk.delivery._present import decorate, free_sql, gather
from campaign_sdk.delivery._render import (
    LeadTemplate,
    arm_sql,
)
from campaign_sdk.delivery._schedule import scheduler_sql
from campaign_sdk.delivery._reasons import SKIP
from campaign_sdk.delivery._spec import (
    SKIPS,
    PlanSpec,
    aware,
    moments,
    naive,
    zone_names,
)
from campaign_sdk.delivery._windows import earliest_local
from campaign_sdk.delivery import _content_cache as content_cache
from campaign_sdk.delivery import _zone_cache as zone_cache
from campaign_sdk.facts.errors import ErrorKind

MIRROR_TABLES = ("campaigns", "users", "leads", "messages", "replies")
BASE_TABLES = ("leads", "users", "messages")  # what ``plan_base`` is read from (with the content cache)
DECISION_COLUMNS = ["lead_id", "action", "reason", "send_at", "scheduler"]
_TEMP = ("plan_base", "_plan_delta", "_content_new", "plan_zones", "_plan_phone", "_zone_new", "_zone_found", *_limits.TEMP)


def _base(con: duckdb.DuckDBPyConnection, spec: PlanSpec, content: str, *, shown: bool,
          versions: tuple[object, ...] | None, changed: Changed | None,
          saved_at: tuple[str | None, str | None] = (None, None)) -> tuple[pa.Table | None, memo.Kept]:
    """Register ``plan_base``: each lead's person, phone, place, the send path's skip reason
    (``own_reason``) and what its content decides (:mod:`._content_cache`: ``tz_override``,
    ``content_reason``), read from the leads, their users, their messages and the content cache
    (one row per lead, with its person's place: :func:`_found`, :func:`_messaged`), in Arrow
    (quicker to make and to scan than a table); the content and places not current in the
    caches are computed first (:func:`_complete`). The rows are kept in memory, and the next
    plan reads only what changed since (:mod:`._memo`: ``versions``, the mirror's generations
    of :data:`BASE_TABLES`; ``changed``, which ids of a table changed since one of them); and
    a file mirror's (``saved_at``: its path and identity) saved beside it at close, for the
    first plan of a later process to start from (:func:`._memo.load`). With ``shown`` the
    cached message columns are read by a scan of the cache (not carried through the query's
    joins: wide rows cost the hash join most) and returned beside the number, arm and
    ``timezone`` value (in lead order, as :func:`._content_cache.shown` gives them; None, for
    that join, if the cache holds rows of other leads too); and the kept rows."""
    query = _leads_sql(spec, content)
    params: dict[str, object] = {"c": spec.campaign_id, "fp": content_cache.fingerprint(spec)}

    def found_by() -> tuple[object, ...] | None:
        return memo.proof(versions, content_cache.state(con), query, sorted(params.items()))

    def saved_by() -> memo.Disk | None:  # after the caches' last write (their stamp); none for a mirror in memory
        path, identity = saved_at
        if path is None or identity is None:
            return None
        return memo.Disk(path, identity, content_cache.stamp(con), memo.digest(query, sorted(params.items())))

    kept, how = memo.recall(con, found_by()), "reused"
    if kept is None:
        kept = memo.load(con, saved_by(), found_by())
    if kept is not None and kept.versions != versions:
        kept, how = _patched(con, spec, content, params, kept, versions, changed)
        if kept is not None:
            kept.proof, kept.disk = found_by(), saved_by()  # after its own writes to the cache, if any
    if kept is None:
        how = "read"
        rows = _found(con, spec, content, params)
        if not _current(rows):
            rows = _complete(con, spec, content, rows, "plan_base")
        kept = memo.keep(con, found_by(), rows, _messaged(con, spec, rows), versions)
        kept.disk = saved_by()
    memo.STATS[how] += 1
    found = kept.found
    con.register("plan_base", found)
    if not shown:
        return None, kept
    if kept.shown is None:
        # every row current: its number, arm and timezone value are the cached ones, and its
        # message columns are the cache's own, read by a scan of the cache (no join of the wide rows)
        cached = _arrow(con, content_cache.cached(content), params)
        if not found.column("lead_id").equals(cached.column("lead_id")):
            return None, kept  # the cache holds rows of other leads too: the caller's join, which deletes them
        kept.shown = _beside(memo.own(found), cached)
    return kept.shown, kept


Changed = Callable[[str, object], "pa.Array | None"]  # ``Mirror.changed``


def _current(rows: pa.Table) -> bool:
    """Every row's content and place are current in the cache."""
    return pc.all(rows.column("known")).as_py() is not False and pc.all(rows.column("placed")).as_py() is not False


def _complete(con: duckdb.DuckDBPyConnection, spec: PlanSpec, content: str, rows: pa.Table, table: str) -> pa.Table:
    """``rows`` (:func:`_found`'s) with the content of the leads whose cached content is not
    current computed and the places not found resolved, both kept in the caches (through the
    temp table ``table``, dropped): what :func:`_found` reads next time (every row current)."""
    con.register("_plan_found", rows)
    try:
        computed = content_cache.compute(con, spec, "_plan_found")
        if computed:  # the new content beside the cached, with what the cache keeps of it (``new_*``)
            taken = ", ".join(f"CASE WHEN f.known THEN f.{c} ELSE n.{c} END AS {c}" for c in content_cache.DECIDING)
            new = ", ".join(f"n.{c} AS new_{c}" for c in ("vh", *content_cache.COLUMNS[2:]))
            con.execute(f"""CREATE OR REPLACE TEMP TABLE {table} AS SELECT f.* REPLACE ({taken}), {new}
                            FROM _plan_found f LEFT JOIN _content_new n ON n.lead_id = f.lead_id""")
        else:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM _plan_found")
    finally:
        con.unregister("_plan_found")
        con.execute("DROP TABLE IF EXISTS _content_new")
    try:
        if pc.any(rows.column("unplaced")).as_py():
            zone_cache.fill(con, table)
        content_cache.store(con, spec, content, table, computed)
        # every row current now (what the cache holds for it, as :func:`_found` would read it)
        current = {"known": "true", "placed": "true", "unplaced": "place IS NULL AND plus"}
        columns = ", ".join(f"{current[c]} AS {c}" if c in current else c for c in rows.column_names)
        return _arrow(con, f"SELECT {columns} FROM {table}").cast(rows.schema)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _patched(con: duckdb.DuckDBPyConnection, spec: PlanSpec, content: str, params: dict[str, object],
             kept: memo.Kept, versions: tuple[object, ...] | None,
             changed: Changed | None) -> tuple[memo.Kept | None, str]:
    """``kept`` brought up to the mirror's ``versions`` (of :data:`BASE_TABLES`): the rows of the
    leads whose row or whose person's row changed read again (their content computed if it is
    not current) and put in place (:func:`._memo.patch`); the messages' skip reasons found
    again if the messages or those rows changed. None when the changed rows are not known, or
    so many that reading every row is quicker; and ``patched`` (something was read) or ``reused``."""
    if versions is None or kept.versions is None or changed is None:
        return None, "read"
    lead_ids = changed("leads", kept.versions[0]) if versions[0] != kept.versions[0] else pa.array([], pa.int64())
    user_ids = changed("users", kept.versions[1]) if versions[1] != kept.versions[1] else pa.array([], pa.int64())
    if lead_ids is None or user_ids is None:
        return None, "read"
    ids = [lead_ids.cast(pa.int64())]
    if len(user_ids):  # the kept leads of those people (a new lead of theirs is a changed lead)
        mine = pc.is_in(kept.rows.column("user_id"), value_set=user_ids.cast(pa.int64()))
        ids.append(pc.filter(kept.rows.column("lead_id"), mine).combine_chunks().cast(pa.int64()))
    leads = np.unique(pa.concat_arrays(ids).to_numpy())
    if len(leads) > max(PATCH_MIN, len(kept.rows) // 20):
        return None, "read"
    if len(leads):
        where = "AND id IN (SELECT id FROM _plan_changed)"
        con.register("_plan_changed", pa.table({"id": leads}))
        try:
            rows = _arrow(con, _leads_sql(spec, content, where), params)
            if not _current(rows):
                rows = _complete(con, spec, content, rows, "_plan_delta")
            shown = None
            if kept.shown is not None:
                cached = _arrow(con, f"{content_cache.cached(content)} AND lead_id IN (SELECT id FROM _plan_changed)",
                                params)
                shown = _beside(memo.own(rows), cached) if rows.column("lead_id").equals(cached.column("lead_id")) else None
        finally:
            con.unregister("_plan_changed")
        ours = kept.rows.column("lead_id").to_numpy()
        at = np.minimum(np.searchsorted(ours, leads), len(ours) - 1)
        if len(rows) or (len(ours) and (ours[at] == leads).any()):  # else only other campaigns' leads changed
            kept.rows = memo.patch(kept.rows, leads, rows)
            kept.shown = None if shown is None or kept.shown is None else memo.patch(kept.shown, leads, shown)
            kept.derived.clear()
        else:
            leads = leads[:0]
    how = "patched" if len(leads) or versions[2] != kept.versions[2] else "reused"
    if how == "patched":
        kept.found = _messaged(con, spec, kept.rows)
    kept.versions = versions
    return kept, how


PATCH_MIN = 1000  # leads whose rows are read again rather than every row (or a twentieth, if more)


def _leads_sql(spec: PlanSpec, content: str | None, where: str = "") -> str:
    """SQL of each lead of the campaign $c (``where``: and that condition on its row) with its
    person, phone, whether that phone can be placed (``plus``) and the skip reason of the lead
    or its person (``own``; its messages' are added by :func:`_messaged`), joined to its row in
    the content cache ``content`` ($fp: the fingerprint) for ``place, known, placed, unplaced``
    and :data:`._content_cache.DECIDING`; without ``content`` (None), what those are checked
    with (:data:`._content_cache.CHECKED`). ``own`` is its index in :func:`_own_reasons`."""
    code = _own_reasons(spec).index
    skip = arm_sql(spec.arms, "l.variant", lambda x: "NULL" if isinstance(x, LeadTemplate) else str(code(x)))
    cached = content_cache.CHECKED if content is None else f"""{content_cache.PLACE} AS place,
               {content_cache.KNOWN} AS known, {content_cache.PLACED} AS placed,
               {content_cache.PLACE} IS NULL AND u.phone_number LIKE '+%' AS unplaced,
               {", ".join(f"cc.{c}" for c in content_cache.DECIDING)}"""
    return f"""
        SELECT l.id AS lead_id, l.user_id, u.phone_number AS phone, l.variant, {cached},
               u.phone_number LIKE '+%' AS plus,
               (CASE WHEN l.removed_at IS NOT NULL THEN {code("removed")}
                    WHEN {skip} IS NOT NULL THEN {skip}
                    WHEN u.opted_out_at IS NOT NULL THEN {code("opted_out")}
               END)::USMALLINT AS own  -- its index in _own_reasons (a number is quicker to make than text)
        FROM (SELECT id, campaign_id, user_id, variant, removed_at, hash(custom_variables) AS vh
              FROM leads WHERE campaign_id = $c {where}) l  -- the variables' hash, not their text, joined on
        JOIN users u ON u.id = l.user_id
        {"" if content is None else content_cache.JOIN.format(table=content)}
    """


def _found(con: duckdb.DuckDBPyConnection, spec: PlanSpec, content: str, params: dict[str, object]) -> pa.Table:
    """The rows of :func:`_leads_sql` joined to the cache, in lead order. The leads and the
    cache rows are read apart, each by its own query, and put side by side
    (:func:`._content_cache.beside`: the wide hash join of the cache with the leads and users
    costs most of the query); the join only when the cache's rows are not exactly the leads'."""
    cached = _arrow(con, content_cache.deciding(content), params)
    if len(cached):  # no cached row (the first plan): the join at once
        leads = _arrow(con, _leads_sql(spec, None), {"c": params["c"]})
        found = content_cache.beside(leads, cached)
        if found is not None:
            content_cache.STATS["beside"] += 1
            return found
    content_cache.STATS["joined"] += 1
    return _arrow(con, _leads_sql(spec, content), params)


# the send path's own skip reasons, besides the arms' (:func:`_own_reasons`)
_OWN = ("removed", "opted_out", "already_messaged", "failed_before", "unresolved", "invalid_number")
# a lead's messages: the skip reason the worst of them gives (3: one was sent, 2: one failed, 1:
# one is unresolved; canceled ones do not count), and the people a message found the number of invalid
_MESSAGED = """SELECT lead_id, max(CASE WHEN sid IS NOT NULL THEN 3 WHEN error_kind IS NOT NULL THEN 2 ELSE 1 END)::UTINYINT
               FROM messages WHERE campaign_id = $c AND status <> 'canceled' GROUP BY lead_id"""
_INVALID = f"SELECT DISTINCT user_id FROM messages WHERE error_kind = '{ErrorKind.INVALID_NUMBER.value}'"


def _own_reasons(spec: PlanSpec) -> list[str]:
    """The names of ``own``'s values in :func:`_leads_sql` (by index): :data:`_OWN` and the
    arms' skip reasons."""
    return list(dict.fromkeys([*_OWN, *(x for _, x in spec.arms if not isinstance(x, LeadTemplate))]))


def _messaged(con: duckdb.DuckDBPyConnection, spec: PlanSpec, rows: pa.Table) -> pa.Table:
    """``rows`` (:func:`_found`'s, in lead order) with ``own_reason``, the send path's skip
    reason: the lead's or its person's (``own``), else its messages' (:data:`_MESSAGED`), else
    ``invalid_number`` for a number not in E.164 or one a message found invalid; by name."""
    names = _own_reasons(spec)
    none = len(names)
    code = pc.fill_null(rows.column("own"), none).to_numpy().astype(np.int32)
    ids = rows.column("lead_id").to_numpy()
    state = con.sql(_MESSAGED, params={"c": spec.campaign_id}).to_arrow_table()
    if len(state):
        at = np.searchsorted(ids, state.column(0).to_numpy())
        ours = at < len(ids)
        ours[ours] = ids[at[ours]] == state.column(0).to_numpy()[ours]
        worst = np.zeros(len(ids), np.int32)
        worst[at[ours]] = state.column(1).to_numpy()[ours]
        by_state = np.array([none, names.index("unresolved"), names.index("failed_before"),
                             names.index("already_messaged")], np.int32)
        code = np.where(code == none, by_state[worst], code)
    invalid = pc.invert(pc.fill_null(rows.column("plus"), True))
    bad = con.sql(_INVALID).to_arrow_table().column(0)
    if len(bad):
        invalid = pc.or_(invalid, pc.is_in(rows.column("user_id"), value_set=bad.combine_chunks()))
    code = np.where((code == none) & invalid.to_numpy(zero_copy_only=False), names.index("invalid_number"), code)
    reason = pc.take(pa.array(names, pa.large_string()), pa.array(code, mask=code == none))
    return rows.append_column("own_reason", reason)


def _timed(con: duckdb.DuckDBPyConnection, spec: PlanSpec, found: pa.Table, times: pd.DataFrame,
           keys: pa.Array) -> str:
    """Register ``_plan_rows``, the timed plan rows (``lead_id, user_id, zkey, kidx, send_at,
    reason, live``) that the limits and the final query read, made in Arrow from ``found``
    (``plan_base``) and ``keys`` (each row's zone key): the key's row in ``times`` (``kidx``,
    one per zone key, in key order, with its ``send_at`` and ``time_reason``) gathered per lead
    (no join); the reason so far is the lead's own or its content's, else ``invalid_number``
    for a lead with no key, else its key's ``time_reason``. The frequency caps
    (:func:`._limits.caps`, which read this table) are applied to it here, and ``live``
    (:data:`._spec.LIVE` of the reason, which the messaging limit reads three times) is tested
    once. Returns the SQL of its rows."""
    kidx, missing = _key_rows(times["zkey"].to_numpy(np.int64), pc.fill_null(keys, -1).to_numpy())
    moment = np.append(times["send_at"].to_numpy("datetime64[us]"), np.datetime64("NaT", "us"))[kidx]
    text = pa.large_string()
    why = pa.array([*(r if isinstance(r, str) else None for r in times["time_reason"]), "invalid_number"], text)
    reason = pc.take(why, pa.array(kidx))
    own, content = found.column("own_reason").cast(text), found.column("content_reason").cast(text)
    decided = pc.or_(own.is_valid(), content.is_valid())  # the few leads with a reason of their own
    if pc.any(decided).as_py():
        reason = pc.replace_with_mask(reason, decided.combine_chunks(),
                                      pc.coalesce(own.filter(decided), content.filter(decided)).combine_chunks())
    table = pa.table({"lead_id": found.column("lead_id"), "user_id": found.column("user_id"),
                      "zkey": pa.array(np.append(times["zkey"].to_numpy(np.int64), -1)[kidx], pa.int64(), mask=missing),
                      "kidx": pa.array(kidx, pa.int64(), mask=missing),
                      "send_at": pa.array(moment, pa.timestamp("us"), mask=missing | np.isnat(moment)),
                      "reason": reason})
    skips = pa.array(list(SKIP), text)
    table = table.append_column("live", pc.invert(pc.is_in(reason, value_set=skips)))
    con.register("_plan_rows", table)
    if _limits.caps(con, spec, "SELECT * FROM _plan_rows"):
        capped = con.sql("SELECT lead_id FROM _plan_capped").to_arrow_table().column(0)
        hit = pc.is_in(table.column("lead_id"), value_set=capped.combine_chunks()).combine_chunks()
        if hit.true_count:
            table = table.set_column(5, "reason", pc.replace_with_mask(
                table.column(5).combine_chunks(), hit, pa.array(["frequency_cap"] * hit.true_count, text)))
            table = table.set_column(6, "live", pc.and_not(table.column(6), hit))
            con.register("_plan_rows", table)
    return "SELECT * FROM _plan_rows"


def _key_rows(zkeys: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each ``wanted`` key's row in ``zkeys`` (distinct keys) and where it is not there (or
    negative: no key), whose row is then ``len(zkeys)``: by a table indexed by key when the keys
    are small (a gather), else by a sorted search."""
    missing_row = len(zkeys)
    if not len(zkeys):
        return np.full(len(wanted), missing_row, np.int64), np.ones(len(wanted), bool)
    top = int(max(zkeys.max(), wanted.max(initial=0)))
    if zkeys.min() >= 0 and top < max(1 << 20, 4 * len(wanted)):
        table = np.full(top + 2, missing_row, np.int64)
        table[zkeys] = np.arange(len(zkeys))
        rows = table[np.where(wanted < 0, top + 1, wanted)]
    else:
        order = np.argsort(zkeys, kind="stable")
        at = order[np.minimum(np.searchsorted(zkeys, wanted, sorter=order), len(zkeys) - 1)]
        rows = np.where((wanted >= 0) & (zkeys[at] == wanted), at, missing_row)
    return rows, rows == missing_row


def _locals(keys: pd.DataFrame, times: pd.DataFrame,
            moved: pd.DataFrame | None) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Shown zone and wall-clock time of each distinct (zone key, send moment) of ``times`` (a
    row per zone key) and ``moved`` (the messaging limit's moved moments, if any), and each of
    their rows' row in it (-1: no moment): what a lead's ``kidx`` (or its moved row) points to."""
    zones = dict(zip(keys["zkey"], keys["zones"]))
    pairs = [times[["zkey", "send_at"]]] + ([moved[["zkey", "send_at"]]] if moved is not None else [])
    every = pd.concat(pairs, ignore_index=True)
    rows: list[tuple[object, ...]] = []
    at: dict[tuple[object, object], int] = {}
    for zkey, send_at in every.dropna().drop_duplicates().itertuples(index=False):
        names = zones.get(zkey)
        shown = earliest_local(zone_names(names), aware(send_at)) if isinstance(names, str) else (None, None)
        at[(zkey, send_at)] = len(rows)
        rows.append((zkey, send_at, *shown))
    frame = pd.DataFrame(rows, columns=["zkey", "send_at", "zone", "local_send_time"])
    frame["send_at"] = pd.to_datetime(frame["send_at"]).astype("datetime64[us]")
    frame["local_send_time"] = pd.to_datetime(frame["local_send_time"]).astype("datetime64[us]")
    found = np.array([at.get((z, t), -1) if not pd.isna(t) else -1 for z, t in every.itertuples(index=False)], np.int64)
    return frame, found[:len(times)], found[len(times):]


# the values of ``action`` and ``scheduler`` (:func:`_decided` gives their index: a number is
# quicker to make than text; :func:`_labelled` names them)
ACTIONS = ("holdout", "skip", "defer", "send")
SCHEDULERS = ("now", "twilio", "worker")
_LIVE_ACTION = ACTIONS.index("defer")  # this index and above: sent or deferred


def _decided(spec: PlanSpec) -> str:
    """The decision columns, from a relation with ``reason``, ``send_at`` and ``skipped``
    ($now: now); ``action`` and ``scheduler`` as indexes into :data:`ACTIONS` and :data:`SCHEDULERS`."""
    scheduler = scheduler_sql("send_at", twilio=spec.twilio_scheduling, reason="reason")
    coded = " ".join(f"WHEN '{name}' THEN {i}" for i, name in enumerate(SCHEDULERS))
    action = ACTIONS.index
    return f"""(CASE WHEN reason IN ('holdout', 'global_holdout') THEN {action("holdout")} WHEN skipped THEN {action("skip")}
                    WHEN send_at > $now THEN {action("defer")} ELSE {action("send")} END)::UTINYINT AS action,
               CASE WHEN skipped THEN NULL ELSE send_at END AS send_at,
               (CASE WHEN skipped THEN NULL ELSE CASE {scheduler} {coded} END END)::UTINYINT AS scheduler"""


def _labelled(table: pa.Table) -> pa.Table:
    """``table`` with the ``action`` and ``scheduler`` indexes of :func:`_decided` named."""
    for column, names in (("action", ACTIONS), ("scheduler", SCHEDULERS)):
        at = table.schema.get_field_index(column)
        table = table.set_column(at, column, pc.take(pa.array(names, pa.large_string()), table.column(at)))
    return table


_SKIPPED = f"coalesce(r.reason IN {SKIPS}, false)"


def _arrow(con: duckdb.DuckDBPyConnection, relation: str | duckdb.DuckDBPyRelation,
           params: dict[str, object] | None = None) -> pa.Table:
    """The rows of ``relation`` (SQL or a relation) as an Arrow table in lead order (strings as
    ``large_string``, what pandas' Arrow-backed ``str`` holds: no cast)."""
    large = con.execute("SELECT current_setting('arrow_large_buffer_size')").fetchall()[0][0]
    con.execute("SET arrow_large_buffer_size = true")
    try:
        found = con.sql(relation, params=params) if isinstance(relation, str) else relation
        return _by_lead(found.to_arrow_table())
    finally:
        con.execute(f"SET arrow_large_buffer_size = {bool(large)}")


def _beside(left: pa.Table, right: pa.Table) -> pa.Table:
    """The columns of ``right`` added to ``left``, row by row by ``lead_id`` (both in lead order,
    of the same leads: no join; a join should they ever differ)."""
    if left.column("lead_id").equals(right.column("lead_id")):
        for name in right.column_names[1:]:
            left = left.append_column(name, right.column(name))
        return left
    return _by_lead(left.join(right, "lead_id", join_type="left outer"))  # pragma: no cover


def _decisions(con: duckdb.DuckDBPyConnection, spec: PlanSpec, rows: str, params: dict[str, object]) -> pd.DataFrame:
    """Only the decision columns (what send() reads): no message, segments, zones or cost."""
    query = f"""SELECT lead_id, reason, {_decided(spec)}
                FROM (SELECT r.lead_id, r.reason, r.send_at, {_SKIPPED} AS skipped FROM ({rows}) r)"""
    return _labelled(_arrow(con, query, {"now": naive(spec.now), **params})).to_pandas()


def _finish(con: duckdb.DuckDBPyConnection, spec: PlanSpec, keys: pd.DataFrame, times: pd.DataFrame,
            moved: pd.DataFrame | None, rows: str, params: dict[str, object], shown: pa.Table) -> tuple[pd.DataFrame, str]:
    """Every column of the plan: the decisions with the zone and moment indexes (one pass over
    the rows, narrow: no text but the decisions; a lead's moment is its key's row of ``times``,
    or its row of ``moved`` (``tier_row``, :func:`._limits.tier_step`) when the messaging limit
    moved it), the number, arm, ``timezone`` value and cached message columns ``shown`` (in lead
    order) beside them, then the reasons' details (:mod:`._details`) and the shown zone, time
    and cost columns (:func:`decorate`)."""
    countries = [c for c in keys["country"].dropna().unique().tolist()]
    prices, source = spec.prices(countries)
    places, by_key, by_move = _locals(keys, times, moved)
    test = free_sql(spec)  # a WhatsApp message Meta bills as service
    free = f",\n                   {test} AS free" if test is not None else ""
    service = details.service_sql(spec)  # the detail of a free-form message outside the window
    why, replies = (f",\n                   {service[0]} AS detail", service[1]) if service else ("", "")
    mrow = ", coalesce(r.tier_row, -1) AS mrow" if moved is not None else ""
    query = f"""
        WITH joined AS (
            SELECT r.lead_id, r.reason, r.send_at, coalesce(r.kidx, -1) AS kidx{mrow},
                   {_SKIPPED} AS skipped{free}{why}
            FROM ({rows}) r
            {replies})
        SELECT *, action >= {_LIVE_ACTION} AS live FROM (
            SELECT lead_id, kidx{", mrow" if mrow else ""}, reason, {_decided(spec)}{", free" if free else ""}{", detail" if why else ""}
            FROM joined)
    """
    table = _arrow(con, query, {"now": naive(spec.now), **params})
    # the moment's row in ``places``: of the key's moment, or of the moved one (-1: skipped or none)
    at = gather(table.column("kidx").to_numpy(), by_key, -1)
    if moved is not None:
        move = table.column("mrow").to_numpy()
        at = np.where(move >= 0, gather(move, by_move, -1), at)
        table = table.drop_columns(["mrow"])
    at = np.where(table.column("live").to_numpy(zero_copy_only=False), at, -1)
    table = _beside(_labelled(table.append_column("lidx", pa.array(at))), shown)
    frame = details.with_details(table, details.cap_details(con, spec)).to_pandas()
    return decorate(frame, spec, keys, places, prices), source


def _by_lead(table: pa.Table) -> pa.Table:
    """``table`` in lead order, without an ORDER BY that would make DuckDB sort the wide rows:
    DuckDB's threads return the rows in blocks (row groups), each in lead order, so the sorted
    table is those blocks in another order, put together from zero-copy slices. (Rows in no
    such order would be gathered one by one.)"""
    ids = table.column("lead_id").to_numpy()
    starts = np.r_[0, np.flatnonzero(ids[1:] < ids[:-1]) + 1]  # the runs in lead order
    if len(starts) == 1:
        return table
    if len(starts) <= 4096:  # the runs by their first lead: one pass, no sort, when they do not overlap
        ends = np.r_[starts[1:], len(ids)]
        runs = np.argsort(ids[starts], kind="stable")
        if (ids[ends[runs[:-1]] - 1] < ids[starts[runs[1:]]]).all():
            return pa.concat_tables([table.slice(starts[i], ends[i] - starts[i]) for i in runs])
    order = np.argsort(ids, kind="stable")  # a merge sort: quick on a few sorted runs
    rank = np.empty_like(order)
    rank[order] = np.arange(len(ids))
    starts = np.r_[0, np.flatnonzero(np.diff(rank) != 1) + 1]
    if len(starts) == 1:
        return table
    if len(starts) > 4096:
        return table.take(pa.array(order))
    ends = np.r_[starts[1:], len(ids)]
    return pa.concat_tables([table.slice(starts[i], ends[i] - starts[i]) for i in np.argsort(rank[starts])])


def build_plan(con: duckdb.DuckDBPyConnection, spec: PlanSpec, *, decisions_only: bool = False,
               versions: tuple[object, ...] | None = None, changed: Changed | None = None,
               saved_at: tuple[str | None, str | None] = (None, None)) -> DeliveryPlan:
    """The plan of ``spec.campaign_id`` on the mirror connection ``con`` (already refreshed);
    ``decisions_only``: only ``lead_id, action, reason, send_at, scheduler`` (the same values),
    for the send engine: no message, segments, zones or prices. ``versions``: the mirror's
    generations of :data:`BASE_TABLES` (``Mirror.versions``), under which the lead rows of a
    plan are kept in memory for the next one, which reads only the rows that changed since
    (``changed``: ``Mirror.changed``; :mod:`._memo`; ``versions`` None: they are read every time);
    ``saved_at``: a file mirror's path and identity, beside which they are saved at its close."""
    views = ["plan_base", "_plan_rows", "_tier_moved"]
    try:
        schema = zone_cache.prepare(con)
        content = content_cache.prepare(con, schema)
        shown, kept = _base(con, spec, content, shown=not decisions_only, versions=versions, changed=changed,
                            saved_at=saved_at)
        keys, per_row = zone_cache.zone_keys(con, kept.found, kept.derived)
        times = moments(keys, spec)
        # kidx: the key's row in ``keys``, where the shown columns find its zones and country
        rows = _timed(con, spec, kept.found, times, per_row)
        tiered = _limits.tier(con, spec, keys, rows)
        if tiered is not None:
            con.register("_tier_moved", tiered.moved.assign(midx=range(len(tiered.moved))))
            rows = _limits.tier_step(rows, tiered)
        rows, params = _limits.stale_step(spec, rows)
        if decisions_only:
            frame, source = _decisions(con, spec, rows, params), None
        else:
            if shown is None:
                shown = _arrow(con, content_cache.shown(con, spec, content, "plan_base"))
            frame, source = _finish(con, spec, keys, times, None if tiered is None else tiered.moved, rows, params, shown)
    finally:
        for view in views:
            with contextlib.suppress(duckdb.Error):
                con.unregister(view)
        for table in _TEMP:
            with contextlib.suppress(duckdb.Error):  # plan_base may have been a registered view
                con.execute(f"DROP TABLE IF EXISTS {table}")
    frame["send_at"] = pd.to_datetime(frame["send_at"]).dt.tz_localize("UTC")
    plan = DeliveryPlan(frame[DECISION_COLUMNS if decisions_only else PLAN_COLUMNS])
    plan.attrs.update(campaign_id=spec.campaign_id, now=spec.now, price_source=source)
    return plan
