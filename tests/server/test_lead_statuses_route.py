"""The leads route tells a skipped lead from a pending one: ``status=skipped`` with the stored
reason and time (RFC 3339), and the status filter takes every LeadStatus (sandbox gateway)."""

from __future__ import annotations

import datetime as dt

import pytest

from campaign_sdk import CampaignClient, DeliveryPolicy, LeadStatus
from campaign_sdk.gateways import SandboxGateway
from campaign_sdk.server import create_app

from .conftest import LiveServer, settings_for
from .test_lifecycle import approved_campaign


@pytest.fixture(scope="module")
def sandbox() -> SandboxGateway:
    return SandboxGateway(seed=5, realtime=False)


@pytest.fixture(scope="module")
def server(live_url, tmp_path_factory, sandbox):
    client = CampaignClient(live_url, gateway=sandbox)
    client.delivery_policy = DeliveryPolicy(window=None)
    with LiveServer(create_app(settings_for(live_url, tmp_path_factory.mktemp("media")), client=client)) as live:
        yield live
    client.delivery_policy = None  # the store's: the next module on this shared store starts from the default
    client.close()


def test_leads_a_send_skipped_are_listed_as_skipped_with_their_reason(api, server, sandbox) -> None:
    campaign_id = approved_campaign(api, sandbox, 3)
    api.post(f"/campaigns/{campaign_id}/enable")
    campaign = server.client.campaign(campaign_id)
    campaign.set_delivery(None, expires_at=sandbox.now() - dt.timedelta(minutes=1))
    assert campaign.send(progress=False).skipped == {"expired": 3}

    skipped = api.get(f"/campaigns/{campaign_id}/leads", params={"status": "skipped"}).json()

    assert skipped["total"] == 3 and api.get(f"/campaigns/{campaign_id}/leads",
                                             params={"status": "pending"}).json()["total"] == 0
    assert {lead["reason"] for lead in skipped["items"]} == {"expired"}
    assert all(dt.datetime.fromisoformat(lead["skipped_at"]).utcoffset() == dt.timedelta(0)
               and lead["due_at"] is None for lead in skipped["items"])
    schema = api.get("/openapi.json").json()
    (status,) = [p for p in schema["paths"]["/campaigns/{campaign_id}/leads"]["get"]["parameters"]
                 if p["name"] == "status"]
    assert {"$ref": "#/components/schemas/LeadStatus"} in status["schema"]["anyOf"]
    assert schema["components"]["schemas"]["LeadStatus"]["enum"] == [s.value for s in LeadStatus]
