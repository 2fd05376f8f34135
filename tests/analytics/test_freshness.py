"""The mirror never serves stale numbers: every kind of write since the last call shows up in
the next one, from this client, another connection or another process, while an unchanged
store is not read again."""

from __future__ import annotations

import sqlite3

import duckdb
import pandas as pd
import pytest

from campaign_sdk import CampaignClient
from campaign_sdk.analytics import mirror_for
from campaign_sdk.analytics._mirror import CACHE_SUFFIX
from tests.analytics._helpers import at, campaign, convert, counts, reply, send

A, B, C, D = "+14155550101", "+14155550102", "+14155550103", "+14155550104"


def _sqlite_file(url: str) -> str:
    return url.removeprefix("sqlite:///")


def test_every_write_is_seen_by_the_next_call(client):
    spring = campaign(client, "Spring", [A, B])
    sid_a = send(client, spring, A, at(days=2), "sent")
    send(client, spring, B, at(), "sent")
    assert counts(client.metrics(), "Spring")["read"] == 0

    # a late, out-of-order callback: its timestamp is older than every status stored so far
    client.record_statuses([{"sid": sid_a, "status": "read", "timestamp": at(hours=-5)}])
    assert counts(client.metrics(), "Spring")["read"] == 1

    reply(client, A, at(days=2, hours=1))
    assert counts(client.metrics(), "Spring")["messages_replied"] == 1

    convert(client, B, at(days=1))
    assert counts(client.metrics(), "Spring")["converted"] == 1

    spring.remove_leads([B])
    assert counts(client.metrics(), "Spring")["total_leads"] == 1

    spring.add_leads(pd.DataFrame({"phone_number": [C]}))
    assert counts(client.metrics(), "Spring")["total_leads"] == 2
    assert "opted_out" != spring.leads.set_index("phone_number").loc[A, "status"]

    reply(client, A, at(days=3), "STOP")  # changes the user's opt-out state only
    assert spring.leads.set_index("phone_number").loc[A, "status"] == "opted_out"

    other = campaign(client, "Other", [D])  # A opted out, so cannot be enrolled again
    send(client, other, D, at(days=5), "delivered")
    assert set(client.metrics()["campaign"]) == {"Spring", "Other"}
    other.delete(force=True)
    assert set(client.metrics()["campaign"]) == {"Spring"}
    assert client.sql("select count(*) from messages").fetchall() == [(2,)]


def test_an_unchanged_store_is_not_read_again(client):
    spring = campaign(client, "Spring", [A, B])
    send(client, spring, A, at(), "delivered")
    first = client.metrics()
    mirror = mirror_for(client.engine)
    before = dict(mirror.stats)
    second = client.metrics()
    assert second.equals(first)
    # campaigns (a handful of rows) are re-read whenever anything may have changed; nothing else
    assert mirror.stats["blocks_read"] == before.get("blocks_read", 0)
    if client.engine.dialect.name == "sqlite":  # PostgreSQL's token moves with any commit on the server
        assert mirror.stats["skipped"] == before.get("skipped", 0) + 1


def test_writes_from_another_connection(sqlite_url):
    with CampaignClient(sqlite_url) as client:
        spring = campaign(client, "Spring", [A])
        sid = send(client, spring, A, at(), "sent")
        assert counts(client.metrics(), "Spring")["delivered"] == 0
        with sqlite3.connect(_sqlite_file(sqlite_url)) as other:  # e.g. a webhook process
            other.execute("UPDATE outbound_messages SET status = 'delivered' WHERE sid = ?", (sid,))
        assert counts(client.metrics(), "Spring")["delivered"] == 1


def test_a_new_process_starts_from_the_cache_file_and_reads_only_what_changed(sqlite_url):
    path = _sqlite_file(sqlite_url)
    with CampaignClient(sqlite_url) as client:
        spring = campaign(client, "Spring", [A, B])
        sid = send(client, spring, A, at(), "sent")
        send(client, spring, B, at(), "sent")
        assert counts(client.metrics(), "Spring")["delivered"] == 0
        assert mirror_for(client.engine).cache_path == path + CACHE_SUFFIX
    with sqlite3.connect(path) as other:
        other.execute("UPDATE outbound_messages SET status = 'read' WHERE sid = ?", (sid,))
    with CampaignClient(sqlite_url) as client:  # a fresh mirror, as in a new process
        assert counts(client.metrics(), "Spring")["read"] == 1
        stats = mirror_for(client.engine).stats
        # the message the database stamped as changed, and the campaigns table; no block scans
        assert (stats["blocks_read"], stats["full_reads"]) == (0, 1)
        assert stats["rows_read"] == 1 + 1


