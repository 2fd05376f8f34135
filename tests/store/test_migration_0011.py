"""Migration 0011: a lead's skip mark (``skip_reason``, ``skipped_at``) and a message's
``channel``; old rows keep NULL (pending leads, messages of no known channel), down and up again
keeps the rows and, on SQLite, 0007's row-version triggers."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from campaign_sdk.migrations import alembic_config, current_revision, upgrade

NOW = "2026-01-01 00:00:00"


def _seed(connection: sa.Connection) -> None:
    connection.execute(sa.text(
        "INSERT INTO campaigns (id, name, campaign_type, status, approval_state, content_type, content, created_at, "
        "updated_at) VALUES (1, 'Old', 'marketing', 'approved', 'approved', 'twilio/text', '{}', :now, :now)"
    ), {"now": NOW})
    connection.execute(sa.text(
        "INSERT INTO conversation_users (id, phone_number, created_at) VALUES (1, '+14155550001', :now)"
    ), {"now": NOW})
    connection.execute(sa.text(
        "INSERT INTO campaign_leads (id, campaign_id, user_id, custom_variables, created_at, updated_at) "
        "VALUES (1, 1, 1, '{}', :now, :now)"
    ), {"now": NOW})
    connection.execute(sa.text(
        "INSERT INTO outbound_messages (id, sid, campaign_id, lead_id, user_id, to_number, status, created_at, "
        "status_at) VALUES (1, :sid, 1, 1, 1, '+14155550001', 'sent', :now, :now)"
    ), {"sid": "SM" + "0" * 32, "now": NOW})


def _columns(engine: sa.Engine, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns(table)}


def test_0011_adds_the_skip_mark_and_the_channel_and_goes_down_and_up_again(store_url: str) -> None:
    engine = sa.create_engine(store_url)
    upgrade(engine, "0010")
    with engine.begin() as connection:
        _seed(connection)
    upgrade(engine, "0011")
    assert {"skip_reason", "skipped_at"} <= _columns(engine, "campaign_leads")
    assert "channel" in _columns(engine, "outbound_messages")
    with engine.begin() as connection:  # old rows: no mark, no known channel
        assert connection.execute(sa.text("SELECT skip_reason, skipped_at FROM campaign_leads")).one() == (None, None)
        assert connection.execute(sa.text("SELECT channel FROM outbound_messages")).scalar() is None
        connection.execute(sa.text("UPDATE campaign_leads SET skip_reason = 'frequency_cap', skipped_at = :now"),
                           {"now": NOW})
        connection.execute(sa.text("UPDATE outbound_messages SET channel = 'sms'"))

    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0010")
    assert current_revision(engine) == "0010"
    assert not {"skip_reason", "skipped_at"} & _columns(engine, "campaign_leads")
    assert "channel" not in _columns(engine, "outbound_messages")
    with engine.begin() as connection:  # the rows stay, and (SQLite) an update still stamps a row version
        assert connection.execute(sa.text("SELECT count(*) FROM campaign_leads")).scalar() == 1
        assert connection.execute(sa.text("SELECT sid FROM outbound_messages")).scalar() == "SM" + "0" * 32
        if engine.dialect.name == "sqlite":
            connection.execute(sa.text("UPDATE campaign_leads SET variant = 'A'"))
            connection.execute(sa.text("UPDATE outbound_messages SET status = 'delivered'"))
            versions = connection.execute(sa.text(
                "SELECT (SELECT row_version FROM campaign_leads), (SELECT row_version FROM outbound_messages)")).one()
            assert None not in versions

    upgrade(engine)
    assert "channel" in _columns(engine, "outbound_messages")
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT skip_reason FROM campaign_leads")).scalar() is None
    engine.dispose()
