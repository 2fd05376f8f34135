"""outbound messages: ``scheduled_for``, the SendAt of a message Twilio's scheduler holds

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbound_messages", sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # SQLite 3.35+: no table copy (which would drop 0007's triggers)
        op.execute("ALTER TABLE outbound_messages DROP COLUMN scheduled_for")
    else:
        op.drop_column("outbound_messages", "scheduled_for")
