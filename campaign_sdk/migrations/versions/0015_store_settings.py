"""store settings: a key/value table of settings shared by every process on the store

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

``store_settings(key, value JSON, updated_at)``. Its first key, ``delivery_policy``, is the
client's delivery policy (``client.delivery_policy``, for the campaigns that set none): before,
it lived in one process's memory, so a worker or a second client on the same store planned with
the default policy instead. A store migrated up has no row: the default policy, as a new process
had before. Going down drops the table (and with it the stored policy).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_settings",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_store_settings")),
    )


def downgrade() -> None:
    op.drop_table("store_settings")
