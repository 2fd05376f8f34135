"""Approval, preflight and background sends over HTTP, with the sandbox gateway (simulated clock)."""

from __future__ import annotations

import itertools
import time

import pytest

from campaign_sdk import CampaignClient, DeliveryPolicy
from campaign_sdk.gateways import SandboxGateway
from campaign_sdk.server import create_app

from .conftest import LiveServer, settings_for, unique


@pytest.fixture(scope="module")
def sandbox() -> SandboxGateway:
    return SandboxGateway(seed=3, realtime=False)


@pytest.fixture(scope="module")
def server(live_url, tmp_path_factory, sandbox):
    client = CampaignClient(live_url, gateway=sandbox)
    client.delivery_policy = DeliveryPolicy(window=None)  # any hour (the default: marketing 09-21 local)
    with LiveServer(create_app(settings_for(live_url, tmp_path_factory.mktemp("media")), client=client)) as live:
        yield live
    client.delivery_policy = None  # the store's: the next module on this shared store starts from the default
    client.close()


# Every campaign of this process gets numbers no earlier one had: the store is shared by the server
# tests, and the sandbox's simulated people reply STOP now and then (opt_out_rate), which leaves a
# number opted out, so a later campaign reusing it would load nobody.
NUMBERS = itertools.count()


def approved_campaign(api, sandbox, leads: int) -> int:
    made = api.post("/campaigns", json={"name": unique(), "template": "order_confirmation"}).json()
    items = [{"phone_number": f"+1415556{next(NUMBERS):04d}", "custom_variables": {"lead_name": "A", "order_id": str(n)}}
             for n in range(leads)]
    assert api.post(f"/campaigns/{made['id']}/add-leads", json=items).json()["inserted"] == leads
    submitted = api.post(f"/campaigns/{made['id']}/submit-for-approval", json={"category": "UTILITY"})
    assert submitted.status_code == 200 and submitted.json()["status"] == "pending", submitted.text
    early = api.post(f"/campaigns/{made['id']}/sync-approval").json()
    assert early["approval_state"] in ("received", "pending") and early["campaign"]["status"] == "pending"
    sandbox.advance(hours=48)
    synced = api.post(f"/campaigns/{made['id']}/sync-approval").json()
    assert synced["approval_state"] == "approved" and synced["campaign"]["status"] == "approved"
    return made["id"]


def wait_for(api, handle: dict, *, until: str | tuple[str, ...], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        polled = api.get(handle["poll"]).json()
        if polled["state"] in ((until,) if isinstance(until, str) else until):
            return polled
        assert time.monotonic() < deadline, polled
        time.sleep(0.1)


def test_preflight_says_what_blocks_and_what_would_be_sent(api, sandbox) -> None:
    campaign_id = approved_campaign(api, sandbox, 4)
    blocked = api.get(f"/campaigns/{campaign_id}/preflight").json()
    assert not blocked["ready"] and any("enable" in p for p in blocked["problems"])
    refused = api.post(f"/campaigns/{campaign_id}/send", json={})
    assert refused.status_code == 409 and "cannot send" in refused.json()["detail"]
    api.post(f"/campaigns/{campaign_id}/enable")
    ready = api.get(f"/campaigns/{campaign_id}/preflight", params={"rate": 2}).json()
    assert ready["ready"] and ready["to_send"] == 4 and ready["simulated"]
    assert ready["estimated_seconds"] == pytest.approx(2, abs=1) and len(ready["preview"]) == 3


def test_send_runs_in_the_background_refuses_a_second_and_resumes(api, server, sandbox) -> None:
    campaign_id = approved_campaign(api, sandbox, 60)
    api.post(f"/campaigns/{campaign_id}/enable")
    started = api.post(f"/campaigns/{campaign_id}/send", json={"rate": 30, "max_in_flight": 4})
    assert started.status_code == 202, started.text
    handle = started.json()
    assert handle["state"] == "running" and handle["to_send_at_start"] == 60
    second = api.post(f"/campaigns/{campaign_id}/send", json={"rate": 30})
    assert second.status_code == 409 and handle["send_id"] in second.json()["detail"]
    deadline = time.monotonic() + 60
    while sum((polled := api.get(handle["poll"]).json())["messages"].values()) < 10:  # progress is visible
        assert time.monotonic() < deadline and polled["state"] == "running", polled  # never waits forever
        time.sleep(0.05)
    api.post(f"/campaigns/{campaign_id}/disable")
    stopped = wait_for(api, handle, until=("stopped", "failed"))
    assert stopped["report"]["remaining"] > 0 and stopped["finished_at"]
    first_part = stopped["report"]["sent"] + sum(int(n) for n in stopped["report"]["failed"].values())

    api.post(f"/campaigns/{campaign_id}/enable")
    resumed = api.post(f"/campaigns/{campaign_id}/send", json={}).json()
    done = wait_for(api, resumed, until="completed")
    second_part = done["report"]["sent"] + sum(int(n) for n in done["report"]["failed"].values())
    assert first_part + second_part + done["report"]["reconciled"] == 60  # nobody twice, nobody missed
    assert sum(done["messages"].values()) == 60
    again = wait_for(api, api.post(f"/campaigns/{campaign_id}/send", json={}).json(), until="completed")
    assert again["report"]["sent"] == 0 and sum(again["messages"].values()) == 60


def test_unknown_sends_are_404(api, sandbox) -> None:
    campaign_id = approved_campaign(api, sandbox, 1)
    assert api.get(f"/campaigns/{campaign_id}/sends/{'0' * 32}").status_code == 404
    assert api.get(f"/campaigns/{campaign_id}/sends/not-an-id").status_code == 422
