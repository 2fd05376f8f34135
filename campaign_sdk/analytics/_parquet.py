"""``client.export(path)``: the event tables as Parquet, for a warehouse or a DuckDB / Spark cluster.

Three tables, each a folder of Hive-partitioned Parquet files
(``<path>/<table>/campaign_id=<id>/day=<YYYY-MM-DD>/run000001_<uuid>.parquet``):

- ``message_events``: one row per thing that happened to a campaign message (created, sent,
  delivered, read, failed), from the message's status times;
- ``replies``: one row per inbound message, with the campaign it is attributed to;
- ``conversions``: one row per conversion, with the campaign it is attributed to.

Every event is written exactly once: a ledger in the folder (``_export_state.duckdb``) keeps
the id of every event written, so the next export writes only what is new (a late
``delivered`` of an old message included). A run writes its files first and commits its ledger
entries last; files of a run that never committed (a crash) are deleted by the next export.
The README's "Parquet export" section documents the columns.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from campaign_sdk.analytics import _definitions as d
from campaign_sdk.analytics._mirror import mirror_for

LEDGER = "_export_state.duckdb"
NOT_ATTRIBUTED = 0  # campaign_id of a reply or conversion no campaign message is credited with
_SENT = ", ".join(f"'{s}'" for s in d.SENT_STATUSES)
_EVENT_TIMES = {"created": "created_at", "sent": "sent_at", "delivered": "delivered_at", "read": "read_at",
                "failed": "failed_at"}


def _message_events() -> str:
    parts = [
        f"SELECT campaign_id, CAST({column} AS DATE) AS day, coalesce(sid, 'id:' || id) || ':{event}' AS event_id,"
        f" id AS message_id, sid, lead_id, user_id, '{event}' AS event, {column} AS event_at,"
        f" {'status' if event == 'failed' else 'NULL'} AS failure,"
        f" {'error_code' if event == 'failed' else 'NULL::BIGINT'} AS error_code"
        f" FROM messages WHERE {column} IS NOT NULL AND (sid IS NOT NULL OR error_code IS NOT NULL)"
        for event, column in _EVENT_TIMES.items()
    ]
    return " UNION ALL ".join(parts)


def _attributed(source: str, at: str, key: str, columns: str, window: str) -> str:
    """Rows of ``source`` with the last campaign message that reached the user before ``at``
    (sent or beyond), if it is at most ``$window`` older."""
    return f"""
WITH touches AS (SELECT user_id, created_at AS touched_at, campaign_id, id AS message_id
                 FROM messages WHERE status IN ({_SENT}))
SELECT CASE WHEN e.{at} - t.touched_at <= to_microseconds(${window}) THEN t.campaign_id
            ELSE {NOT_ATTRIBUTED} END AS campaign_id,
       CAST(e.{at} AS DATE) AS day, {key} AS event_id, {columns},
       CASE WHEN e.{at} - t.touched_at <= to_microseconds(${window}) THEN t.message_id END AS message_id
FROM {source} e ASOF LEFT JOIN touches t ON e.user_id = t.user_id AND e.{at} >= t.touched_at"""


QUERIES = {
    "message_events": (_message_events(), ("campaigns", "messages")),
    "replies": (_attributed("replies", "received_at", "'reply:' || e.sid",
                            "e.id AS reply_id, e.sid, e.user_id, e.kind, e.body, e.received_at AS event_at", "reply_us"),
                ("messages", "replies")),
    "conversions": (_attributed("conversions", "occurred_at", "'conversion:' || e.external_id",
                                "e.id AS conversion_id, e.external_id, e.user_id, e.value, e.occurred_at AS event_at",
                                "attribution_us"),
                    ("messages", "conversions")),
}


@dataclass(frozen=True)
class ExportReport:
    """What one ``client.export`` wrote: ``rows`` new events per table, in ``files`` files;
    ``removed_partial``: files an interrupted export had left, removed first."""

    path: Path
    run: int
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0
    removed_partial: int = 0

    def __repr__(self) -> str:
        return f"<ExportReport run {self.run}: {sum(self.rows.values())} new events in {self.files} files>"


def export_events(engine: sa.Engine, path: str | os.PathLike[str], *, reply_window: dt.timedelta,
                  attribution_window: dt.timedelta) -> ExportReport:
    """Write the events not exported to ``path`` before (see the module docstring)."""
    root = Path(path).resolve()
    root.mkdir(parents=True, exist_ok=True)
    mirror = mirror_for(engine)
    params = {"reply_us": reply_window // dt.timedelta(microseconds=1),
              "attribution_us": attribution_window // dt.timedelta(microseconds=1)}
    with mirror.reading(("campaigns", "messages", "replies", "conversions")) as con:
        con.execute(f"ATTACH '{_quoted(root / LEDGER)}' AS ledger")
        try:
            con.execute("CREATE TABLE IF NOT EXISTS ledger.runs (run BIGINT, finished_at TIMESTAMP, rows BIGINT)")
            con.execute("CREATE TABLE IF NOT EXISTS ledger.exported (tbl VARCHAR, event_id VARCHAR, run BIGINT)")
            done = {r for (r,) in con.execute("SELECT run FROM ledger.runs").fetchall()}
            run = max(done, default=0) + 1
            removed = _remove_uncommitted(root, done)
            rows: dict[str, int] = {}
            for table, (sql, _) in QUERIES.items():
                con.execute(f"CREATE OR REPLACE TEMP TABLE new_{table} AS SELECT * FROM ({sql}) x "
                            f"WHERE NOT EXISTS (SELECT 1 FROM ledger.exported l WHERE l.tbl = '{table}' "
                            f"AND l.event_id = x.event_id)",
                            {k: v for k, v in params.items() if f"${k}" in sql})
                rows[table] = con.execute(f"SELECT count(*) FROM new_{table}").fetchall()[0][0]
                if rows[table]:
                    target = _quoted(root / table)
                    con.execute(f"COPY (SELECT * FROM new_{table} ORDER BY campaign_id, day, event_at) TO '{target}' "
                                f"(FORMAT parquet, PARTITION_BY (campaign_id, day), APPEND, "
                                f"FILENAME_PATTERN 'run{run:06d}_{{uuid}}')")
            con.execute("BEGIN TRANSACTION")
            for table in QUERIES:
                con.execute(f"INSERT INTO ledger.exported SELECT '{table}', event_id, {run} FROM new_{table}")
            con.execute("INSERT INTO ledger.runs VALUES (?, now()::TIMESTAMP, ?)", [run, sum(rows.values())])
            con.execute("COMMIT")
            for table in QUERIES:
                con.execute(f"DROP TABLE IF EXISTS new_{table}")
        finally:
            con.execute("DETACH ledger")
    return ExportReport(root, run, rows=rows, files=len(_files(root, run)), removed_partial=removed)


def _files(root: Path, run: int | None = None) -> list[str]:
    pattern = f"run{run:06d}_*.parquet" if run is not None else "run*_*.parquet"
    return [f for table in QUERIES for f in glob.glob(str(root / table / "**" / pattern), recursive=True)]


def _remove_uncommitted(root: Path, done: set[int]) -> int:
    removed = 0
    for name in _files(root):
        match = re.match(r"run(\d+)_", os.path.basename(name))
        if match and int(match.group(1)) not in done:
            os.remove(name)
            removed += 1
    return removed


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
