"""deferred sends: ``channel``, the channel the send that deferred the message planned it for

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

The worker sends a deferred message on the channel it was planned for: a worker whose gateway
sends on another channel leaves it for a worker that does (before, every deferred message went
out on the worker's channel: an SMS campaign's as WhatsApp). Rows deferred before this migration
keep NULL (unknown: sent on the worker's channel, as before).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deferred_sends", sa.Column("channel", sa.String(length=10), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # SQLite 3.35+: no table copy
        op.execute("ALTER TABLE deferred_sends DROP COLUMN channel")
    else:
        op.drop_column("deferred_sends", "channel")
