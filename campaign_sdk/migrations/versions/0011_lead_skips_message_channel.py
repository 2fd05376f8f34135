"""campaign leads: ``skip_reason`` / ``skipped_at``, why and when a send dropped the lead;
outbound messages: ``channel``, the channel each message went by

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

A lead whose deferred send was dropped (``expired``, ``frequency_cap``, ...) or that a send
skipped read ``pending`` before, like a lead not sent yet; its status is now ``skipped`` with
the stored reason. WhatsApp's messaging limit counts WhatsApp messages only, which needs each
message's channel; messages recorded before this migration keep NULL (unknown: counted).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

COLUMNS = (("campaign_leads", "skip_reason"), ("campaign_leads", "skipped_at"), ("outbound_messages", "channel"))


def upgrade() -> None:
    op.add_column("campaign_leads", sa.Column("skip_reason", sa.String(length=40), nullable=True))
    op.add_column("campaign_leads", sa.Column("skipped_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("outbound_messages", sa.Column("channel", sa.String(length=10), nullable=True))


def downgrade() -> None:
    for table, column in reversed(COLUMNS):
        if op.get_bind().dialect.name == "sqlite":  # SQLite 3.35+: no table copy (which would drop 0007's triggers)
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        else:
            op.drop_column(table, column)
