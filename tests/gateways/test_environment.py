"""The gateway's requests read the proxy and CA-bundle environment once per host (not on every
request) and get exactly what requests would compute: proxies and NO_PROXY are still honoured,
a change of ``os.environ`` is seen, and requests that are not the gateway's are untouched."""

from __future__ import annotations

import http.client
import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from requests import utils as requests_utils

from campaign_sdk.gateways import ContentRequest, SendRequest, TwilioGateway
from campaign_sdk.gateways import _environment as environment
from campaign_sdk.testing import TwilioTestServer

from tests.conftest import SERVICE_SID

VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
             "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
TWILIO = "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json"
TEXT = ContentRequest(friendly_name="hi", content_type="twilio/text", types={"twilio/text": {"body": "Hi {{1}}"}},
                      variables={"1": "Ana"})


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


ENVIRONMENTS = [
    {},
    {"HTTPS_PROXY": "http://proxy.example:3128", "HTTP_PROXY": "http://plain.example:8080"},
    {"https_proxy": "http://lower.example:3128"},
    {"ALL_PROXY": "socks5://all.example:1080"},
    {"HTTPS_PROXY": "http://proxy.example:3128", "NO_PROXY": "twilio.com"},
    {"HTTPS_PROXY": "http://proxy.example:3128", "NO_PROXY": "example.org, .other.net"},
    {"HTTPS_PROXY": "http://proxy.example:3128", "no_proxy": "*"},
    {"REQUESTS_CA_BUNDLE": "/etc/ssl/one.pem"},
    {"CURL_CA_BUNDLE": "/etc/ssl/two.pem"},
    {"REQUESTS_CA_BUNDLE": "/etc/ssl/one.pem", "CURL_CA_BUNDLE": "/etc/ssl/two.pem",
     "HTTPS_PROXY": "http://proxy.example:3128"},
]
SESSIONS: list[dict[str, Any]] = [
    {},
    {"trust_env": False},
    {"proxies": {"https": "http://session.example:1"}},
    {"verify": False},
    {"verify": "/etc/ssl/session.pem", "cert": "/etc/ssl/client.pem", "stream": True},
]
GIVEN: list[Any] = [None, {}, {"https": "http://given.example:2"}, {"no_proxy": "twilio.com"}]
URLS = [TWILIO, "http://127.0.0.1:8000/2010-04-01/x", "https://content.twilio.com/v1/Content"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("options", SESSIONS)
def test_the_hooked_merge_is_requests_own(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                         options: dict[str, Any]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    session, plain = requests.Session(), requests.Session()
    for target in (session, plain):
        for name, value in options.items():
            setattr(target, name, value)
    assert environment.hook(type("Client", (), {"session": session})())
    settings = environment.EnvironmentSettings()
    for url in URLS:
        for given in GIVEN:
            ours_given, theirs_given = (None, None) if given is None else (dict(given), dict(given))
            for _ in range(2):  # the second time from what was read the first time
                with environment.using(settings):
                    ours = session.merge_environment_settings(url, ours_given, None, None, None)
                theirs = plain.merge_environment_settings(url, theirs_given, None, None, None)
                assert ours == theirs, (url, given)
                assert ours_given == theirs_given  # requests fills the given proxies in from the environment


def test_the_environment_is_read_once_per_host_and_again_when_it_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str] = []
    real = environment.get_environ_proxies

    def counted(url: str, no_proxy: str | None = None) -> dict[str, str]:
        reads.append(url)
        return real(url, no_proxy=no_proxy)

    monkeypatch.setattr(environment, "get_environ_proxies", counted)
    settings = environment.EnvironmentSettings()
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    for _ in range(3):
        assert settings.lookup(TWILIO, None) == ({"https": "http://proxy.example:3128"}, None)
    assert settings.lookup("https://content.twilio.com/v1/Content", None)[0] == {"https": "http://proxy.example:3128"}
    assert len(reads) == 2  # once per host
    monkeypatch.setenv("NO_PROXY", "api.twilio.com")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/one.pem")
    assert settings.lookup(TWILIO, None) == ({}, "/etc/ssl/one.pem")  # the change is seen
    monkeypatch.delenv("NO_PROXY")
    assert settings.lookup(TWILIO, None) == ({"https": "http://proxy.example:3128"}, "/etc/ssl/one.pem")
    assert len(reads) == 4


def test_requests_outside_a_gateway_call_read_the_environment_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str] = []
    monkeypatch.setattr(requests.sessions, "get_environ_proxies",
                        lambda url, no_proxy=None: reads.append(url) or {})
    session = requests.Session()
    environment.hook(type("Client", (), {"session": session})())
    session.merge_environment_settings(TWILIO, {}, None, None, None)
    session.merge_environment_settings(TWILIO, {}, None, None, None)
    assert reads == [TWILIO, TWILIO]  # requests' own merge, untouched


