"""send bookkeeping: content sid, error message and dedupe key on outbound messages

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN / CREATE INDEX: SQLite does both without rebuilding the table.
    op.add_column("outbound_messages", sa.Column("content_sid", sa.String(length=34), nullable=True))
    op.add_column("outbound_messages", sa.Column("error_message", sa.Text(), nullable=True))
    op.add_column("outbound_messages", sa.Column("dedupe_key", sa.String(length=120), nullable=True))
    op.create_index("ix_outbound_dedupe_key", "outbound_messages", ["dedupe_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_outbound_dedupe_key", table_name="outbound_messages")
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_column("dedupe_key")
        batch_op.drop_column("error_message")
        batch_op.drop_column("content_sid")
