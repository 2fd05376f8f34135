"""``deferred_sends.not_before``: the earliest moment a held message may go by what was asked of it

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03

A message the policy alone deferred (quiet hours, the messaging tier) may go as soon as the policy
allows: a ``send()`` whose plan finds it due now (a looser policy since) sends it then, instead of
leaving it to the worker's later moment. A message held for the user's ``at=`` must not go before
that moment, nor one moved off Twilio's scheduler before its old ``SendAt``: ``not_before`` keeps
that moment (NULL: none). Rows written before this migration get their ``due_at``: nothing tells
where their moment came from, so they are never sent before it, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deferred_sends", sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE deferred_sends SET not_before = due_at")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # SQLite 3.35+: no table copy
        op.execute("ALTER TABLE deferred_sends DROP COLUMN not_before")
    else:
        op.drop_column("deferred_sends", "not_before")
