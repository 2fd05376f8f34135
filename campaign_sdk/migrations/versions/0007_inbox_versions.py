"""webhook inbox, and row versions the database maintains for the analytics mirror

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

On SQLite, triggers keep ``row_version`` current: an UPDATE (by any program, raw SQL included)
stamps the row with a version above any its table had, and a DELETE is written to
``row_deletions``. Inserts cost nothing: the mirror reads ids above the highest it has, and
finds a row inserted below it (a gap filled by hand) by comparing row counts. PostgreSQL needs
no triggers: the mirror uses each row's ``xmin``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TRACKED = ("conversation_users", "campaign_leads", "outbound_messages", "inbound_messages", "conversions")


def _above(table: str) -> str:
    """An expression above every version ``table`` ever had: its live rows' versions, and
    every deletion's ``seq`` (a deletion's seq is above the versions of its table then)."""
    return (f"max((SELECT coalesce(max(row_version), 0) FROM {table} WHERE row_version IS NOT NULL), "
            f"(SELECT coalesce(max(seq), 0) FROM row_deletions)) + 1")


def sqlite_triggers(table: str) -> list[str]:
    deleted = (f"INSERT INTO row_deletions (seq, table_name, row_id) VALUES ({_above(table)}, "
               f"'{table}', OLD.id);")
    return [
        f"CREATE TRIGGER trg_{table}_updated AFTER UPDATE ON {table} FOR EACH ROW "
        f"WHEN NEW.row_version IS OLD.row_version BEGIN "
        f"UPDATE {table} SET row_version = {_above(table)} WHERE id = NEW.id; END",
        f"CREATE TRIGGER trg_{table}_id_changed AFTER UPDATE OF id ON {table} FOR EACH ROW "
        f"WHEN NEW.id IS NOT OLD.id BEGIN {deleted} END",
        f"CREATE TRIGGER trg_{table}_deleted AFTER DELETE ON {table} FOR EACH ROW BEGIN {deleted} END",
    ]


def upgrade() -> None:
    op.create_table(
        "inbox_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_events")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_inbox_events_dedupe_key")),
    )
    op.create_index("ix_inbox_events_state", "inbox_events", ["state", "id"])
    op.create_index("ix_inbox_events_sid", "inbox_events", ["sid"])
    op.create_table(
        "row_deletions",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("row_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_row_deletions")),
    )
    op.create_index("ix_row_deletions_table_row", "row_deletions", ["table_name", "row_id"])
    where = sa.text("row_version IS NOT NULL")
    for table in TRACKED:
        op.add_column(table, sa.Column("row_version", sa.BigInteger(), nullable=True))
        op.create_index(f"ix_{table}_row_version", table, ["row_version"], sqlite_where=where,
                        postgresql_where=where)
    if op.get_bind().dialect.name == "sqlite":
        for table in TRACKED:
            for statement in sqlite_triggers(table):
                op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in TRACKED:
        if sqlite:
            for name in ("updated", "id_changed", "deleted"):
                op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_{name}")
        op.drop_index(f"ix_{table}_row_version", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("row_version")
    op.drop_index("ix_row_deletions_table_row", table_name="row_deletions")
    op.drop_table("row_deletions")
    op.drop_index("ix_inbox_events_sid", table_name="inbox_events")
    op.drop_index("ix_inbox_events_state", table_name="inbox_events")
    op.drop_table("inbox_events")
