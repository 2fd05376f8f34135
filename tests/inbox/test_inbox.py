"""The inbox: statuses that arrive before their SID wait for it, whichever path brings them."""

from __future__ import annotations

import datetime as dt
import multiprocessing

import pytest
import sqlalchemy as sa

from campaign_sdk import CampaignClient, inbox
from campaign_sdk.gateways import SandboxGateway
from campaign_sdk.models import InboundMessage, InboxEvent

from ._seed import message_state, record_sids, seed_intents


def test_a_status_before_its_sid_is_applied_when_the_send_records_the_sid(client) -> None:
    intents = seed_intents(client, 3)
    early = [{"sid": sid, "status": "delivered"} for _, _, sid in intents[:2]]
    result = client.record_statuses(early + [{"sid": intents[0][2], "status": "sent"}])
    assert (result.applied, result.pending) == (0, 3)
    assert sorted(client.pending_events()["sid"]) == sorted([intents[0][2]] * 2 + [intents[1][2]])

    record_sids(client, intents)  # the send engine's SID-recording point
    state = message_state(client, [sid for _, _, sid in intents])
    assert state[intents[0][2]][:2] == ("delivered", None) and state[intents[0][2]][2:4] == (True, True)
    assert state[intents[1][2]][0] == "delivered"
    assert state[intents[2][2]][0] == "accepted"  # nothing arrived for it
    assert client.pending_events().empty


def test_sync_applies_statuses_whose_sid_another_process_recorded(sqlite_url) -> None:
    with CampaignClient(sqlite_url, gateway=SandboxGateway(seed=1)) as client:
        intents = seed_intents(client, 2)
        assert client.record_statuses([{"sid": intents[0][2], "status": "read"}]).pending == 1
        with CampaignClient(sqlite_url) as other:  # e.g. a send in another notebook, without the hook
            with other.transaction() as session:
                from campaign_sdk import service

                service.record_accepted(session, [{"id": intents[0][0], "sid": intents[0][2], "status": "accepted"}])
        assert message_state(client, [intents[0][2]])[intents[0][2]][0] == "accepted"
        report = client.sync()
        assert report.statuses.applied >= 1
        assert message_state(client, [intents[0][2]])[intents[0][2]][0] == "read"
        assert client.pending_events().empty


def test_old_pending_events_are_listed_with_age_and_sid_never_dropped(client) -> None:
    client.record_statuses([{"sid": "SMneverrecorded", "status": "failed", "error_code": 30008}])
    engine = inbox.inbox_for(client.engine).engine
    with engine.begin() as connection:  # as if it arrived two hours ago
        connection.execute(sa.update(InboxEvent).values(received_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)))
    old = client.pending_events(older_than="1h")
    assert list(old["sid"]) == ["SMneverrecorded"] and list(old["status"]) == ["failed"]
    assert old["age"].iloc[0] >= dt.timedelta(hours=2)
    assert client.pending_events(older_than="3h").empty
    inbox.inbox_for(client.engine).prune(keep=dt.timedelta(0))  # forgets applied events only
    assert len(client.pending_events()) == 1


def test_identical_rows_are_stored_once_and_counted_like_the_recorder(client) -> None:
    intents = seed_intents(client, 1)
    record_sids(client, intents)
    sid = intents[0][2]
    first = client.record_statuses([{"sid": sid, "status": "sent"}, {"sid": sid, "status": "sent"}])
    assert (first.applied, first.ignored) == (1, 1)
    again = client.record_statuses([{"sid": sid, "status": "sent"}])
    assert (again.applied, again.ignored) == (0, 1)
    with inbox.inbox_for(client.engine).engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(InboxEvent)) == 1


def test_a_sqlite_store_keeps_its_inbox_in_a_file_of_its_own(sqlite_url) -> None:
    with CampaignClient(sqlite_url) as client:
        client.record_statuses([{"sid": "SMx", "status": "sent"}])
        box = inbox.inbox_for(client.engine)
        assert not box.shared and box.path == sqlite_url.removeprefix("sqlite:///") + inbox.INBOX_SUFFIX
        with box.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        with client.engine.connect() as connection:  # the store's own table stays empty
            assert connection.scalar(sa.select(sa.func.count()).select_from(InboxEvent)) == 0


def _reply_many(url: str, start: multiprocessing.Event, errors: multiprocessing.Queue) -> None:
    try:
        with CampaignClient(url) as client:
            start.wait(10)
            for i in range(15):
                client.record_replies([{"sid": f"SMdup{i:03d}", "from": "+14155550199", "body": "yes"}])
    except Exception as exc:  # reported to the test
        errors.put(repr(exc))


def test_concurrent_duplicate_inbound_messages_never_error(store_url) -> None:
    CampaignClient(store_url).close()  # migrate once
    # four processes of their own, forked from multiprocessing's fork server rather than spawned: each
    # spawned one imported campaign_sdk afresh (~1.5 s of CPU apiece); the server imports once what the
    # run's modules preload (tests/sending/test_crash.py asks for campaign_sdk), before any store is open
    context = multiprocessing.get_context("forkserver")
    start, errors = context.Event(), context.Queue()
    workers = [context.Process(target=_reply_many, args=(store_url, start, errors)) for _ in range(4)]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(120)
    assert [w.exitcode for w in workers] == [0] * 4
    assert errors.empty(), errors.get()
    with CampaignClient(store_url) as client, client.engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(InboundMessage)) == 15


@pytest.mark.parametrize("kind", ["status", "reply"])
def test_a_refused_event_does_not_abort_its_batch(client, kind) -> None:
    intents = seed_intents(client, 1)
    record_sids(client, intents)
    if kind == "status":
        rows = [{"sid": intents[0][2], "status": "sent", "timestamp": "not a time"},
                {"sid": intents[0][2], "status": "read"}]
        with pytest.warns(UserWarning, match="could not be applied"):
            result = client.record_statuses(rows)
        assert message_state(client, [intents[0][2]])[intents[0][2]][0] == "read"
    else:
        rows = [{"sid": "SMr1", "from": "not a number", "body": "x"}, {"sid": "SMr2", "from": "+14155550123", "body": "x"}]
        with pytest.warns(UserWarning, match="could not be applied"):
            result = client.record_replies(rows)
    assert result.applied == 1 and result.unmatched[0]["reason"].startswith("refused: ")
    assert list(client.pending_events()["state"]) == ["failed"]
