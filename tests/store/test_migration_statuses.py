"""Migration 0004: every Twilio status allowed, error kinds backfilled from old codes, down and up again."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from campaign_sdk.facts import statuses
from campaign_sdk.facts.errors import kind_of_code
from campaign_sdk.migrations import alembic_config, upgrade

NOW = "2026-01-01 00:00:00"


def _seed(connection: sa.Connection, rows: list[tuple[str, int | None]]) -> None:
    connection.execute(sa.text(
        "INSERT INTO campaigns (id, name, campaign_type, status, approval_state, content_type, content, created_at, "
        "updated_at) VALUES (1, 'Old', 'marketing', 'approved', 'approved', 'twilio/text', '{}', :now, :now)"
    ), {"now": NOW})
    for i, (status, code) in enumerate(rows, start=1):
        connection.execute(sa.text(
            "INSERT INTO conversation_users (id, phone_number, created_at) VALUES (:i, :phone, :now)"
        ), {"i": i, "phone": f"+1415555{i:04d}", "now": NOW})
        connection.execute(sa.text(
            "INSERT INTO campaign_leads (id, campaign_id, user_id, custom_variables, created_at, updated_at) "
            "VALUES (:i, 1, :i, '{}', :now, :now)"
        ), {"i": i, "now": NOW})
        connection.execute(sa.text(
            "INSERT INTO outbound_messages (id, sid, campaign_id, lead_id, user_id, to_number, status, error_code, "
            "created_at, status_at) VALUES (:i, :sid, 1, :i, :i, '+14155550000', :status, :code, :now, :now)"
        ), {"i": i, "sid": f"SM{i:032d}", "status": status, "code": code, "now": NOW})


def test_old_error_codes_get_their_kind_and_every_status_fits(store_url: str) -> None:
    engine = sa.create_engine(store_url)
    upgrade(engine, "0003")
    old = [("failed", 21211), ("failed", 21610), ("undelivered", 30008), ("failed", 63016), ("failed", 12345),
           ("delivered", None)]
    with engine.begin() as connection:
        _seed(connection, old)
    upgrade(engine)
    with engine.begin() as connection:
        kinds = connection.execute(sa.text("SELECT error_code, error_kind FROM outbound_messages ORDER BY id")).all()
        assert kinds == [(code, kind_of_code(code).value if code else None) for _, code in old]
        assert [k for _, k in kinds] == ["invalid_number", "opted_out", "undeliverable", "window", "unknown", None]
        for name in statuses.NAMES:  # the 13 statuses pass the CHECK constraint
            connection.execute(sa.text("UPDATE outbound_messages SET status = :s WHERE id = 6"), {"s": name})
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:  # anything else does not
        connection.execute(sa.text("UPDATE outbound_messages SET status = 'exploded' WHERE id = 6"))
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE outbound_messages SET status = 'partially_delivered' WHERE id = 6"))
    with engine.begin() as connection:  # down: a status 0003 does not know becomes its nearest old one
        command.downgrade(alembic_config(connection), "0003")
    with engine.begin() as connection:
        assert connection.execute(sa.text("SELECT status FROM outbound_messages WHERE id = 6")).scalar() == "delivered"
    upgrade(engine)
    engine.dispose()
