"""Crash safety: a sending process is killed with SIGKILL at several points; the server's log
must show every lead messaged exactly once after a final send() finishes the job."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import signal
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from campaign_sdk import CampaignClient, DeliveryPolicy, SendWindow
from campaign_sdk.gateways import TwilioGateway
from campaign_sdk.models import DeferredSend, OutboundMessage
from campaign_sdk.sending import DueSender
from campaign_sdk.testing import TwilioTestServer

from . import _crash_sender
from tests.conftest import SERVICE_SID

from .conftest import FAST_RETRY, FROM_NUMBER, approve, leads_frame, numbers
from .test_deferral import closed_now, opening

LEADS = 120


class Child:
    """A send running in another process (forked from a preloaded server, so it starts at once),
    killed with SIGKILL on request."""

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["campaign_sdk", "twilio.rest", _crash_sender.__name__])

    def __init__(self, store_url: str, server: TwilioTestServer, log: Path, *, from_: str | None = None) -> None:
        self.log = log
        args = (store_url, server.url, server.account_sid, server.auth_token, "Crash", str(log), from_)
        self.process = self.context.Process(target=_crash_sender.run, args=args, daemon=True)
        self.process.start()

    def kill(self) -> None:
        assert self.process.exitcode is None, f"the sender ended before it was killed:\n{self.log.read_text()}"
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.join(timeout=10)
        assert self.process.exitcode == -signal.SIGKILL
        self.process.close()


def _sent(server: TwilioTestServer) -> Counter[str]:
    return Counter(m["to"].removeprefix("whatsapp:") for m in server.sent())


def _open_intents(client: CampaignClient) -> int:
    query = sa.select(sa.func.count()).where(OutboundMessage.sid.is_(None), OutboundMessage.error_code.is_(None))
    with client.engine.connect() as connection:
        return int(connection.scalar(query) or 0)


@contextmanager
def _writes_blocked(engine: sa.Engine) -> Iterator[None]:
    """Hold the database's write lock (readers go on) until the block ends."""
    if engine.dialect.name == "sqlite":
        connection = sqlite3.connect(str(engine.url.database), isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.rollback()
            connection.close()
        return
    with engine.connect() as locked:
        locked.exec_driver_sql("LOCK TABLE outbound_messages IN SHARE MODE")
        yield
        locked.rollback()


def _quiet_for(seconds: float):
    """A predicate that holds once the server has sent nothing new for ``seconds``."""
    seen = {"count": -1, "since": time.monotonic()}

    def quiet(server: TwilioTestServer) -> bool:
        count = len(server.sent())
        if count != seen["count"]:
            seen.update(count=count, since=time.monotonic())
        return time.monotonic() - seen["since"] >= seconds

    return quiet


def _wait(server: TwilioTestServer, child: Child, predicate) -> None:
    try:
        server.wait_for(predicate, timeout=30)
    except TimeoutError:
        pytest.fail(f"the sender never reached the kill point:\n{child.log.read_text()}")


def crash(server: TwilioTestServer, store_url: str, log: Path, until, fault: str, *, from_: str | None = None,
          **options) -> None:
    """Send in another process (from the number ``from_``, else through the Messaging Service) with
    the server's ``fault`` on (``server.fail(fault, **options)``), SIGKILL the sender once
    ``until(server)`` holds, then lift the fault and drop the requests it held (never processed)."""
    server.fail(fault, **options)
    child = Child(store_url, server, log, from_=from_)
    _wait(server, child, until)
    child.kill()
    server.clear_faults()
    server.release()


def test_sigkill_at_every_stage_then_exactly_once(store_url: str, tmp_path: Path) -> None:
    with TwilioTestServer(latency=0.002) as server:
        gateway = TwilioGateway(server.twilio_client(), messaging_service_sid=SERVICE_SID, rate=None)
        with CampaignClient(store_url, gateway=gateway) as client:
            client.delivery_policy = DeliveryPolicy(window=None)
            campaign = client.create_campaign("Crash", template="order_confirmation")
            campaign.add_leads(leads_frame(LEADS))
            approve(campaign, server)

            # 1. Intents are committed, the first requests are held before Twilio processes them.
            crash(server, store_url, tmp_path / "1.log", lambda s: s.hanging >= 1, "hang", times=None)
            assert server.sent() == [] and _open_intents(client) > 0

            # 2. Killed while reconciling those intents against Twilio's message list.
            crash(server, store_url, tmp_path / "2.log", lambda s: s.hanging >= 1, "hang", method="GET", times=None)
            assert server.sent() == []

            # 3. Twilio processed the 30th message but its answer never came back.
            crash(server, store_url, tmp_path / "3.log", lambda s: s.hanging >= 1, "hang", processed=True, skip=29,
                  times=1)
            assert len(server.sent()) >= 30 and max(_sent(server).values()) == 1

            # 4. Killed in the middle of the stream.
            crash(server, store_url, tmp_path / "4.log", lambda s: len(s.sent()) >= 50, "slow", delay=0.02, times=None)
            assert max(_sent(server).values()) == 1

            # 5. Twilio answered, but the answers cannot be written (the database is locked).
            before = len(server.sent())
            server.fail("slow", delay=0.05, times=None)
            child = Child(store_url, server, tmp_path / "5.log")
            _wait(server, child, lambda s: len(s.sent()) > before)
            with _writes_blocked(client.engine):
                _wait(server, child, _quiet_for(0.3))
                child.kill()
            assert len(server.sent()) > before and max(_sent(server).values()) == 1
            server.clear_faults()

            # Finish the job in this process: answers nobody recorded are found, nothing is resent.
            already = len(server.sent())
            report = campaign.send(progress=False)
            assert report.reconciled >= 1 and report.complete
            assert report.sent == LEADS - already
            assert _sent(server) == Counter(numbers(LEADS))
            with client.engine.connect() as connection:
                stored = connection.execute(sa.select(OutboundMessage.to_number, OutboundMessage.sid)).all()
            assert sorted(stored) == sorted((m["to"].removeprefix("whatsapp:"), m["sid"]) for m in server.sent())
            lookups = [r for r in server.requests if r.method == "GET" and r.query.get("To")]
            assert lookups, "the killed sends' intents were reconciled against Twilio's list"


BERLIN = ZoneInfo("Europe/Berlin")
GERMAN = [f"+49151123{i:05d}" for i in range(60)]


def test_sigkill_during_a_send_with_deferred_messages_then_exactly_once(store_url: str, tmp_path: Path) -> None:
    """Half the leads are due (US, window open), half deferred (Germany, window closed): the send
    is killed mid-stream, resumed, and the worker sends the deferred half when due, each once.
    From a number (no Messaging Service): the worker, not Twilio's scheduler, holds the deferred."""
    with TwilioTestServer(latency=0.002) as server:
        gateway = TwilioGateway(server.twilio_client(), from_=FROM_NUMBER, rate=None)
        with CampaignClient(store_url, gateway=gateway) as client:
            campaign = client.create_campaign("Crash", template="order_confirmation")
            frame = leads_frame(120)
            frame.loc[60:, "phone_number"] = GERMAN
            campaign.add_leads(frame)
            approve(campaign, server)
            window = closed_now(BERLIN)
            # stored on the campaign: the child's send reads it too
            campaign.set_delivery(DeliveryPolicy(window=SendWindow(start="00:00", end="24:00"),
                                                 countries={"DE": window}))
            crash(server, store_url, tmp_path / "d.log", lambda s: len(s.sent()) >= 20, "slow", delay=0.03, times=None,
                  from_=FROM_NUMBER)
            assert max(_sent(server).values()) == 1

            report = campaign.send(progress=False, retry=FAST_RETRY)
            assert report.complete and report.deferred == {"quiet_hours": 60}
            assert _sent(server) == Counter(numbers(60))  # the due half, once; nothing early
            due = opening(window, BERLIN)
            with client.engine.connect() as connection:
                held = connection.execute(sa.select(DeferredSend.due_at)).scalars().all()
            assert len(held) == 60 and set(held) == {due}

            done = DueSender(client._sessions, gateway, retry=FAST_RETRY, clock=lambda: due + dt.timedelta(seconds=1)).run()
            assert done.sent == 60 and done.waiting == 0
            assert _sent(server) == Counter(numbers(60) + GERMAN)
            assert campaign.send(progress=False, retry=FAST_RETRY).sent == 0
            assert _sent(server) == Counter(numbers(60) + GERMAN)


def test_sigkill_during_a_send_that_hands_messages_to_twilios_scheduler_then_exactly_once(
        store_url: str, tmp_path: Path) -> None:
    """Every lead is deferred into Twilio's SendAt window (through the Messaging Service), so the
    send schedules each at Twilio; it is killed mid-stream, and the next send finds the scheduled
    messages in Twilio's list (reconciled, not scheduled twice) and schedules the rest."""
    with TwilioTestServer(latency=0.002) as server:
        gateway = TwilioGateway(server.twilio_client(), messaging_service_sid=SERVICE_SID, rate=None)
        with CampaignClient(store_url, gateway=gateway) as client:
            campaign = client.create_campaign("Crash", template="order_confirmation")
            campaign.add_leads(leads_frame(LEADS))
            approve(campaign, server)
            window = closed_now()
            campaign.set_delivery(DeliveryPolicy(window=window))  # stored: the child's send reads it
            # the 30th is scheduled, its answer lost
            crash(server, store_url, tmp_path / "s.log", lambda s: s.hanging >= 1, "hang", processed=True, skip=29,
                  times=1)
            assert len(server.sent()) >= 30 and max(_sent(server).values()) == 1
            already = len(server.sent())

            report = campaign.send(progress=False, retry=FAST_RETRY)

            assert report.complete and report.reconciled >= 1 and report.deferred == {}
            assert report.scheduled == LEADS - already
            assert _sent(server) == Counter(numbers(LEADS))  # each lead once at Twilio
            due = opening(window).strftime("%Y-%m-%dT%H:%M:%SZ")
            # every create Twilio took (a request the SIGKILL cut off mid-body has no form to look at)
            creates = [r for r in server.requests if r.method == "POST" and r.path.endswith("/Messages.json")
                       and r.field("To")]
            assert len(creates) >= LEADS
            assert {(r.field("ScheduleType"), r.field("SendAt")) for r in creates} == {("fixed", due)}
            assert {m["status"] for m in server.sent()} == {"scheduled"}
            with client.engine.connect() as connection:
                stored = connection.execute(sa.select(OutboundMessage.sid, OutboundMessage.status)).all()
                held = connection.execute(sa.select(sa.func.count()).select_from(DeferredSend)).scalar()
            assert sorted(stored) == sorted((m["sid"], "scheduled") for m in server.sent()) and held == 0
            assert campaign.send(progress=False, retry=FAST_RETRY).scheduled == 0
            assert _sent(server) == Counter(numbers(LEADS))
