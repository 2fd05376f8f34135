"""Reading the store: the bulk reader (ADBC in a helper process) and the in-process reader must
give the same rows and the same row versions, or the mirror would re-read forever or go stale."""

from __future__ import annotations

import datetime as dt

import pytest

from campaign_sdk import CampaignClient
from campaign_sdk.analytics import _store, mirror_for
from campaign_sdk.analytics._export import export
from campaign_sdk.analytics._store import TABLES, Source
from tests.analytics._helpers import at, campaign, convert, counts, reply, send

A, B = "+14155550101", "+14155550102"
ODD = dt.timedelta(microseconds=999_817)  # a fraction SQLite 3.40 rounds up to the next second


@pytest.fixture
def odd_times(sqlite_url):
    with CampaignClient(sqlite_url) as client:
        spring = campaign(client, "Spring", [A, B])
        send(client, spring, A, at() + ODD, "sent", "read")
        send(client, spring, B, at(seconds=30) + ODD, "failed", error_code=63016)
        reply(client, A, at(hours=1) + ODD)
        convert(client, A, at(days=1) + ODD)
        reply(client, B, at(hours=2) + ODD, "STOP")
    return sqlite_url


def test_bulk_and_in_process_readers_agree(odd_times):
    with CampaignClient(odd_times) as client:
        source = Source(client.engine)
        try:
            queries = [source.select_sql(table) for table in TABLES.values()]
            for table, sql, bulk in zip(TABLES.values(), queries, export(source.path, queries)):
                here = source.query(sql)
                assert bulk.to_pylist() == here.to_pylist(), table.name
                assert source.fingerprints(table) == _blocks(bulk), table.name
        finally:
            source.close()


def _blocks(rows) -> dict[int, tuple[int, int, int]]:
    fingerprints: dict[int, list[int]] = {}
    for row in rows.to_pylist():
        if row["id"] >= 0:  # not the typing sentinel
            n, s, v = fingerprints.setdefault(row["id"] >> _store.BLOCK_BITS, [0, 0, 0])
            fingerprints[row["id"] >> _store.BLOCK_BITS] = [n + 1, s + row["id"], v + row["_v"]]
    return {b: tuple(fp) for b, fp in fingerprints.items()}


def test_a_mirror_built_in_bulk_is_not_read_again(odd_times, monkeypatch):
    monkeypatch.setattr(_store, "BULK_ROWS", 0)  # every read goes through the helper process
    with CampaignClient(odd_times) as client:
        wide = client.metrics()
        assert counts(wide, "Spring") == {
            "total_leads": 2, "messages_sent": 1, "delivered": 1, "read": 1, "not_received": 1,
            "attempted": 2, "messages_replied": 1, "opted_out": 0, "converted": 1,
        }
        client.sql("select count(*) from users").fetchall()
    monkeypatch.setattr(_store, "BULK_ROWS", 10**9)
    with CampaignClient(odd_times) as client:  # a new process: fingerprints read in-process
        assert client.metrics().equals(wide)
        assert mirror_for(client.engine).stats["blocks_read"] == 0


def test_the_in_process_reader_takes_over_when_the_helper_fails(odd_times, monkeypatch):
    monkeypatch.setattr(_store, "BULK_ROWS", 0)
    monkeypatch.setattr(_store, "export", lambda *args, **kwargs: None)
    with CampaignClient(odd_times) as client:
        assert counts(client.metrics(), "Spring")["messages_replied"] == 1


def test_the_helper_reports_failure_instead_of_raising(odd_times):
    assert export(odd_times.removeprefix("sqlite:///"), ["SELECT * FROM no_such_table"]) is None


def test_postgresql_without_adbc_reads_through_sqlalchemy(pg_url, monkeypatch):
    def refuse():
        raise OSError("libpq refused the URL")

    monkeypatch.setattr(_store, "_pg_factory", lambda engine: refuse)
    with CampaignClient(pg_url) as client:
        spring = campaign(client, "Spring", [A])
        send(client, spring, A, at(), "read")
        reply(client, A, at(hours=1))
        assert counts(client.metrics(), "Spring")["messages_replied"] == 1
        assert mirror_for(client.engine).source.parallel == 1


def test_adbc_reads_get_every_libpq_option_of_the_url(pg_url):
    """Two options in the URL (a space between them) reach ADBC's sessions as two settings."""
    url = pg_url + "%20-cstatement_timeout%3D5s"
    with CampaignClient(url) as client:
        connect = _store._pg_factory(client.engine)
        assert connect is not None
        with connect() as connection, connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('statement_timeout')")
            assert cursor.fetchone()[0] == "5s"
            cursor.execute("SELECT current_setting('search_path')")
            assert cursor.fetchone()[0] == client.engine.url.query["options"].split()[0].split("=", 1)[1]
        spring = campaign(client, "Spring", [A])
        send(client, spring, A, at(), "read")
        reply(client, A, at(hours=1))
        assert counts(client.metrics(), "Spring")["messages_replied"] == 1
        assert mirror_for(client.engine).source.parallel > 1
