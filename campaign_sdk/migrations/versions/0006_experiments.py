"""experiments: campaign variants, holdouts, lead arms and the global holdout

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_APPROVAL = ("unsubmitted", "received", "pending", "approved", "rejected", "paused", "disabled")


def upgrade() -> None:
    # Plain ADD COLUMN / CREATE TABLE: SQLite does both without rebuilding a table.
    for column in (
        sa.Column("experiment_seed", sa.String(length=64), nullable=True),
        sa.Column("holdout_fraction", sa.Float(), nullable=True),
        sa.Column("test_fraction", sa.Float(), nullable=True),
        sa.Column("winner_variant", sa.String(length=40), nullable=True),
        sa.Column("planned_per_arm", sa.Integer(), nullable=True),
    ):
        op.add_column("campaigns", column)
    op.add_column("campaign_leads", sa.Column("variant", sa.String(length=40), nullable=True))
    op.create_table(
        "campaign_variants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("content_sid", sa.String(length=34), nullable=True),
        sa.Column("approval_name", sa.String(length=512), nullable=True),
        sa.Column(
            "approval_state",
            sa.Enum(*_APPROVAL, name="approval_state", native_enum=False, create_constraint=True, length=20),
            nullable=False,
        ),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name="fk_campaign_variants_campaign_id_campaigns", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_campaign_variants"),
        sa.UniqueConstraint("campaign_id", "name", name="uq_campaign_variants_campaign_name"),
    )
    op.create_table(
        "global_holdouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("fraction", sa.Float(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_global_holdouts"),
    )


def downgrade() -> None:
    op.drop_table("global_holdouts")
    op.drop_table("campaign_variants")
    with op.batch_alter_table("campaign_leads", schema=None) as batch_op:
        batch_op.drop_column("variant")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        for name in ("planned_per_arm", "winner_variant", "test_fraction", "holdout_fraction", "experiment_seed"):
            batch_op.drop_column(name)
