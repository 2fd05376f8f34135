"""outbound messages: a partial index of the messages Twilio's scheduler holds (status ``scheduled``)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

``cancel_opted_out`` (after any opt-out) looked for scheduled messages to opted-out people over
the whole ``outbound_messages`` table, and the cancels of ``disable()``, of an expiry and of a
stricter delivery policy filter a campaign's messages by that status. The index holds only the
scheduled rows (a few, against every message ever sent), keyed by campaign.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

SCHEDULED_ONLY = "status = 'scheduled'"  # models._tables.SCHEDULED_ONLY as it was when written


def upgrade() -> None:
    op.create_index("ix_outbound_scheduled", "outbound_messages", ["campaign_id"], unique=False,
                    sqlite_where=sa.text(SCHEDULED_ONLY), postgresql_where=sa.text(SCHEDULED_ONLY))


def downgrade() -> None:
    op.drop_index("ix_outbound_scheduled", table_name="outbound_messages")
