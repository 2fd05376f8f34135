"""Adding and removing a campaign's leads in bulk, inside the caller's transaction.

A load's validated rows are held in memory (Arrow) up to :data:`BUFFER_BYTES`. When they fit, the
last row per phone number is found there (one integer sort) and only those rows are written to a
temporary table, in phone order, so every later statement reads the users' index sequentially. A
larger load (or one naming users by id) goes to a staging table as it comes, and the database
finds the last rows instead (an index on SQLite). Writing is ``executemany`` on SQLite and
``COPY`` on PostgreSQL; then a few set-based statements do the rest: create the users that are
new (``INSERT ... ON CONFLICT DO NOTHING``), classify each winner against the campaign's leads and
insert / update them. Nothing is committed here: the caller's transaction makes the whole load
atomic.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaign_sdk.facts.numbers import E164_PATTERN
from campaign_sdk.models import (
    Campaign,
    CampaignLead,
    ConversationUser,
    UTCDateTime,
    utcnow,
)

STAGE = "campaign_sdk_lead_stage"  # rows as they came, when they do not fit in memory
SORTED = "campaign_sdk_lead_sorted"  # the last row per phone, in phone order
WINNERS = "campaign_sdk_lead_winners"  # per SORTED row: its user, its lead and what to do
INSERT, UPDATE, UNCHANGED, OPTED_OUT = range(4)
_STAGE_COLUMNS = ("row_no", "phone", "user_id", "variables", "missing")
_COPY_BYTES = 8 << 20
BUFFER_BYTES = 160 << 20  # validated rows deduplicated in memory up to this size (~1.5M short leads)


@dataclass(frozen=True)
class NormalizedLead:
    """One lead ready to store: an E.164 number (or a known user id) and string variables."""

    phone_number: str | None
    custom_variables: dict[str, str]
    conversation_user_id: int | None = None
    row: int | None = None


@dataclass
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_opted_out: int = 0
    unknown_user_rows: list[int | None] | None = None


@dataclass
class StageResult:
    """What :meth:`LeadStage.finish` did. Row numbers are the ones given to :meth:`LeadStage.append`.

    ``duplicates`` holds ``(row, kept_row, phone)`` for rows that lost to a later row of the same
    user; ``missing`` holds ``(row, phone, mask)`` for stored leads whose ``missing`` mask is not 0.
    """

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_opted_out: int = 0
    unknown_users: list[tuple[int, int]] = field(default_factory=list)
    duplicates: list[tuple[int, int, str]] = field(default_factory=list)
    opted_out: list[tuple[int, str]] = field(default_factory=list)
    missing: list[tuple[int, str, int]] = field(default_factory=list)


class LeadStage:
    """A bulk upsert of one campaign's leads, staged in temporary tables.

    Rows are ``(row_no, phone, user_id, variables, missing)``: an E.164 ``phone`` or an existing
    ``user_id`` (the other is null), ``variables`` as JSON object text, and ``missing``, an
    integer the caller uses as a bit mask of absent template variables (reported back for the
    stored leads). Within the load the last row (highest ``row_no``) of each user wins.

    >>> stage = LeadStage(session, campaign)                                # doctest: +SKIP
    >>> stage.append(pa.table({"row_no": [0], "phone": ["+14155552671"], "user_id": [None],
    ...                        "variables": ['{"lead_name": "Ana"}'], "missing": [0]}))  # doctest: +SKIP
    >>> stage.finish().inserted                                             # doctest: +SKIP
    1

    Rows are held in memory up to ``buffer_bytes`` (default :data:`BUFFER_BYTES`) and
    deduplicated there; past that, or when rows name user ids, they go to a staging table as
    they come and the database deduplicates them. Either way the winners end up in one table,
    one row per phone in phone order, and the statements after that are the same.
    """

    def __init__(
        self, session: Session, campaign: Campaign, *, now: dt.datetime | None = None,
        buffer_bytes: int | None = None,
    ) -> None:
        session.flush()  # the statements below must see what the caller's ORM work has pending
        self._session = session
        self._campaign_id = campaign.id
        self._now = now or utcnow()
        self._connection = session.connection()
        self._pg = self._connection.dialect.name == "postgresql"
        self._temp = "pg_temp" if self._pg else "temp"
        self._key = "phone" if self._pg else "rowid"  # how WINNERS rows point at SORTED rows
        self.rows = 0
        self._by_id = 0  # rows naming a user id instead of a phone
        self._buffer: list[pa.Table] = []
        self._buffered_bytes = 0
        self._buffer_bytes = BUFFER_BYTES if buffer_bytes is None else buffer_bytes
        self._spilled = False  # rows are in the STAGE table, deduplicated by the database
        self._kept: pa.Table | None = None  # in memory: the SORTED rows' row_no, phone and missing
        self._losers: list[tuple[int, int, str]] = []  # in memory: (row, kept row, phone)
        if self._pg:  # sorts and hashes of a big load in memory; SET LOCAL ends with the transaction
            self._sql("SET LOCAL work_mem = '256MB'")
        self._drop()
        self._sql(
            f"CREATE TEMPORARY TABLE {SORTED} (phone VARCHAR(16) NOT NULL, variables TEXT NOT NULL, "
            f"row_no BIGINT, missing BIGINT, n BIGINT){self._on_commit}"  # the last three: staged path
        )

    @property
    def _on_commit(self) -> str:
        return " ON COMMIT DROP" if self._pg else ""

    def _sql(self, sql: str, **params: Any) -> sa.CursorResult[Any]:
        statement = sa.text(sql)
        if "now" in params:
            statement = statement.bindparams(sa.bindparam("now", type_=UTCDateTime()))
        return self._connection.execute(statement, params)

    def _drop(self) -> None:
        for table in (WINNERS, SORTED, STAGE):
            self._sql(f"DROP TABLE IF EXISTS {self._temp}.{table}")

    def append(self, batch: pa.Table) -> None:
        """Stage rows (a table with the columns ``row_no, phone, user_id, variables, missing``)."""
        batch = batch.select(list(_STAGE_COLUMNS))
        if not batch.num_rows:
            return
        self.rows += batch.num_rows
        self._by_id += batch.column("phone").null_count
        if self._spilled:
            self._write(STAGE, batch)
            return
        self._buffer.append(batch)
        self._buffered_bytes += batch.nbytes
        if self._by_id or self._buffered_bytes > self._buffer_bytes:
            self._spill()

    def _spill(self) -> None:
        """Move the buffered rows to the STAGE table; later rows go straight there."""
        if not self._spilled:
            self._sql(
                f"CREATE TEMPORARY TABLE {STAGE} (row_no BIGINT NOT NULL, phone VARCHAR(16), "
                f"user_id BIGINT, variables TEXT NOT NULL, missing BIGINT NOT NULL){self._on_commit}"
            )
            self._spilled = True
        buffered, self._buffer, self._buffered_bytes = self._buffer, [], 0
        for batch in buffered:
            self._write(STAGE, batch)

    def _write(self, table: str, batch: pa.Table) -> None:
        dbapi = self._connection.connection.dbapi_connection
        assert dbapi is not None
        columns = batch.column_names
        if self._pg:
            self._copy(dbapi, table, batch)
            return
        cursor = dbapi.cursor()
        try:
            for part in batch.to_batches(max_chunksize=100_000):
                cursor.executemany(
                    f"INSERT INTO temp.{table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                    list(zip(*(part.column(c).to_pylist() for c in columns))),
                )
        finally:
            cursor.close()

    def _copy(self, dbapi: Any, table: str, batch: pa.Table) -> None:
        buffer = io.BytesIO()
        pacsv.write_csv(batch, buffer, pacsv.WriteOptions(include_header=False))
        data = buffer.getbuffer()
        columns = ", ".join(batch.column_names)
        with dbapi.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy:
            for start in range(0, len(data), _COPY_BYTES):
                copy.write(data[start : start + _COPY_BYTES])

    def finish(self) -> StageResult:
        """Create new users, keep the last row per user and upsert the campaign's leads."""
        result = StageResult()
        if self.rows:
            self._sort()
            self._winners()
            counts: dict[int, int] = {
                int(a): int(n) for a, n in self._sql(f"SELECT action, count(*) FROM {WINNERS} GROUP BY action")
            }
            result.inserted, result.updated = counts.get(INSERT, 0), counts.get(UPDATE, 0)
            result.unchanged, result.skipped_opted_out = counts.get(UNCHANGED, 0), counts.get(OPTED_OUT, 0)
            self._apply()
            self._report(result)
        self._drop()
        for instance in list(self._session.identity_map.values()):  # loaded rows may be stale now
            if isinstance(instance, (CampaignLead, ConversationUser)):
                self._session.expire(instance)
        return result

    def _sort(self) -> None:
        """Fill SORTED with the last row per phone, in phone order, and create the new users."""
        if not self._spilled:
            if all(pc.all(pc.match_substring_regex(b.column("phone"), E164_PATTERN)).as_py() for b in self._buffer):
                buffered, self._buffer = pa.concat_tables(self._buffer), []
                winners, self._losers = last_per_phone(buffered)
                del buffered  # memory: the buffer or its sorted copy, not both
                self._write(SORTED, winners.select(["phone", "variables"]))  # all the statements need
                self._kept = winners.select(["row_no", "phone", "missing"])
                self._create_users(f"SELECT phone, :now FROM {SORTED} ORDER BY {self._key}")
                return
            self._spill()  # not E.164 text (a direct caller's input): let the database compare
        if not self._pg:  # one sort, then the steps below read the stage in phone order
            self._sql(f"CREATE INDEX temp.{STAGE}_phone ON {STAGE} (phone, row_no, missing, variables)")
        self._create_users(f"SELECT DISTINCT phone, :now FROM {STAGE} WHERE phone IS NOT NULL ORDER BY phone")
        rows = f"SELECT phone, row_no, variables, missing FROM {STAGE} WHERE phone IS NOT NULL"
        if self._by_id:  # rows naming a user by id count as rows of that user's phone
            rows += (
                f" UNION ALL SELECT u.phone_number, s.row_no, s.variables, s.missing FROM {STAGE} s "
                f"JOIN conversation_users u ON u.id = s.user_id WHERE s.phone IS NULL"
            )
        if self._pg:
            last = (
                f"SELECT DISTINCT ON (phone) phone, variables, row_no, missing, "
                f"count(*) OVER (PARTITION BY phone) FROM ({rows}) AS r ORDER BY phone, row_no DESC"
            )
        else:  # SQLite returns the other columns of the max() row (its documented bare-column rule)
            last = (
                f"SELECT phone, variables, max(row_no), missing, count(*) FROM ({rows}) AS r "
                f"GROUP BY phone ORDER BY phone"
            )
        self._sql(f"INSERT INTO {SORTED} (phone, variables, row_no, missing, n) {last}")

    def _create_users(self, phones: str) -> None:
        self._sql(
            f"INSERT INTO conversation_users (phone_number, created_at) {phones} "
            f"ON CONFLICT (phone_number) DO NOTHING",
            now=self._now,
        )

    def _winners(self) -> None:
        """Every SORTED row's user, lead and what to do with it (an ``action``), in phone order."""
        if self._pg:
            differs = "CAST(l.custom_variables AS JSONB) IS DISTINCT FROM CAST(s.variables AS JSONB)"
        else:
            differs = "l.custom_variables IS NOT s.variables"
        self._sql(
            f"CREATE TEMPORARY TABLE {WINNERS}{self._on_commit} AS "
            f"SELECT s.{self._key} AS k, u.id AS user_id, l.id AS lead_id, "
            f"CASE WHEN u.opted_out_at IS NOT NULL THEN {OPTED_OUT} WHEN l.id IS NULL THEN {INSERT} "
            f"WHEN l.removed_at IS NOT NULL OR {differs} THEN {UPDATE} ELSE {UNCHANGED} END AS action "
            f"FROM {SORTED} s JOIN conversation_users u ON u.phone_number = s.phone "
            f"LEFT JOIN campaign_leads l ON l.campaign_id = :campaign AND l.user_id = u.id",
            campaign=self._campaign_id,
        )

    def _apply(self) -> None:
        variables = "CAST(s.variables AS JSON)" if self._pg else "s.variables"
        joined = f"{WINNERS} w JOIN {SORTED} s ON s.{self._key} = w.k"
        self._sql(
            f"INSERT INTO campaign_leads (campaign_id, user_id, custom_variables, created_at, updated_at) "
            f"SELECT :campaign, w.user_id, {variables}, :now, :now FROM {joined} "
            f"WHERE w.action = {INSERT} ORDER BY w.user_id "
            f"ON CONFLICT (campaign_id, user_id) DO UPDATE SET custom_variables = excluded.custom_variables, "
            f"removed_at = NULL, skip_reason = NULL, skipped_at = NULL, updated_at = excluded.updated_at",
            campaign=self._campaign_id, now=self._now,
        )
        self._sql(
            # changed or back from removal: pending again, a send's skip mark is cleared (it decides again)
            f"UPDATE campaign_leads SET custom_variables = {variables}, removed_at = NULL, skip_reason = NULL, "
            f"skipped_at = NULL, updated_at = :now "
            f"FROM {joined} WHERE campaign_leads.id = w.lead_id AND w.action = {UPDATE}",
            now=self._now,
        )

    def _report(self, result: StageResult) -> None:
        if self._by_id:
            result.unknown_users = [
                (int(r), int(u)) for r, u in self._sql(
                    f"SELECT s.row_no, s.user_id FROM {STAGE} s LEFT JOIN conversation_users u "
                    f"ON u.id = s.user_id WHERE s.phone IS NULL AND u.id IS NULL ORDER BY s.row_no"
                )
            ]
        joined = f"{SORTED} s JOIN {WINNERS} w ON w.k = s.{self._key}"
        if self._kept is not None:  # found in memory: only who opted out is in the database
            opted = [p for (p,) in self._sql(f"SELECT s.phone FROM {joined} WHERE w.action = {OPTED_OUT}")]
            result.duplicates = sorted(self._losers)
            result.opted_out, result.missing = _kept_reports(self._kept, opted)
            return
        duplicates = (
            f"SELECT s.row_no, w.row_no AS kept, w.phone FROM {SORTED} w JOIN {STAGE} s ON s.phone = w.phone "
            f"WHERE w.n > 1 AND s.row_no <> w.row_no"
        )
        if self._by_id:
            duplicates += (
                f" UNION ALL SELECT s.row_no, w.row_no, w.phone FROM {STAGE} s "
                f"JOIN conversation_users u ON u.id = s.user_id JOIN {SORTED} w ON w.phone = u.phone_number "
                f"WHERE s.phone IS NULL AND s.row_no <> w.row_no"
            )
        result.duplicates = [
            (int(r), int(k), p) for r, k, p in self._sql(f"SELECT * FROM ({duplicates}) AS d ORDER BY row_no")
        ]
        result.opted_out = [
            (int(r), p) for r, p in self._sql(
                f"SELECT s.row_no, s.phone FROM {joined} WHERE w.action = {OPTED_OUT} ORDER BY s.row_no"
            )
        ]
        result.missing = [
            (int(r), p, int(m)) for r, p, m in self._sql(
                f"SELECT s.row_no, s.phone, s.missing FROM {joined} "
                f"WHERE s.missing <> 0 AND w.action <> {OPTED_OUT} ORDER BY s.row_no"
            )
        ]


