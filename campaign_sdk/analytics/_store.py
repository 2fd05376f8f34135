"""Load the store's tables into a DuckDB connection as the views the metrics are defined over."""

from __future__ import annotations

import duckdb
import pandas as pd
import sqlalchemy as sa

# table name in DuckDB -> (store table, columns, timestamp columns)
TABLES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "campaigns": (
        "campaigns",
        ("id", "name", "campaign_type", "status", "approval_state", "enabled", "created_at"),
        ("enabled", "created_at"),
    ),
    "users": ("conversation_users", ("id", "phone_number", "opted_out_at"), ("opted_out_at",)),
    "leads": (
        "campaign_leads",
        ("id", "campaign_id", "user_id", "custom_variables", "removed_at", "created_at"),
        ("removed_at", "created_at"),
    ),
    "messages": (
        "outbound_messages",
        (
            "id", "sid", "campaign_id", "lead_id", "user_id", "status", "error_code",
            "created_at", "sent_at", "delivered_at", "read_at", "failed_at",
        ),
        ("created_at", "sent_at", "delivered_at", "read_at", "failed_at"),
    ),
    "inbound": (
        "inbound_messages",
        ("id", "sid", "user_id", "body", "kind", "received_at"),
        ("received_at",),
    ),
    "conversions": (
        "conversions",
        ("id", "external_id", "user_id", "occurred_at", "value"),
        ("occurred_at",),
    ),
}


def load_store(engine: sa.Engine, con: duckdb.DuckDBPyConnection) -> None:
    """Copy every table the metrics need from the store into ``con`` as DuckDB tables.

    Timestamps become naive UTC ``TIMESTAMP`` values; JSON columns stay text.
    """
    with engine.connect() as connection:
        for name, (table, columns, times) in TABLES.items():
            cursor = connection.exec_driver_sql(f"SELECT {', '.join(columns)} FROM {table}")
            frame = pd.DataFrame(cursor.fetchall(), columns=list(columns), dtype=object)
            for column in times:
                frame[column] = _utc_naive(frame[column])
            for column in ("id", "campaign_id", "user_id", "lead_id", "error_code"):
                if column in frame:
                    frame[column] = pd.array(frame[column], dtype="Int64")
            if "value" in frame:
                frame["value"] = pd.to_numeric(frame["value"]).astype("Float64")
            if "custom_variables" in frame:
                frame["custom_variables"] = frame["custom_variables"].map(_json_text)
            for column in frame.columns:
                if frame[column].dtype == object:
                    frame[column] = frame[column].astype("string")
            con.register(f"_src_{name}", frame)
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _src_{name}")
            con.unregister(f"_src_{name}")


def _utc_naive(values: pd.Series) -> pd.Series:
    parsed = pd.to_datetime(values, utc=True, format="ISO8601")
    return parsed.dt.tz_localize(None).astype("datetime64[us]")


def _json_text(value: object) -> str | None:
    import json

    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)
