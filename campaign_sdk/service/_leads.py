"""Adding and removing a campaign's leads in bulk, inside the caller's transaction.

A load streams validated rows into a temporary staging table (``executemany`` on SQLite, ``COPY``
on PostgreSQL), then a few set-based statements do the rest: create the users that are new
(``INSERT ... ON CONFLICT DO NOTHING``), map every row to its user, keep the last row per user,
classify each winner against the campaign's leads and insert / update them. Nothing is committed
here: the caller's transaction makes the whole load atomic.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaign_sdk.models import (
    Campaign,
    CampaignLead,
    ConversationUser,
    UTCDateTime,
    utcnow,
)

STAGE = "campaign_sdk_lead_stage"
WINNERS = "campaign_sdk_lead_winners"
INSERT, UPDATE, UNCHANGED, OPTED_OUT = range(4)
_STAGE_COLUMNS = ("row_no", "phone", "user_id", "variables", "missing")
_COPY_BYTES = 8 << 20


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
    """A bulk upsert of one campaign's leads, staged in a temporary table.

    Rows are ``(row_no, phone, user_id, variables, missing)``: an E.164 ``phone`` or an existing
    ``user_id`` (the other is null), ``variables`` as JSON object text, and ``missing``, an
    integer the caller uses as a bit mask of absent template variables (reported back for the
    stored leads). Within the load the last row (highest ``row_no``) of each user wins.

    >>> stage = LeadStage(session, campaign)                                # doctest: +SKIP
    >>> stage.append(pa.table({"row_no": [0], "phone": ["+14155552671"], "user_id": [None],
    ...                        "variables": ['{"lead_name": "Ana"}'], "missing": [0]}))  # doctest: +SKIP
    >>> stage.finish().inserted                                             # doctest: +SKIP
    1
    """

    def __init__(self, session: Session, campaign: Campaign, *, now: dt.datetime | None = None) -> None:
        session.flush()  # the statements below must see what the caller's ORM work has pending
        self._session = session
        self._campaign_id = campaign.id
        self._now = now or utcnow()
        self._connection = session.connection()
        self._pg = self._connection.dialect.name == "postgresql"
        self._temp = "pg_temp" if self._pg else "temp"
        self.rows = 0
        if self._pg:  # sorts and hashes of a big load in memory; SET LOCAL ends with the transaction
            self._sql("SET LOCAL work_mem = '256MB'")
        for table in (STAGE, WINNERS):
            self._sql(f"DROP TABLE IF EXISTS {self._temp}.{table}")
        self._sql(
            f"CREATE TEMPORARY TABLE {STAGE} (row_no BIGINT NOT NULL, phone VARCHAR(16), "
            f"user_id BIGINT, variables TEXT NOT NULL, missing BIGINT NOT NULL){self._on_commit}"
        )

    @property
    def _on_commit(self) -> str:
        return " ON COMMIT DROP" if self._pg else ""

    def _sql(self, sql: str, **params: Any) -> sa.CursorResult[Any]:
        statement = sa.text(sql)
        if "now" in params:
            statement = statement.bindparams(sa.bindparam("now", type_=UTCDateTime()))
        return self._connection.execute(statement, params)

    def append(self, batch: pa.Table) -> None:
        """Stage rows (a table with the columns ``row_no, phone, user_id, variables, missing``)."""
        batch = batch.select(list(_STAGE_COLUMNS))
        if not batch.num_rows:
            return
        self.rows += batch.num_rows
        dbapi = self._connection.connection.dbapi_connection
        assert dbapi is not None
        if self._pg:
            self._copy(dbapi, batch)
            return
        cursor = dbapi.cursor()
        try:
            cursor.executemany(
                f"INSERT INTO temp.{STAGE} VALUES (?, ?, ?, ?, ?)",
                list(zip(*(batch.column(c).to_pylist() for c in _STAGE_COLUMNS))),
            )
        finally:
            cursor.close()

    def _copy(self, dbapi: Any, batch: pa.Table) -> None:
        buffer = io.BytesIO()
        pacsv.write_csv(batch, buffer, pacsv.WriteOptions(include_header=False))
        data = buffer.getbuffer()
        columns = ", ".join(_STAGE_COLUMNS)
        with dbapi.cursor() as cursor, cursor.copy(f"COPY {STAGE} ({columns}) FROM STDIN (FORMAT csv)") as copy:
            for start in range(0, len(data), _COPY_BYTES):
                copy.write(data[start : start + _COPY_BYTES])

    def finish(self) -> StageResult:
        """Create new users, keep the last row per user and upsert the campaign's leads."""
        result = StageResult()
        if self.rows:
            if not self._pg:  # SQLite: one sort, then every step below reads in phone order
                self._sql(f"CREATE INDEX temp.{STAGE}_phone ON {STAGE} (phone, row_no, missing, variables)")
            self._create_users()
            by_id = self._sql(f"SELECT count(*) FROM {STAGE} WHERE phone IS NULL").scalar_one()
            self._winners(by_id > 0)
            counts: dict[int, int] = {
                int(a): int(n) for a, n in self._sql(f"SELECT action, count(*) FROM {WINNERS} GROUP BY action")
            }
            result.inserted, result.updated = counts.get(INSERT, 0), counts.get(UPDATE, 0)
            result.unchanged, result.skipped_opted_out = counts.get(UNCHANGED, 0), counts.get(OPTED_OUT, 0)
            self._apply()
            self._report(result, by_id > 0)
        for table in (WINNERS, STAGE):
            self._sql(f"DROP TABLE IF EXISTS {self._temp}.{table}")
        for instance in list(self._session.identity_map.values()):  # loaded rows may be stale now
            if isinstance(instance, (CampaignLead, ConversationUser)):
                self._session.expire(instance)
        return result

    def _create_users(self) -> None:
        self._sql(
            f"INSERT INTO conversation_users (phone_number, created_at) "
            f"SELECT DISTINCT phone, :now FROM {STAGE} WHERE phone IS NOT NULL ORDER BY phone "
            f"ON CONFLICT (phone_number) DO NOTHING",
            now=self._now,
        )

    def _winners(self, by_id: bool) -> None:
        """The last row of every user, its user and what to do with it (an ``action``)."""
        if self._pg:
            last_by_phone = (
                f"SELECT DISTINCT ON (phone) phone, row_no, variables, missing, "
                f"count(*) OVER (PARTITION BY phone) AS n FROM {STAGE} WHERE phone IS NOT NULL "
                f"ORDER BY phone, row_no DESC"
            )
            differs = "CAST(l.custom_variables AS JSONB) IS DISTINCT FROM CAST(g.variables AS JSONB)"
        else:  # SQLite returns the other columns of the max() row (its documented bare-column rule)
            last_by_phone = (
                f"SELECT phone, max(row_no) AS row_no, variables, missing, count(*) AS n "
                f"FROM {STAGE} WHERE phone IS NOT NULL GROUP BY phone"
            )
            differs = "l.custom_variables IS NOT g.variables"
        last_by_id = (
            f"SELECT u.phone_number AS phone, s.row_no, s.variables, s.missing, 1 AS n FROM ("
            f"SELECT *, row_number() OVER (PARTITION BY user_id ORDER BY row_no DESC) AS k "
            f"FROM {STAGE} WHERE phone IS NULL) s JOIN conversation_users u ON u.id = s.user_id WHERE s.k = 1"
        )
        source = (
            f"SELECT * FROM ({last_by_phone}) AS p UNION ALL SELECT * FROM ({last_by_id}) AS i"
            if by_id else last_by_phone
        )
        self._sql(
            f"CREATE TEMPORARY TABLE {WINNERS}{self._on_commit} AS "
            f"SELECT g.row_no, u.id AS user_id, g.phone, g.variables, g.missing, g.n, l.id AS lead_id, "
            f"CASE WHEN u.opted_out_at IS NOT NULL THEN {OPTED_OUT} WHEN l.id IS NULL THEN {INSERT} "
            f"WHEN l.removed_at IS NOT NULL OR {differs} THEN {UPDATE} ELSE {UNCHANGED} END AS action "
            f"FROM ({source}) g JOIN conversation_users u ON u.phone_number = g.phone "
            f"LEFT JOIN campaign_leads l ON l.campaign_id = :campaign AND l.user_id = u.id",
            campaign=self._campaign_id,
        )
        if by_id:  # a user named by number and by id: only the later row stays
            schema = "" if self._pg else "temp."
            self._sql(f"CREATE INDEX {schema}{WINNERS}_user ON {WINNERS} (user_id, row_no)")
            self._sql(
                f"DELETE FROM {WINNERS} WHERE EXISTS (SELECT 1 FROM {WINNERS} w "
                f"WHERE w.user_id = {WINNERS}.user_id AND w.row_no > {WINNERS}.row_no)"
            )

    def _apply(self) -> None:
        variables = "CAST(w.variables AS JSON)" if self._pg else "w.variables"
        self._sql(
            f"INSERT INTO campaign_leads (campaign_id, user_id, custom_variables, created_at, updated_at) "
            f"SELECT :campaign, w.user_id, {variables}, :now, :now FROM {WINNERS} w "
            f"WHERE w.action = {INSERT} ORDER BY w.user_id "
            f"ON CONFLICT (campaign_id, user_id) DO UPDATE SET custom_variables = excluded.custom_variables, "
            f"removed_at = NULL, updated_at = excluded.updated_at",
            campaign=self._campaign_id, now=self._now,
        )
        self._sql(
            f"UPDATE campaign_leads SET custom_variables = {variables}, removed_at = NULL, updated_at = :now "
            f"FROM {WINNERS} w WHERE campaign_leads.id = w.lead_id AND w.action = {UPDATE}",
            now=self._now,
        )

    def _report(self, result: StageResult, by_id: bool) -> None:
        result.unknown_users = [
            (int(r), int(u)) for r, u in self._sql(
                f"SELECT s.row_no, s.user_id FROM {STAGE} s LEFT JOIN conversation_users u "
                f"ON u.id = s.user_id WHERE s.phone IS NULL AND u.id IS NULL ORDER BY s.row_no"
            )
        ] if by_id else []
        duplicates = (
            f"SELECT s.row_no, w.row_no AS kept, w.phone FROM {WINNERS} w JOIN {STAGE} s ON s.phone = w.phone "
            f"WHERE {'' if by_id else 'w.n > 1 AND '}s.row_no <> w.row_no"
        )
        if by_id:
            duplicates += (
                f" UNION ALL SELECT s.row_no, w.row_no, w.phone FROM {WINNERS} w JOIN {STAGE} s "
                f"ON s.user_id = w.user_id WHERE s.phone IS NULL AND s.row_no <> w.row_no"
            )
        result.duplicates = [
            (int(r), int(k), p) for r, k, p in self._sql(f"SELECT * FROM ({duplicates}) AS d ORDER BY row_no")
        ]
        result.opted_out = [
            (int(r), p) for r, p in self._sql(
                f"SELECT row_no, phone FROM {WINNERS} WHERE action = {OPTED_OUT} ORDER BY row_no"
            )
        ]
        result.missing = [
            (int(r), p, int(m)) for r, p, m in self._sql(
                f"SELECT row_no, phone, missing FROM {WINNERS} "
                f"WHERE missing <> 0 AND action <> {OPTED_OUT} ORDER BY row_no"
            )
        ]


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