def _kept_reports(kept: pa.Table, opted_out: list[str]) -> tuple[list[tuple[int, str]], list[tuple[int, str, int]]]:
    """The opted-out rows and the stored rows lacking variables, from the kept rows in memory."""
    rows, phones, masks = kept.column("row_no").to_numpy(), kept.column("phone"), kept.column("missing").to_numpy()
    opted = np.asarray(pc.is_in(phones, pa.array(opted_out, pa.string())).to_numpy(zero_copy_only=False))
    lacking = (masks != 0) & ~opted
    out = sorted(zip(rows[opted].tolist(), phones.filter(pa.array(opted)).to_pylist()))
    missing = sorted(zip(rows[lacking].tolist(), phones.filter(pa.array(lacking)).to_pylist(), masks[lacking].tolist()))
    return out, missing


def last_per_phone(table: pa.Table) -> tuple[pa.Table, list[tuple[int, int, str]]]:
    """The last row (highest ``row_no``) of every phone, in phone order, and the other rows as
    ``(row, kept_row, phone)``. Phones are E.164 strings; the result has the columns
    ``row_no, phone, variables, missing``.

    The sort is on integers: the digits padded on the right to 15, times 16, plus their count.
    That is one-to-one on E.164 numbers and orders them exactly as their text sorts.
    """
    table = table.select(["row_no", "phone", "variables", "missing"]).combine_chunks()
    phones = table.column("phone").combine_chunks()
    digits = pc.utf8_slice_codeunits(phones, 1)
    length = np.asarray(pc.utf8_length(digits).to_numpy(zero_copy_only=False), dtype=np.int64)
    value = np.asarray(pc.cast(digits, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    keys = value * 10 ** (15 - length) * 16 + length
    rows = np.asarray(table.column("row_no").to_numpy(), dtype=np.int64)
    order = np.lexsort((-rows, keys))  # by phone, its latest row first
    first = np.ones(order.size, dtype=bool)
    first[1:] = keys[order[1:]] != keys[order[:-1]]
    group = np.cumsum(first) - 1
    winners = table.take(pa.array(order[first]))
    lost = order[~first]
    kept = rows[order[first]][group[~first]]
    losers = list(zip(rows[lost].tolist(), kept.tolist(), phones.take(pa.array(lost)).to_pylist()))
    return winners, losers


def upsert_leads(session: Session, campaign: Campaign, leads: Sequence[NormalizedLead]) -> UpsertCounts:
    """Insert new leads, update changed custom variables, restore soft-removed leads.

    Users who opted out are skipped (never enrolled); the last of several leads for one user wins.
    The caller owns the transaction: on any exception nothing of this call should be committed.
    """
    stage = LeadStage(session, campaign)
    rows = [lead.row if lead.row is not None else i for i, lead in enumerate(leads)]
    stage.append(
        pa.table({
            "row_no": pa.array(rows, pa.int64()),
            "phone": pa.array([lead.phone_number for lead in leads], pa.string()),
            "user_id": pa.array([lead.conversation_user_id for lead in leads], pa.int64()),
            "variables": pa.array([json.dumps(lead.custom_variables) for lead in leads], pa.string()),
            "missing": pa.array([0] * len(leads), pa.int64()),
        })
    )
    done = stage.finish()
    return UpsertCounts(
        inserted=done.inserted, updated=done.updated, unchanged=done.unchanged,
        skipped_opted_out=done.skipped_opted_out, unknown_user_rows=[r for r, _ in done.unknown_users],
    )


def remove_leads(
    session: Session,
    campaign: Campaign,
    *,
    phone_numbers: Iterable[str] = (),
    user_ids: Iterable[int] = (),
) -> int:
    """Soft-remove leads (they keep their history but are no longer sent to). Returns how many
    leads were removed now (already removed ones do not count)."""
    phones = sorted(set(phone_numbers))
    ids = set(user_ids)
    for start in range(0, len(phones), 500):
        ids |= set(
            session.scalars(
                sa.select(ConversationUser.id).where(ConversationUser.phone_number.in_(phones[start : start + 500]))
            )
        )
    wanted, removed, now = sorted(ids), 0, utcnow()
    for start in range(0, len(wanted), 500):
        result = session.execute(
            sa.update(CampaignLead)
            .where(
                CampaignLead.campaign_id == campaign.id,
                CampaignLead.user_id.in_(wanted[start : start + 500]),
                CampaignLead.removed_at.is_(None),
            )
            .values(removed_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        removed += int(getattr(result, "rowcount", 0) or 0)
    session.flush()
    return removed
