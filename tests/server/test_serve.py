"""``campaign-sdk serve``: configuration from the environment, several workers on PostgreSQL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from campaign_sdk.cli import main
from campaign_sdk.server import ENV

from .conftest import API_KEY, pg_schema_url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def pg_store() -> str:
    yield from pg_schema_url()


def test_serve_runs_workers_on_postgresql(pg_store, tmp_path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "CAMPAIGN_SDK_"))} | {
        ENV["database_url"]: pg_store, ENV["api_keys"]: API_KEY, ENV["public_url"]: "https://c.example.test",
        ENV["media_dir"]: str(tmp_path / "media"),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "campaign_sdk.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "serve did not come up"
            time.sleep(0.2)
        auth = {"Authorization": f"Bearer {API_KEY}"}
        created = httpx.post(url + "/campaigns", headers=auth, json={"name": "Served", "template": "welcome_offer"})
        assert created.status_code == 201, created.text
        ids = {httpx.get(url + "/campaigns", headers=auth).json()["total"] for _ in range(6)}
        assert ids == {1}  # every worker sees the same store
        assert httpx.get(url + "/campaigns").status_code == 401
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert API_KEY not in output
    assert output.count("Started server process") >= 2  # two workers


def test_serve_refuses_to_start_without_api_keys(monkeypatch, capsys) -> None:
    for name in ENV.values():
        monkeypatch.delenv(name, raising=False)
    assert main(["serve", "--port", str(free_port())]) == 1
    assert "CAMPAIGN_SDK_API_KEYS" in capsys.readouterr().err
