"""Sync reads the gateway's clock: a sandbox living in simulated time is synced completely."""

from __future__ import annotations

import datetime as dt

import pandas as pd

import campaign_sdk as cs


def test_sync_pulls_statuses_from_a_sandbox_far_from_the_wall_clock(store_url: str) -> None:
    sandbox = cs.SandboxGateway(seed=3, start=dt.datetime(2020, 1, 6, 9, tzinfo=dt.UTC), realtime=False)
    with cs.CampaignClient(store_url, gateway=sandbox) as client:
        client.delivery_policy = cs.DeliveryPolicy(window=None)
        campaign = client.create_campaign("Old times", template="order_confirmation")
        phones = [f"+1415555{n:04d}" for n in range(2671, 2691)]
        campaign.add_leads(pd.DataFrame({"phone_number": phones, "lead_name": "Ana", "order_id": "7"}), progress=False)
        campaign.submit_for_approval(category="UTILITY")
        while campaign.sync_approval() not in ("approved", "rejected"):
            sandbox.advance(hours=6)
        campaign.enable()
        assert campaign.send(progress=False).sent == 20
        sandbox.advance(days=2)
        report = client.sync()
        assert report.statuses.applied == 20
        assert set(campaign.leads["message_status"]) - {"accepted", "queued"} == set(campaign.leads["message_status"])