def test_a_reused_id_is_a_change(sqlite_url):
    path = _sqlite_file(sqlite_url)
    with CampaignClient(sqlite_url) as client:
        first = campaign(client, "First", [A])
        second = campaign(client, "Second", [A])
        send(client, first, A, at(), "delivered")
        assert counts(client.metrics(), "First")["messages_sent"] == 1
        with sqlite3.connect(path) as other:  # the same id now holds Second's message
            row = other.execute("SELECT id, sid, created_at, status_at FROM outbound_messages").fetchone()
            other.execute("DELETE FROM outbound_messages")
            lead = other.execute("SELECT id FROM campaign_leads WHERE campaign_id = ?", (second.id,)).fetchone()[0]
            other.execute(
                "INSERT INTO outbound_messages (id, sid, campaign_id, lead_id, user_id, to_number, status, created_at,"
                " status_at) SELECT ?, ?, ?, ?, user_id, 'x', 'delivered', ?, ? FROM campaign_leads WHERE id = ?",
                (row[0], row[1], second.id, lead, row[2], row[3], lead),
            )
        wide = client.metrics()
        assert counts(wide, "First")["messages_sent"] == 0
        assert counts(wide, "Second")["messages_sent"] == 1


def test_an_unreadable_cache_file_is_rebuilt(sqlite_url):
    path = _sqlite_file(sqlite_url)
    with CampaignClient(sqlite_url) as client:
        campaign(client, "Spring", [A])
        client.metrics()
    with open(path + CACHE_SUFFIX, "wb") as broken:
        broken.write(b"not a duckdb file" * 100)
    with CampaignClient(sqlite_url) as client:
        assert counts(client.metrics(), "Spring")["total_leads"] == 1
        assert mirror_for(client.engine).cache_path == path + CACHE_SUFFIX
    assert duckdb.connect(path + CACHE_SUFFIX, read_only=True).sql("select count(*) from leads").fetchall() == [(1,)]


def test_an_in_memory_store_works_without_a_cache():
    with CampaignClient("sqlite:///:memory:") as client:
        spring = campaign(client, "Spring", [A])
        send(client, spring, A, at(), "read")
        assert counts(client.metrics(), "Spring")["read"] == 1
        assert mirror_for(client.engine).cache_path is None
        reply(client, A, at(hours=1))
        assert counts(client.metrics(), "Spring")["messages_replied"] == 1


@pytest.mark.parametrize("statement", [
    "UPDATE outbound_messages SET error_code = 30008 WHERE status = 'failed'",
    "UPDATE outbound_messages SET status_at = '2026-03-02 09:00:07.000000', status = 'undelivered'"
    " WHERE status = 'failed'",
])
def test_changes_that_keep_counts_equal(sqlite_url, statement):
    """Updates that change no count still change the numbers shown (here the error codes)."""
    with CampaignClient(sqlite_url) as client:
        spring = campaign(client, "Spring", [A])
        send(client, spring, A, at(), "failed", error_code=63016)
        assert client.metrics()["top_errors"][0] == "63016: 1"
        with sqlite3.connect(_sqlite_file(sqlite_url)) as other:
            other.execute(statement)
        expected = ("30008: 1", "failed") if "30008" in statement else ("63016: 1", "undelivered")
        assert client.metrics()["top_errors"][0] == expected[0]
        assert client.sql("select status from messages").fetchall() == [(expected[1],)]


def test_a_cache_file_of_another_format_is_rebuilt(sqlite_url):
    path = _sqlite_file(sqlite_url)
    with CampaignClient(sqlite_url) as client:
        spring = campaign(client, "Spring", [A])
        client.metrics()
    with duckdb.connect(path + CACHE_SUFFIX) as cache:  # as an older SDK would have left it
        cache.execute("UPDATE mirror.meta SET value = 'campaign_sdk analytics mirror v0' WHERE key = 'format'")
        cache.execute("DELETE FROM mirror.leads")
    with CampaignClient(sqlite_url) as client:
        send(client, spring, A, at(), "sent")
        assert counts(client.metrics(), "Spring")["messages_sent"] == 1
        assert mirror_for(client.engine).stats["full_reads"] == 5  # every table the metrics read


def test_an_empty_text_is_still_checked(sqlite_url):
    """A media-only reply has an empty body; the row must still be fingerprinted."""
    with CampaignClient(sqlite_url) as client:
        spring = campaign(client, "Spring", [A])
        send(client, spring, A, at(), "delivered")
        reply(client, A, at(hours=1), "")
        assert counts(client.metrics(), "Spring")["messages_replied"] == 1
        with sqlite3.connect(_sqlite_file(sqlite_url)) as other:  # same id, count and sum of ids
            other.execute("UPDATE inbound_messages SET kind = 'opt_out'")  # the body stays ''
        wide = client.metrics()
        assert (counts(wide, "Spring")["messages_replied"], counts(wide, "Spring")["opted_out"]) == (0, 1)
