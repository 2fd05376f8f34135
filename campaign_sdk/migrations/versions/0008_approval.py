"""approval: the template's language and the author's approval samples on campaigns

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN with a constant default: SQLite does it without rebuilding the table.
    op.add_column(
        "campaigns", sa.Column("language", sa.String(length=20), nullable=False, server_default="en")
    )
    op.add_column("campaigns", sa.Column("approval_samples", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("approval_samples")
        batch_op.drop_column("language")
