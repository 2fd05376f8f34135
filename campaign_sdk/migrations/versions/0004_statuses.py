"""every Twilio message status; the kind of a send error; unknown statuses kept verbatim

The status CHECK constraint gains receiving, received and partially_delivered (the 13 statuses of
the Messages API spec); ``error_kind`` holds the gateway-neutral kind of a send error (backfilled
from the Twilio code); ``unknown_status`` keeps a status this SDK does not know, verbatim.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

CHECK = "ck_outbound_messages_message_status"
# Frozen here (a migration must not change when the SDK's facts do).
OLD = ("queued", "accepted", "scheduled", "sending", "sent", "failed", "undelivered", "delivered", "read",
       "canceled")
NEW = ("queued", "sending", "sent", "failed", "delivered", "undelivered", "receiving", "received", "accepted",
       "scheduled", "read", "partially_delivered", "canceled")
# Kinds of the codes recorded before this revision (campaign_sdk.facts.errors at revision 0004).
KINDS = {
    "invalid_number": (21211, 21614, 63024), "opted_out": (21610,), "content": (21656, 63021),
    "window": (63016,), "blocked": (63014, 30004), "policy": (21408, 30007, 63032, 63049),
    "undeliverable": (21612, 30003, 30005, 30006, 30008), "rate_limited": (20429, 63018),
}


def _check(values: tuple[str, ...]) -> str:
    return "status IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    with op.batch_alter_table("outbound_messages") as batch:
        batch.drop_constraint(op.f(CHECK), type_="check")
        batch.create_check_constraint(op.f(CHECK), _check(NEW))
        batch.add_column(sa.Column("error_kind", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("unknown_status", sa.String(length=40), nullable=True))
    cases = " ".join(
        f"WHEN error_code IN ({', '.join(map(str, codes))}) THEN '{kind}'" for kind, codes in KINDS.items()
    )
    op.execute(
        f"UPDATE outbound_messages SET error_kind = CASE {cases} ELSE 'unknown' END "
        "WHERE error_code IS NOT NULL"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE outbound_messages SET status = CASE status WHEN 'partially_delivered' THEN 'delivered' "
        "WHEN 'received' THEN 'sent' ELSE 'sending' END "
        "WHERE status IN ('partially_delivered', 'received', 'receiving')"
    )
    with op.batch_alter_table("outbound_messages") as batch:
        batch.drop_column("unknown_status")
        batch.drop_column("error_kind")
        batch.drop_constraint(op.f(CHECK), type_="check")
        batch.create_check_constraint(op.f(CHECK), _check(OLD))
