"""A real uvicorn server on 127.0.0.1, on a SQLite file and on PostgreSQL.

The server runs in a thread of the test process (so tests can also open the same store with a
CampaignClient); requests go over real HTTP with httpx. Twilio webhooks are signed by hand,
exactly as Twilio signs them (base64 HMAC-SHA1 over the URL and the sorted parameters).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest
import uvicorn

from campaign_sdk import CampaignClient
from campaign_sdk.server import ServerSettings, create_app
from tests.conftest import _pg_base_url, _pg_schema

API_KEY = "test-key-7f3a9c1e2b"
OTHER_KEY = "second-key-0d4e8b6a"
AUTH_TOKEN = "test-auth-token-5b2c8e1f9a3d"
PUBLIC_URL = "https://campaigns.example.test/sdk"


class LiveServer:
    """uvicorn serving ``app`` on a free 127.0.0.1 port, in a background thread."""

    def __init__(self, app) -> None:
        self.app = app
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_config=None, log_level="info", lifespan="on", timeout_graceful_shutdown=5)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the uvicorn test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()

    @property
    def client(self) -> CampaignClient:
        return self.app.state.client


def twilio_signature(url: str, params: Mapping[str, str], token: str = AUTH_TOKEN) -> str:
    """Twilio's X-Twilio-Signature: base64(HMAC-SHA1(token, url + name1 + value1 + ...)), names sorted."""
    payload = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def settings_for(url: str, media_dir: Path, **overrides) -> ServerSettings:
    values = dict(
        database_url=url, public_url=PUBLIC_URL, api_keys=(API_KEY, OTHER_KEY), media_dir=media_dir,
        twilio_account_sid="AC" + "0" * 32, twilio_auth_token=AUTH_TOKEN,
        inbox_wait=10.0,  # tests read the store right after a webhook is answered
    )
    return ServerSettings(**(values | overrides))


def pg_schema_url() -> Iterator[str]:
    """A URL whose search_path is a fresh PostgreSQL schema (dropped when the generator ends);
    skips when no server is configured. The schema is the one of tests/conftest.py's ``pg_url``."""
    with _pg_schema(_pg_base_url()) as url:
        yield url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def live_url(request, tmp_path_factory) -> Iterator[str]:
    """A fresh store for the server tests: a SQLite file, then a PostgreSQL schema. Tests share it
    (each makes its own campaigns, with unique names), so the suite starts few servers."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('store') / 'campaigns.db'}"
    else:
        yield from pg_schema_url()


@pytest.fixture(scope="session")
def server(live_url, tmp_path_factory) -> Iterator[LiveServer]:
    """The service on ``live_url`` (migrations applied on start), shared by the server tests."""
    app = create_app(settings_for(live_url, tmp_path_factory.mktemp("media")))
    with LiveServer(app) as live:
        yield live


@pytest.fixture(scope="session")
def tls() -> ssl.SSLContext:
    """The TLS settings of the test clients, made once: httpx loads the CA bundle into a new
    context for every client (some 30 ms of CPU), though the test server speaks plain HTTP."""
    return ssl.create_default_context()


@pytest.fixture
def api(server, tls) -> Iterator[httpx.Client]:
    """An HTTP client with a valid API key."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30, verify=tls) as http:
        yield http


@pytest.fixture
def anon(server, tls) -> Iterator[httpx.Client]:
    """An HTTP client without credentials."""
    with httpx.Client(base_url=server.url, timeout=30, verify=tls) as http:
        yield http


def unique(prefix: str = "C") -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"
