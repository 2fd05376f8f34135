"""Alembic environment: runs on the connection handed over by campaign_sdk.migrations.upgrade."""

from __future__ import annotations

from alembic import context

from campaign_sdk.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached by a bare `alembic` CLI call
    raise RuntimeError("run migrations through campaign_sdk.migrations.upgrade(engine)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
