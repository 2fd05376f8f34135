"""``campaign-sdk worker`` as a user starts it: the channel and sender each deferred message was
planned for, the channel's default rate, and the TWILIO_* configuration (all unset: the sandbox;
set in part or without a sender: an error naming what to set, never a secret).

The workers are real ``python -m campaign_sdk.cli worker --once`` processes talking to the local
Twilio server over HTTP (``--twilio-url``) with the real twilio-python client.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from campaign_sdk import CampaignClient, DeliveryPolicy, cli
from campaign_sdk.models import DeferredSend
from campaign_sdk.testing import TwilioTestServer

from tests.conftest import SERVICE_SID

from .conftest import FAST_RETRY, FROM_NUMBER, approve, gateway_for, leads_frame, numbers

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "sEcr3t-token-value"


def _worker(url: str, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
    return subprocess.run(
        [sys.executable, "-m", "campaign_sdk.cli", "--db", url, "worker", "--once", *extra],
        capture_output=True, text=True, env=clean | env, cwd=ROOT, timeout=120,
    )


def _twilio_env(server: TwilioTestServer, **more: str) -> dict[str, str]:
    return {"TWILIO_ACCOUNT_SID": server.account_sid, "TWILIO_AUTH_TOKEN": server.auth_token, **more}


def _deferred_campaign(client: CampaignClient, server: TwilioTestServer, count: int, name: str) -> None:
    """A campaign whose ``count`` leads the send deferred (a schedule a second ahead: the worker's)."""
    campaign = client.create_campaign(name, template="order_confirmation")
    campaign.add_leads(leads_frame(count))
    approve(campaign, server)
    campaign.set_delivery(DeliveryPolicy(window=None))
    at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    report = campaign.schedule(at=at, progress=False, retry=FAST_RETRY)
    assert report.sent == 0 and report.deferred == {"scheduled": count}
    server.wait_for(lambda _: dt.datetime.now(dt.UTC) > at, timeout=5)  # due now


def _deferred_rows(client: CampaignClient) -> int:
    with client.engine.connect() as connection:
        return int(connection.scalar(sa.select(sa.func.count()).select_from(DeferredSend)) or 0)


@pytest.mark.slow
@pytest.mark.parametrize("sender", ["from", "service"])
def test_an_sms_campaigns_deferred_messages_go_out_as_sms_from_its_sender(migrated_url: str, sender: str) -> None:
    with TwilioTestServer() as server:
        if sender == "from":
            gateway = gateway_for(server, sender="from", channel="sms")
            env, options = _twilio_env(server, TWILIO_FROM=FROM_NUMBER), ["--channel", "sms"]
        else:
            gateway = gateway_for(server, channel="sms")
            env = _twilio_env(server, TWILIO_MESSAGING_SERVICE_SID=SERVICE_SID)
            options = ["--channel", "sms", "--rate", "50"]
        with CampaignClient(migrated_url, gateway=gateway) as client:
            _deferred_campaign(client, server, 2, "SMS later")
            done = _worker(migrated_url, env, "--twilio-url", server.url, *options)
            assert done.returncode == 0, done.stdout + done.stderr
            assert "sent=2" in done.stdout
            # the documented default of an SMS sender (a long code's 1/s), unless --rate says otherwise
            assert ("channel=sms rate=1/s" if sender == "from" else "channel=sms rate=50/s") in done.stdout
            requests = [r for r in server.requests if r.path.endswith("/Messages.json") and r.method == "POST"]
            assert sorted(r.field("To") for r in requests) == numbers(2)  # no whatsapp: prefix
            if sender == "from":
                assert {r.field("From") for r in requests} == {FROM_NUMBER}
                assert {r.field("MessagingServiceSid") for r in requests} == {None}
            else:
                assert {r.field("MessagingServiceSid") for r in requests} == {SERVICE_SID}
                assert {r.field("From") for r in requests} == {None}
            assert _deferred_rows(client) == 0


@pytest.mark.slow
def test_a_worker_on_another_channel_leaves_the_messages_and_says_what_to_start(migrated_url: str) -> None:
    with TwilioTestServer() as server:
        gateway = gateway_for(server, sender="from", channel="sms")
        with CampaignClient(migrated_url, gateway=gateway) as client:
            _deferred_campaign(client, server, 2, "SMS kept")
            env = _twilio_env(server, TWILIO_MESSAGING_SERVICE_SID=SERVICE_SID)
            done = _worker(migrated_url, env, "--twilio-url", server.url)  # the default channel: WhatsApp
            assert done.returncode == 0, done.stdout + done.stderr
            assert "channel=whatsapp rate=80/s" in done.stdout and "claimed=0 sent=0" in done.stdout
            assert "due messages planned for another channel wait (2 for sms)" in done.stdout
            assert "campaign-sdk worker --channel sms" in done.stdout
            # not this worker's to wait for: no due moment in the past that its loop would poll for
            assert "waiting=0" in done.stdout and "next_due=" not in done.stdout
            assert server.sent() == [] and _deferred_rows(client) == 2  # nothing went out as WhatsApp
            again = _worker(migrated_url, _twilio_env(server, TWILIO_FROM=FROM_NUMBER), "--twilio-url", server.url,
                            "--channel", "sms")
            assert again.returncode == 0 and "sent=2" in again.stdout, again.stdout + again.stderr
            assert sorted(m["to"] for m in server.sent()) == numbers(2)


@pytest.mark.parametrize(("env", "missing"), [
    ({"TWILIO_ACCOUNT_SID": "AC" + "1" * 32}, "TWILIO_AUTH_TOKEN and TWILIO_MESSAGING_SERVICE_SID"),
    ({"TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_MESSAGING_SERVICE_SID": SERVICE_SID}, "TWILIO_ACCOUNT_SID is not set"),
    ({"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": TOKEN}, "TWILIO_MESSAGING_SERVICE_SID (MG..."),
    ({"TWILIO_FROM": FROM_NUMBER, "TWILIO_AUTH_TOKEN": TOKEN}, "TWILIO_ACCOUNT_SID is not set"),
])
def test_a_partial_twilio_configuration_is_an_error_naming_what_to_set(
        sqlite_url: str, monkeypatch, capsys, env: dict[str, str], missing: str) -> None:
    done = _in_process(sqlite_url, monkeypatch, env, "--channel", "sms")
    out, err = capsys.readouterr()
    assert done == 1, out + err
    assert err.startswith("error: the worker sends through Twilio") and missing in err
    assert "to run on the sandbox" in err
    assert "SIMULATED" not in out  # never a silent fall back to the sandbox
    assert TOKEN not in out + err


def test_nothing_set_runs_on_the_sandbox_and_says_so(sqlite_url: str, monkeypatch, capsys) -> None:
    assert _in_process(sqlite_url, monkeypatch, {}) == 0
    out = capsys.readouterr().out
    assert "gateway <SandboxGateway" in out and "SIMULATED" in out
    assert _in_process(sqlite_url, monkeypatch, {}, "--channel", "sms") == 1
    assert "--channel sms needs Twilio" in capsys.readouterr().err


def test_a_rate_of_zero_is_refused(sqlite_url: str, monkeypatch, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        _in_process(sqlite_url, monkeypatch, {}, "--rate", "0")
    assert exited.value.code == 2 and "a number of messages per second above 0" in capsys.readouterr().err


def _in_process(url: str, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], *extra: str) -> int:
    for name in [k for k in os.environ if k.startswith("TWILIO_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return cli.main(["--db", url, "worker", "--once", *extra])


def test_the_loop_prints_notes_that_only_repeat_once(capsys) -> None:
    from campaign_sdk.sending import DueReport

    show = cli._printer()
    waiting = ["due messages planned for another channel wait (2 for sms): ..."]
    for _ in range(3):
        show(DueReport(notes=list(waiting)))
    show(DueReport(claimed=1, sent=1, notes=list(waiting)))
    show(DueReport())
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and "sent=1" in lines[1] and "notes=" not in lines[2]
