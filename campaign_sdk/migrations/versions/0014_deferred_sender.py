"""deferred sends: ``sender``, the sender of the send that deferred the message

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

The Messaging Service SID (``MG...``) or the From number the deferring gateway sends from (the
sandbox: its own Messaging Service). A worker sends only its own sender's messages: one with
another Messaging Service or another From number on the same channel leaves them to a worker of
theirs (before, any worker on the channel sent them, from its own sender). Rows deferred before
this migration keep NULL (unknown: any worker on their channel sends them, as before).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deferred_sends", sa.Column("sender", sa.String(length=100), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # SQLite 3.35+: no table copy
        op.execute("ALTER TABLE deferred_sends DROP COLUMN sender")
    else:
        op.drop_column("deferred_sends", "sender")
