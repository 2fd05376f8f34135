"""``client.export``: Parquet partitioned by campaign and day, each event exactly once, incremental."""

from __future__ import annotations

import glob
import os
import sqlite3

import duckdb
import pytest

from campaign_sdk import CampaignClient
from campaign_sdk.analytics._parquet import LEDGER
from tests.analytics._helpers import at, campaign, convert, reply, send

A, B, C = "+14155550101", "+14155550102", "+14155550103"


def _read(path, table: str) -> list[dict]:
    files = os.path.join(str(path), table, "**", "*.parquet")
    if not glob.glob(files, recursive=True):
        return []
    return duckdb.sql(f"SELECT * FROM read_parquet('{files}', hive_partitioning = true) ORDER BY event_id").df().to_dict("records")


def test_events_are_written_once_partitioned_by_campaign_and_day(client, tmp_path) -> None:
    spring = campaign(client, "Spring", [A, B])
    summer = campaign(client, "Summer", [C])
    sid_a = send(client, spring, A, at(), "sent")
    send(client, spring, B, at(hours=1), "sent", "undelivered", error_code=30008)
    send(client, summer, C, at(days=1), "delivered")
    reply(client, A, at(hours=2))
    reply(client, C, at(days=20), "late")  # after every window: attributed to no campaign
    convert(client, A, at(days=1), "order-1")

    first = client.export(tmp_path)
    assert first.rows == {"message_events": 7, "replies": 2, "conversions": 1} and first.files > 0
    events = _read(tmp_path, "message_events")
    assert sorted((e["campaign_id"], e["event"]) for e in events if e["sid"] == sid_a) == [
        (spring.id, "created"), (spring.id, "sent")]
    failed = next(e for e in events if e["event"] == "failed")
    assert (failed["failure"], failed["error_code"]) == ("undelivered", 30008)
    assert {str(e["day"])[:10] for e in events} == {"2026-03-02", "2026-03-03"}
    assert glob.glob(str(tmp_path / "message_events" / f"campaign_id={spring.id}" / "day=2026-03-02" / "*.parquet"))
    replies = {r["body"]: r for r in _read(tmp_path, "replies")}
    assert replies["Yes please"]["campaign_id"] == spring.id and replies["late"]["campaign_id"] == 0
    assert _read(tmp_path, "conversions")[0]["external_id"] == "order-1"

    again = client.export(tmp_path)  # nothing new: nothing written
    assert sum(again.rows.values()) == 0 and again.files == 0
    client.record_statuses([{"sid": sid_a, "status": "read", "timestamp": at(hours=5)}])  # a late status
    reply(client, B, at(hours=3))
    later = client.export(tmp_path)
    assert later.rows == {"message_events": 1, "replies": 1, "conversions": 0}
    all_events = _read(tmp_path, "message_events")
    assert len(all_events) == len({e["event_id"] for e in all_events}) == 8  # exactly once, across runs
    assert any(e["event"] == "read" and e["sid"] == sid_a for e in all_events)


def test_a_run_that_never_committed_is_removed_and_redone(sqlite_url, tmp_path, monkeypatch) -> None:
    with CampaignClient(sqlite_url) as client:
        spring = campaign(client, "Spring", [A])
        send(client, spring, A, at(), "delivered")
        client.export(tmp_path)
        reply(client, A, at(hours=1))
        with duckdb.connect(str(tmp_path / LEDGER)) as ledger:  # as if run 2 crashed after writing its files
            ledger.execute("DELETE FROM exported WHERE run = 1; DELETE FROM runs WHERE run = 1")
        report = client.export(tmp_path)
        assert report.removed_partial > 0 and report.run == 1
        events = _read(tmp_path, "message_events")
        assert len(events) == len({e["event_id"] for e in events}) == 2
        assert len(_read(tmp_path, "replies")) == 1


def test_writes_by_another_program_are_exported(sqlite_url, tmp_path) -> None:
    with CampaignClient(sqlite_url) as client:
        spring = campaign(client, "Spring", [A])
        sid = send(client, spring, A, at(), "sent")
        client.export(tmp_path)
        with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as other:
            other.execute("UPDATE outbound_messages SET delivered_at = '2026-03-02 09:00:03', status = 'delivered'"
                          " WHERE sid = ?", (sid,))
        assert client.export(tmp_path).rows["message_events"] == 1


@pytest.mark.parametrize("window", ["0d", "soon"])
def test_bad_windows_are_refused(client, tmp_path, window) -> None:
    from campaign_sdk.analytics import AnalyticsError

    with pytest.raises(AnalyticsError):
        client.export(tmp_path, reply_window=window)
