"""``campaign-sdk serve``: configuration from the environment, several workers on PostgreSQL."""

from __future__ import annotations

import functools
import os
import signal
import socket
import subprocess
import sys

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
    lines: list[str] = []
    try:
        # Each worker logs this once its app has started; the parent bound the port before forking
        # them, so requests are answered from then on. (pytest-timeout bounds the wait.)
        while sum("Application startup complete" in line for line in lines) < 2:
            lines.append(process.stdout.readline())
            assert lines[-1], "serve ended before both workers started:\n" + "".join(lines)
        url, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {API_KEY}"}
        http = functools.partial(httpx.request, timeout=60)  # a new connection each: any worker answers
        assert http("GET", url + "/healthz").status_code == 200
        created = http("POST", url + "/campaigns", headers=auth, json={"name": "Served", "template": "welcome_offer"})
        assert created.status_code == 201, created.text
        ids = {http("GET", url + "/campaigns", headers=auth).json()["total"] for _ in range(6)}
        assert ids == {1}  # every worker sees the same store
        assert http("GET", url + "/campaigns").status_code == 401
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
    output = "".join(lines) + rest
    assert API_KEY not in output
    assert output.count("Started server process") >= 2  # two workers


def test_serve_refuses_to_start_without_api_keys(monkeypatch, capsys) -> None:
    for name in ENV.values():
        monkeypatch.delenv(name, raising=False)
    assert main(["serve", "--port", str(free_port())]) == 1
    assert "CAMPAIGN_SDK_API_KEYS" in capsys.readouterr().err
