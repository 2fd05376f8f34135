"""Webhooks through the durable inbox: stored before answered, 503 when they cannot be stored,
statuses for SIDs not recorded yet applied when the send records them."""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa

from campaign_sdk import inbox
from campaign_sdk.models import InboundMessage, InboxEvent
from tests.inbox._seed import message_state, record_sids, seed_intents

from .test_webhooks import inbound_count, inbound_params, post_signed, status_params


def _inbox_rows(client) -> int:
    with inbox.inbox_for(client.engine).engine.connect() as connection:
        return connection.scalar(sa.select(sa.func.count()).select_from(InboxEvent))


def test_a_status_before_its_sid_waits_in_the_inbox(anon, server) -> None:
    intents = seed_intents(server.client, 2, first_phone=7100)
    sid = intents[0][2]
    for status in ("read", "sent", "read"):  # out of order, and Twilio retried one
        response = post_signed(anon, "/twilio/status", status_params(sid, status))
        assert response.status_code == 200, response.text
    assert response.json() == {"applied": 0, "ignored": 0, "pending": 1,
                               "unmatched": [{"sid": sid, "status": "read", "reason": "unknown_sid"}]}
    record_sids(server.client, intents)
    assert message_state(server.client, [sid])[sid] == ("read", None, True, False, True, False)
    assert sid not in set(server.client.pending_events()["sid"])


def test_an_inbox_that_cannot_be_written_answers_503_and_twilio_retries(anon, server) -> None:
    intents = seed_intents(server.client, 1, first_phone=7200)
    record_sids(server.client, intents)
    sid = intents[0][2]
    before = _inbox_rows(server.client)
    box = inbox.inbox_for(server.client.engine)
    if box.shared:  # PostgreSQL: another transaction holds the inbox table
        holder = box.engine.connect()
        holder.exec_driver_sql("BEGIN")
        holder.exec_driver_sql("LOCK TABLE inbox_events IN ACCESS EXCLUSIVE MODE")
    else:  # SQLite: another connection holds the inbox file's write lock
        holder = sqlite3.connect(box.path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
    try:
        refused = post_signed(anon, "/twilio/status", status_params(sid, "delivered"))
    finally:
        holder.rollback() if box.shared else holder.execute("ROLLBACK")
        holder.close()
    assert refused.status_code == 503 and "inbox cannot be written" in refused.json()["detail"]
    assert message_state(server.client, [sid])[sid][0] == "accepted" and _inbox_rows(server.client) == before
    retried = post_signed(anon, "/twilio/status", status_params(sid, "delivered"))
    assert retried.status_code == 200 and retried.json()["applied"] == 1
    assert message_state(server.client, [sid])[sid][0] == "delivered"


def test_forged_and_malformed_webhooks_store_nothing(anon, server) -> None:
    before = (_inbox_rows(server.client), inbound_count(server.client))
    forged = post_signed(anon, "/twilio/inbound", inbound_params("SMf", "+14155552671", "hi"), signature="Zm9yZ2Vk")
    bad_from = post_signed(anon, "/twilio/inbound", inbound_params("SMg", "x", "hi") | {"From": "nobody"})
    # an unknown status *name* is stored (issue 11 item 6); a value that is no status name is refused
    bad_status = post_signed(anon, "/twilio/status", status_params("SMh", "exploded!\n"))
    assert (forged.status_code, bad_from.status_code, bad_status.status_code) == (403, 422, 422)
    assert (_inbox_rows(server.client), inbound_count(server.client)) == before


def test_a_callback_while_the_store_is_locked_is_stored_answered_and_applied_later(sqlite_url, tmp_path) -> None:
    """A bulk load holds SQLite's write lock for seconds; the webhook must not wait for it."""
    import time

    import httpx

    from campaign_sdk.server import create_app

    from .conftest import LiveServer, settings_for

    app = create_app(settings_for(sqlite_url, tmp_path, inbox_wait=0.2))
    with LiveServer(app) as live, httpx.Client(base_url=live.url) as http:
        intents = seed_intents(live.client, 2, first_phone=7300)
        record_sids(live.client, intents)
        holder = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # what a long write does: nobody else can write
        try:
            answers = [post_signed(http, "/twilio/status", status_params(sid, "read")) for *_, sid in intents]
            assert [a.status_code for a in answers] == [200, 200]
            assert [a.json()["pending"] for a in answers] == [1, 1]  # stored, not applied yet
            assert _inbox_rows(live.client) >= 2
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        deadline = time.monotonic() + 30
        while {s[0] for s in message_state(live.client, [sid for *_, sid in intents]).values()} != {"read"}:
            assert time.monotonic() < deadline, "the stored callbacks were never applied"
            time.sleep(0.1)


def test_by_default_a_callback_is_answered_once_stored_and_applied_right_after(sqlite_url, tmp_path) -> None:
    """inbox_wait 0 (the default): the answer never waits for the store, the event still lands."""
    import time

    import httpx

    from campaign_sdk.server import ServerSettings, create_app

    from .conftest import LiveServer, settings_for

    assert ServerSettings().inbox_wait == 0
    app = create_app(settings_for(sqlite_url, tmp_path, inbox_wait=0))
    with LiveServer(app) as live, httpx.Client(base_url=live.url) as http:
        intents = seed_intents(live.client, 1, first_phone=7400)
        record_sids(live.client, intents)
        sid = intents[0][2]
        answer = post_signed(http, "/twilio/status", status_params(sid, "delivered"))
        assert answer.status_code == 200 and answer.json()["pending"] == 1  # stored; applied after the answer
        deadline = time.monotonic() + 30
        while (message_state(live.client, [sid])[sid][0] != "delivered"
               or sid in set(live.client.pending_events()["sid"])):  # applied, then marked so in the inbox
            assert time.monotonic() < deadline, "the stored callback was never applied"
            time.sleep(0.05)


def test_a_nul_character_is_refused_in_a_sid_and_kept_as_u_fffd_in_a_body(anon, server) -> None:
    """PostgreSQL text cannot hold NUL: a SID with one is no Twilio callback (422, nothing stored,
    never a 503 that Twilio would retry forever); a body keeps the message with U+FFFD instead."""
    before = _inbox_rows(server.client)
    refused = post_signed(anon, "/twilio/status", status_params("SM\x00" + "1" * 31, "delivered"))
    assert refused.status_code == 422 and "NUL" in refused.json()["detail"]
    assert _inbox_rows(server.client) == before
    sid = "SMnul" + "0" * 29
    kept = post_signed(anon, "/twilio/inbound", inbound_params(sid, "+14155557301", "hi\x00there"))
    assert kept.status_code == 200, kept.text
    with server.client.transaction() as session:
        body = session.scalar(sa.select(InboundMessage.body).where(InboundMessage.sid == sid))
    assert body == "hi\ufffdthere"
