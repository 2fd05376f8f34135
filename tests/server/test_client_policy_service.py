"""The HTTP service plans with the store's client delivery policy: one a notebook sets on the
store (another client, after the service started) is what ``preflight`` and ``send`` follow, at
the next request; deleting it brings the default back (sandbox gateway, simulated clock)."""

from __future__ import annotations

import datetime as dt

import pytest

from campaign_sdk import CampaignClient, DeliveryPolicy, SendWindow
from campaign_sdk.gateways import SandboxGateway
from campaign_sdk.server import create_app

from .conftest import LiveServer, settings_for
from .test_lifecycle import approved_campaign, wait_for

EVENING = dt.datetime(2026, 7, 1, 2, tzinfo=dt.UTC)  # 19:00 in San Francisco (+1 415): the default's window
USERS = DeliveryPolicy(window=SendWindow(start="10:00", end="18:00"))


@pytest.fixture(scope="module")
def sandbox() -> SandboxGateway:
    return SandboxGateway(seed=7, start=EVENING, realtime=False)


@pytest.fixture(scope="module")
def server(live_url, tmp_path_factory, sandbox):
    client = CampaignClient(live_url, gateway=sandbox)
    client.delivery_policy = None  # the store is shared by the server tests: start from the default
    with LiveServer(create_app(settings_for(live_url, tmp_path_factory.mktemp("media")), client=client)) as live:
        yield live
    client.delivery_policy = None
    client.close()


def test_the_service_follows_the_policy_another_client_set_on_the_store(api, server, sandbox, live_url) -> None:
    campaign_id = approved_campaign(api, sandbox, 2)
    api.post(f"/campaigns/{campaign_id}/enable")
    preflight = f"/campaigns/{campaign_id}/preflight"
    assert api.get(preflight).json()["to_send"] == 2  # the default lets 19:00 local go
    with CampaignClient(live_url) as notebook:
        notebook.delivery_policy = USERS
        try:
            held = api.get(preflight).json()
            assert held["to_send"] == 0 and held["deferred"] == {"quiet_hours": 2}
            started = api.post(f"/campaigns/{campaign_id}/send", json={})
            assert started.status_code == 202, started.text
            done = wait_for(api, started.json(), until="completed")
            assert done["report"]["to_send"] == 0 and done["report"]["sent"] == 0
            deferred = api.get(f"/campaigns/{campaign_id}/leads", params={"status": "deferred"}).json()
            assert deferred["total"] == 2 and {lead["reason"] for lead in deferred["items"]} == {"quiet_hours"}
        finally:
            notebook.delivery_policy = None
    assert server.client.delivery_policy is None
