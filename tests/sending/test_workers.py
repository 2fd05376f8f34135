"""Several ``campaign-sdk worker`` processes on one PostgreSQL store share the due messages: each
is sent exactly once, even when workers are SIGKILLed mid-send, and the rate limit is shared.

The workers are real ``python -m campaign_sdk.cli worker`` processes talking to the local Twilio
server over HTTP (``--twilio-url``) with the real twilio-python client.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from campaign_sdk import CampaignClient, DeliveryPolicy
from campaign_sdk.gateways import TwilioGateway
from campaign_sdk.models import DeferredSend, OutboundMessage
from campaign_sdk.testing import TwilioTestServer

from tests.conftest import SERVICE_SID

from .conftest import FAST_RETRY, approve, leads_frame, numbers

ROOT = Path(__file__).resolve().parents[2]


class Worker:
    def __init__(self, url: str, server: TwilioTestServer, log: Path, *extra: str) -> None:
        env = {**os.environ, "TWILIO_ACCOUNT_SID": server.account_sid, "TWILIO_AUTH_TOKEN": server.auth_token,
               "TWILIO_MESSAGING_SERVICE_SID": SERVICE_SID}
        self.log = log
        self._out = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "campaign_sdk.cli", "--db", url, "worker", "--twilio-url", server.url,
             "--poll", "0.2", "--lease", "3", "--max-in-flight", "4", "--batch", "8", *extra],
            stdout=self._out, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
        )

    def kill(self) -> None:
        assert self.process.poll() is None, f"the worker ended before it was killed:\n{self.log.read_text()}"
        os.kill(self.process.pid, signal.SIGKILL)
        assert self.process.wait(timeout=10) == -signal.SIGKILL

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._out.close()


def _scheduled_campaign(client: CampaignClient, server: TwilioTestServer, count: int, name: str,
                        *, in_seconds: float = 2.0):
    campaign = client.create_campaign(name, template="order_confirmation")
    campaign.add_leads(leads_frame(count))
    approve(campaign, server)
    campaign.set_delivery(DeliveryPolicy(window=None))  # stored: the workers read it
    at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=in_seconds)
    report = campaign.schedule(at=at, progress=False, retry=FAST_RETRY)
    assert report.sent == 0 and report.deferred == {"scheduled": count}
    return campaign


def _sent(server: TwilioTestServer) -> Counter[str]:
    return Counter(m["to"].removeprefix("whatsapp:") for m in server.sent())


def _wait(server: TwilioTestServer, predicate, workers: list[Worker], timeout: float = 60,
          client: CampaignClient | None = None) -> None:
    try:
        server.wait_for(predicate, timeout=timeout)
    except TimeoutError:
        logs = "\n".join(f"--- {w.log.name}\n{w.log.read_text()}" for w in workers)
        rows = ""
        if client is not None:
            with client.engine.connect() as connection:
                rows = "\n".join(map(str, connection.execute(sa.select(DeferredSend.__table__)).all()))
                rows += "\n" + "\n".join(map(str, connection.execute(
                    sa.select(OutboundMessage.lead_id, OutboundMessage.sid, OutboundMessage.error_kind)
                    .where(OutboundMessage.sid.is_(None))).all()))
        pytest.fail(f"the workers never got there:\n{logs}\n{rows}")


def test_three_workers_share_the_due_work_and_sigkills_lose_or_double_nothing(pg_url: str, tmp_path: Path) -> None:
    count = 150
    with TwilioTestServer(latency=0.002) as server:
        gateway = TwilioGateway(server.twilio_client(), messaging_service_sid=SERVICE_SID, rate=None)
        with CampaignClient(pg_url, gateway=gateway) as client:
            _scheduled_campaign(client, server, count, "Shared")
            server.fail("slow", delay=0.15, times=None)
            workers = [Worker(pg_url, server, tmp_path / f"w{i}.log") for i in range(3)]
            try:
                _wait(server, lambda s: len(s.sent()) >= 30, workers)
                workers[0].kill()  # mid-stream, with claimed messages and requests in flight
                _wait(server, lambda s: len(s.sent()) >= 70, workers)
                # the next request is processed by Twilio but its answer never comes back
                server.clear_faults()  # the first matching fault applies: the hang goes first
                server.fail("hang", processed=True, times=1)
                server.fail("slow", delay=0.15, times=None)
                _wait(server, lambda s: s.hanging >= 1, workers, client=client)
                hung = next(w for w in workers[1:] if w.process.poll() is None)
                hung.kill()
                server.release()
                workers.append(Worker(pg_url, server, tmp_path / "w3.log"))  # a late joiner
                _wait(server, lambda s: len(s.sent()) >= count, workers, timeout=90)
                _wait(server, lambda s: _settled(client) == count, workers, timeout=30)
            finally:
                for worker in workers:
                    worker.stop()
            assert _sent(server) == Counter(numbers(count))  # every lead exactly once
            with client.engine.connect() as connection:
                assert connection.scalar(sa.select(sa.func.count()).select_from(DeferredSend)) == 0
                stored = connection.execute(sa.select(OutboundMessage.to_number, OutboundMessage.sid)).all()
            assert sorted(stored) == sorted((m["to"].removeprefix("whatsapp:"), m["sid"]) for m in server.sent())
            logs = [w.log.read_text() for w in workers]
            assert sum("sent=" in log and "sent=0 " not in log for log in logs) >= 2, logs  # the work was shared


def _settled(client: CampaignClient) -> int:
    with client.engine.connect() as connection:
        return int(connection.scalar(sa.select(sa.func.count()).where(OutboundMessage.sid.is_not(None))) or 0)


def test_two_workers_share_one_rate_limit(pg_url: str, tmp_path: Path) -> None:
    """Two workers with --rate 20: Twilio sees at most 20 messages per second in total (the
    rate is one schedule in the store, not 20 per worker)."""
    count = 60
    with TwilioTestServer(latency=0.001) as server:
        gateway = TwilioGateway(server.twilio_client(), messaging_service_sid=SERVICE_SID, rate=None)
        with CampaignClient(pg_url, gateway=gateway) as client:
            campaign = _scheduled_campaign(client, server, count, "Rated", in_seconds=3.0)
            workers = [Worker(pg_url, server, tmp_path / f"r{i}.log", "--rate", "20") for i in range(2)]
            try:
                _wait(server, lambda s: len(s.sent()) >= count, workers)
            finally:
                for worker in workers:
                    worker.stop()
            sid = str(campaign._row().content_sid)
            arrivals = sorted(r.at for r in server.requests if r.method == "POST"
                              and r.path.endswith("/Messages.json") and (r.form.get("ContentSid") or [""])[0] == sid)
            assert len(arrivals) == count
            rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
            assert rate <= 20 * 1.1, f"{rate:.1f} msg/s from two workers sharing 20/s"
            assert _sent(server) == Counter(numbers(count))
            time.sleep(0)  # the workers' logs say both took part
            assert all("sent=" in w.log.read_text() for w in workers)
