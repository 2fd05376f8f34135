"""delivery: a campaign's expiry and its delivery policy (send windows, caps)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN: SQLite adds nullable columns without rebuilding the table.
    op.add_column("campaigns", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("campaigns", sa.Column("delivery_policy", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("delivery_policy")
        batch_op.drop_column("expires_at")
