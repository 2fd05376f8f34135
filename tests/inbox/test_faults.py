"""Faults survived: the real server (``campaign-sdk serve`` in its own process) is killed with
SIGKILL at random moments during a burst of signed callbacks (duplicates, out-of-order
statuses, statuses before their SIDs, inbound replies), and restarted. Every callback answered
2xx is in the inbox exactly once and applied, and the store ends exactly as a clean replay of
the same callbacks leaves it."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import httpx
import sqlalchemy as sa

from campaign_sdk import CampaignClient, inbox
from campaign_sdk.inbox._store import dedupe_key
from campaign_sdk.models import ConversationUser, InboundMessage, InboxEvent
from tests.server.conftest import AUTH_TOKEN, twilio_signature

from ._seed import message_state, record_sids, seed_intents

PUBLIC = "https://faults.example.test"
PATHS = [["sent", "delivered", "read"], ["sent", "delivered"], ["sending", "sent", "undelivered"], ["sent", "failed"]]


class Server:
    """``campaign-sdk serve`` on a free port, in a process of its own."""

    def __init__(self, url: str, workdir: Path) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "CAMPAIGN_SDK_"))} | {
            "CAMPAIGN_SDK_DATABASE_URL": url, "CAMPAIGN_SDK_API_KEYS": "faults-key",
            "CAMPAIGN_SDK_PUBLIC_URL": PUBLIC, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "CAMPAIGN_SDK_INBOX_WAIT": "0.5",
        }
        self.log = open(workdir / "server.log", "a")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "campaign_sdk.cli", "serve", "--port", str(self.port), "--log-level", "warning"],
            env=env, cwd=workdir, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.process.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self.log.close()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(30)
        self.log.close()


def callbacks(intents: list[tuple[int, int, str]], rng: random.Random) -> list[tuple[str, dict[str, str]]]:
    """Each message's status path, inbound replies, ~30% duplicates, all shuffled."""
    items: list[tuple[str, dict[str, str]]] = []
    for _, _, sid in intents:
        for status in rng.choice(PATHS):
            params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32}
            if status in ("failed", "undelivered"):
                params["ErrorCode"] = "30008"
            items.append(("/twilio/status", params))
    for i in range(12):
        items.append(("/twilio/inbound", {"MessageSid": f"SMin{i:030d}", "From": f"whatsapp:+1415555{5000 + i:04d}",
                                          "Body": "STOP" if i % 5 == 0 else "yes please"}))
    items += [rng.choice(items) for _ in range(len(items) * 3 // 10)]
    rng.shuffle(items)
    return items


def post(http: httpx.Client, port: int, path: str, params: dict[str, str]) -> int:
    signature = twilio_signature(PUBLIC + path, params)
    try:
        return http.post(f"http://127.0.0.1:{port}{path}", content=urlencode(params), timeout=10,
                         headers={"X-Twilio-Signature": signature,
                                  "Content-Type": "application/x-www-form-urlencoded"}).status_code
    except httpx.TransportError:  # killed mid-request: Twilio sees no answer and retries
        return 0


def burst(server: Server, items: list[tuple[str, dict[str, str]]], todo: list[int], kill: tuple[int, float] | None,
          answered: set[int], during=None) -> None:
    """Post ``todo``; with ``kill = (n, delay)``, SIGKILL the server ``delay`` seconds after the
    ``n``-th answer of this burst (requests in flight then get no answer)."""
    count = iter(range(1, len(todo) + 1))
    if during is not None:
        threading.Timer(0.05, during).start()
    local = threading.local()
    clients: list[httpx.Client] = []

    def one(index: int) -> None:
        if not hasattr(local, "http"):
            local.http = httpx.Client()
            clients.append(local.http)
        if post(local.http, server.port, *items[index]) // 100 == 2:
            answered.add(index)
            if kill is not None and next(count) == kill[0]:
                threading.Timer(kill[1], server.kill).start()

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(one, todo))
    for http in clients:
        http.close()
    if kill is not None:
        while server.process.poll() is None:
            time.sleep(0.05)


def test_sigkill_at_random_moments_loses_no_answered_callback(store_url, tmp_path) -> None:
    rng = random.Random(int(os.environ.get("FAULTS_SEED", "14")))
    with CampaignClient(store_url) as client:
        intents = seed_intents(client, 30)
        record_sids(client, intents[:15])  # the other 15 SIDs are recorded during the burst
    items = callbacks(intents, rng)
    answered: set[int] = set()
    left = []
    for round_ in range(4):
        todo = [i for i in range(len(items)) if i not in answered]
        left.append(len(todo))
        server = Server(store_url, tmp_path)
        late = None
        if round_ == 1:
            def late() -> None:
                with CampaignClient(store_url) as other:
                    record_sids(other, intents[15:])
        last = round_ == 3
        kill = None if last or len(todo) < 2 else (rng.randint(1, len(todo) // 2), rng.uniform(0, 0.05))
        burst(server, items, todo, kill, answered, late)
        if last:
            server.stop()
    assert answered == set(range(len(items)))  # the last round, unkilled, answered everything
    assert left[0] > left[1] > 0, left  # the kills did cut bursts short

    with CampaignClient(store_url) as client:
        inbox.apply_pending(client._sessions)  # what a restarted server's sweep does
        box = inbox.inbox_for(client.engine)
        with box.engine.connect() as connection:
            stored = {r.dedupe_key: (r.state, r.note) for r in connection.execute(sa.select(InboxEvent))}
        events = {_key(path, params) for path, params in items}
        assert set(stored) == events  # each answered callback stored exactly once (the key is unique)
        assert {state for state, _ in stored.values()} == {"applied"}, stored
        actual = _state(client, intents)
    with CampaignClient(f"sqlite:///{tmp_path / 'replay.db'}") as replay:
        replay_intents = seed_intents(replay, 30)
        assert [sid for *_, sid in replay_intents] == [sid for *_, sid in intents]
        record_sids(replay, replay_intents)
        for path, params in items:
            if path == "/twilio/status":
                replay.record_statuses([{"sid": params["MessageSid"], "status": params["MessageStatus"],
                                         "error_code": params.get("ErrorCode")}])
            else:
                replay.record_replies([{"sid": params["MessageSid"], "from": params["From"], "body": params["Body"]}])
        assert actual == _state(replay, replay_intents)


def _key(path: str, params: dict[str, str]) -> str:
    if path == "/twilio/status":
        return dedupe_key("status", {"sid": params["MessageSid"], "status": params["MessageStatus"],
                                     "error_code": params.get("ErrorCode")})
    return dedupe_key("reply", {"sid": params["MessageSid"], "from": params["From"], "body": params["Body"],
                                "button_payload": None})


def _state(client: CampaignClient, intents: list[tuple[int, int, str]]) -> tuple:
    with client.engine.connect() as connection:
        replies = sorted(connection.execute(
            sa.select(InboundMessage.sid, InboundMessage.kind, ConversationUser.phone_number)
            .join(ConversationUser, ConversationUser.id == InboundMessage.user_id)).tuples())
        opted_out = sorted(connection.execute(sa.select(ConversationUser.phone_number)
                                              .where(ConversationUser.opted_out_at.is_not(None))).scalars())
    return message_state(client, [sid for *_, sid in intents]), replies, opted_out