def test_only_a_plain_requests_session_is_hooked() -> None:
    class Custom(requests.Session):
        def merge_environment_settings(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
            return super().merge_environment_settings(*args, **kwargs)

    assert not environment.hook(None)
    assert not environment.hook(type("Client", (), {"session": None})())  # pool_connections=False
    custom = Custom()
    assert not environment.hook(type("Client", (), {"session": custom})())
    assert "merge_environment_settings" not in custom.__dict__
    session = requests.Session()
    holder = type("Client", (), {"session": session})()
    assert environment.hook(holder) and environment.hook(holder)
    first = session.__dict__["merge_environment_settings"]
    environment.hook(holder)
    assert session.__dict__["merge_environment_settings"] is first  # hooked once


class _Proxy(http.server.BaseHTTPRequestHandler):
    """A forwarding HTTP proxy that records the absolute URLs it is asked for."""

    protocol_version = "HTTP/1.1"
    seen: list[str]

    def _forward(self) -> None:
        self.seen.append(self.path)
        target = requests_utils.urlparse(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")}
        upstream.request(self.command, target.path + (f"?{target.query}" if target.query else ""), body, headers)
        answer = upstream.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        upstream.close()

    do_GET = do_POST = _forward

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    handler = type("Handler", (_Proxy,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_the_gateway_sends_through_the_environments_proxy(monkeypatch: pytest.MonkeyPatch,
                                                         twilio_server: TwilioTestServer,
                                                         proxy: tuple[str, list[str]]) -> None:
    url, seen = proxy
    messages = f"{twilio_server.url}/2010-04-01/Accounts/{twilio_server.account_sid}/Messages.json"
    gateway = TwilioGateway(twilio_server.twilio_client(), messaging_service_sid=SERVICE_SID, rate=None)
    content_sid = gateway.create_content(TEXT)  # no proxy yet: straight to the server
    assert seen == []
    monkeypatch.setenv("HTTP_PROXY", url)  # set after the gateway's first request: seen
    sent = gateway.send_message(SendRequest("+14155552671", content_sid, {"1": "Ana"}))
    assert seen == [messages]
    assert sent.sid.startswith("SM") and twilio_server.requests[-1].form["To"] == ["whatsapp:+14155552671"]
    gateway.client.messages.create(to="whatsapp:+14155552672", messaging_service_sid=SERVICE_SID,
                                   content_sid=content_sid, content_variables='{"1": "Bo"}')
    assert seen == [messages] * 2  # the client used directly: requests' own reading, the same proxy
    assert [r.form["To"][0] for r in twilio_server.requests[-2:]] == ["whatsapp:+14155552671", "whatsapp:+14155552672"]


def test_no_proxy_is_honoured_and_its_removal_seen(monkeypatch: pytest.MonkeyPatch, twilio_server: TwilioTestServer,
                                                   proxy: tuple[str, list[str]]) -> None:
    url, seen = proxy
    monkeypatch.setenv("HTTP_PROXY", url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    gateway = TwilioGateway(twilio_server.twilio_client(), messaging_service_sid=SERVICE_SID, rate=None)
    content_sid = gateway.create_content(TEXT)
    gateway.send_message(SendRequest("+14155552671", content_sid, {"1": "Ana"}))
    assert seen == []  # bypassed
    monkeypatch.delenv("NO_PROXY")
    gateway.send_message(SendRequest("+14155552672", content_sid, {"1": "Bo"}))
    assert seen == [f"{twilio_server.url}/2010-04-01/Accounts/{twilio_server.account_sid}/Messages.json"]
    assert [r.form["To"][0] for r in twilio_server.requests[-2:]] == ["whatsapp:+14155552671", "whatsapp:+14155552672"]
