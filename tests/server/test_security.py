"""API keys, secrets kept out of answers and logs, health, configuration."""

from __future__ import annotations

import logging
import subprocess
import sys

import httpx
import pytest
import sqlalchemy as sa

from campaign_sdk import CampaignClient
from campaign_sdk.server import ENV, ServerConfigError, ServerSettings, create_app
from campaign_sdk.server._auth import key_matches

from .conftest import API_KEY, AUTH_TOKEN, OTHER_KEY, LiveServer, settings_for, twilio_signature

PUBLIC_PATHS = {"/healthz", "/twilio/status", "/twilio/inbound"}


def protected_operations(http: httpx.Client) -> list[tuple[str, str]]:
    spec = http.get("/openapi.json").json()
    ops = [(method.upper(), path.replace("{campaign_id}", "1"))
           for path, methods in spec["paths"].items() if path not in PUBLIC_PATHS for method in methods]
    assert len(ops) >= 15
    return ops


def test_every_api_route_needs_a_configured_key(anon) -> None:
    headers = [None, "Bearer wrong", f"Bearer {API_KEY}x", f"Bearer {API_KEY[:-1]}", f"Basic {API_KEY}",
               API_KEY, "Bearer", f"bearer {API_KEY.upper()}"]
    for method, path in protected_operations(anon):
        for header in headers:
            response = anon.request(method, path, headers={"Authorization": header} if header else {}, json={})
            assert response.status_code == 401, (method, path, header, response.status_code)
            assert response.headers["www-authenticate"] == "Bearer"
            assert API_KEY not in response.text and OTHER_KEY not in response.text


def test_any_configured_key_works(anon) -> None:
    for key in (API_KEY, OTHER_KEY):
        assert anon.get("/templates", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_key_comparison() -> None:
    assert key_matches("b", ["a", "b"]) and not key_matches("c", ["a", "b"]) and not key_matches("a", [])
    assert not key_matches("ab", ["a"]) and not key_matches("", ["a"]) and key_matches("ключ", ["ключ"])


def test_no_key_or_token_in_answers_or_logs(server, anon, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    anon.get("/campaigns", headers={"Authorization": f"Bearer {API_KEY}"})
    anon.get("/campaigns", headers={"Authorization": "Bearer guess-" + API_KEY[:5]})
    anon.post("/campaigns", headers={"Authorization": f"Bearer {OTHER_KEY}"}, json={"name": ""})
    params = {"MessageSid": "SM1", "MessageStatus": "read"}
    bodies = [
        anon.post("/twilio/status", data=params, headers={"X-Twilio-Signature": "forged"}).text,
        anon.post("/twilio/status", data=params,
                  headers={"X-Twilio-Signature": twilio_signature(server.url + "/twilio/status", params)}).text,
        anon.get("/healthz").text,
        anon.get("/openapi.json").text,
    ]
    logged = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    assert "401" in logged and "403" in logged  # the requests were logged...
    for secret in (API_KEY, OTHER_KEY, AUTH_TOKEN):  # ...without a secret
        assert secret not in logged and all(secret not in body for body in bodies)
    assert AUTH_TOKEN not in repr(server.app.state.settings) and API_KEY not in repr(server.app.state.settings)


def test_healthz_ok_without_a_key(anon) -> None:
    response = anon.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unmigrated_database(store_url, tmp_path) -> None:
    with LiveServer(create_app(settings_for(store_url, tmp_path))) as live:
        assert httpx.get(live.url + "/healthz").status_code == 200
        with live.client.engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE alembic_version"))
        response = httpx.get(live.url + "/healthz")
        assert response.status_code == 503 and response.json()["status"] == "unavailable"


def test_healthz_reports_an_unreachable_database(sqlite_url, tmp_path) -> None:
    client = CampaignClient(sqlite_url)
    with LiveServer(create_app(settings_for(sqlite_url, tmp_path), client=client)) as live:
        client.engine.dispose()
        client.engine = sa.create_engine("postgresql+psycopg://postgres:hunter2@127.0.0.1:1/none")
        response = httpx.get(live.url + "/healthz")
        assert response.status_code == 503
        assert response.json()["database"] == "unreachable (OperationalError)" and "hunter2" not in response.text
    client.close()


def test_migrations_apply_on_start(store_url, tmp_path) -> None:
    with LiveServer(create_app(settings_for(store_url, tmp_path))) as live:
        names = sa.inspect(live.client.engine).get_table_names()
        assert {"campaigns", "outbound_messages", "alembic_version"} <= set(names)


def test_settings_from_env_and_keys_file(tmp_path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("# team keys\nalpha\n\n beta  # ci\nalpha\n")
    settings = ServerSettings.from_env({
        ENV["api_keys"]: "gamma, alpha", ENV["api_keys_file"]: str(keys), ENV["public_url"]: "https://x.example",
        ENV["twilio_auth_token"]: "tok-9f8e7d", ENV["database_url"]: "postgresql://u:s3cretpw@db/x",
    })
    assert settings.api_keys == ("gamma", "alpha", "beta")
    assert settings.media_base_url == "https://x.example/media" and settings.webhooks_ready
    text = repr(settings)
    assert "s3cretpw" not in text and "tok-9f8e7d" not in text and "gamma" not in text and "api_keys=3" in text
    assert ServerSettings.from_env(settings.to_env()) == settings


def test_bad_configuration_is_refused_at_start(tmp_path) -> None:
    with pytest.raises(ServerConfigError, match="CAMPAIGN_SDK_API_KEYS"):
        create_app(ServerSettings())
    with pytest.raises(ServerConfigError, match="absolute http"):
        create_app(ServerSettings(api_keys=("k",), public_url="campaigns.example.com"))
    with pytest.raises(ServerConfigError, match="cannot read the API keys file"):
        ServerSettings.from_env({ENV["api_keys_file"]: str(tmp_path / "missing.txt")})


def test_importing_the_sdk_does_not_import_fastapi() -> None:
    code = "import sys, campaign_sdk; print('fastapi' in sys.modules, 'uvicorn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"


def test_server_public_names_are_pinned_and_documented() -> None:
    import campaign_sdk.server as server_pkg

    assert server_pkg.__all__ == sorted(server_pkg.__all__)
    assert set(server_pkg.__all__) == {"ENV", "ServerConfigError", "ServerSettings", "app_from_env", "create_app", "serve"}
    for name in server_pkg.__all__:
        obj = getattr(server_pkg, name)
        assert not callable(obj) or (obj.__doc__ or "").strip(), name
