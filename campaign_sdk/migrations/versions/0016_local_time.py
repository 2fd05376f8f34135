"""``local_time`` of a scheduled send, kept with what it held: ``outbound_messages.local_time``
(a message Twilio's scheduler holds) and ``deferred_sends.local_time`` (a message the local worker
holds)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03

``send(local_time="10:00")`` / ``schedule(local_time=...)`` times each recipient at 10:00 in their
own zone. When a policy set later forbids that moment (a held message rechecked, or a deferred
one found due on a day the window no longer allows), the message now moves to 10:00 of the next
allowed day, as the plan moves it, instead of to the window's opening. Rows written before this
migration keep NULL: they move to the next allowed moment, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_TABLES = ("outbound_messages", "deferred_sends")


def upgrade() -> None:
    for table in _TABLES:
        op.add_column(table, sa.Column("local_time", sa.String(length=5), nullable=True))


def downgrade() -> None:
    for table in _TABLES:
        if op.get_bind().dialect.name == "sqlite":  # SQLite 3.35+: no table copy
            op.execute(f"ALTER TABLE {table} DROP COLUMN local_time")
        else:
            op.drop_column(table, "local_time")
