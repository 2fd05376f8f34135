"""engine: deferred sends (messages held until due, sent by the local worker)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deferred_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name="fk_deferred_sends_campaign_id_campaigns",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["lead_id"], ["campaign_leads.id"], name="fk_deferred_sends_lead_id_campaign_leads",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["conversation_users.id"],
                                name="fk_deferred_sends_user_id_conversation_users", ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name="pk_deferred_sends"),
    )
    op.create_index("ix_deferred_campaign_lead", "deferred_sends", ["campaign_id", "lead_id"], unique=True)
    op.create_index("ix_deferred_due", "deferred_sends", ["due_at"])
    op.create_index("ix_deferred_claimed_by", "deferred_sends", ["claimed_by"])


def downgrade() -> None:
    op.drop_index("ix_deferred_claimed_by", table_name="deferred_sends")
    op.drop_index("ix_deferred_due", table_name="deferred_sends")
    op.drop_index("ix_deferred_campaign_lead", table_name="deferred_sends")
    op.drop_table("deferred_sends")
