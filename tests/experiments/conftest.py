"""Experiment fixtures: campaigns with variants on a SQLite file and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

import campaign_sdk as cs
from campaign_sdk import DeliveryPolicy, CampaignClient

A = cs.TwilioTextContext(body="Hi {{lead_name}}, your order {{order_id}} ships today. Enjoy 10% off your next one.")
B = cs.TwilioTextContext(body="Hi {{lead_name}}, your order {{order_id}} ships today. Delivery on us next time.")
C = cs.TwilioQuickReplyContext(
    body="Hi {{lead_name}}, your order {{order_id}} ships today. Want a reminder?",
    actions=[cs.QuickReplyAction(title="Yes please", id="yes"), cs.QuickReplyAction(title="No thanks", id="no")],
)

# The author's approval samples (never a lead's data: issue 11).
SAMPLES = {"lead_name": "Ana", "order_id": "A-1042", "1": "Ana"}


def numbers(count: int, *, start: int = 0) -> list[str]:
    return [f"+1415555{i:04d}" for i in range(start, start + count)]


def leads_frame(count: int, *, start: int = 0) -> pd.DataFrame:
    phones = numbers(count, start=start)
    return pd.DataFrame({"phone_number": phones, "lead_name": [f"Lead{i}" for i in range(count)],
                         "order_id": [f"A-{p[-4:]}" for p in phones]})


@pytest.fixture
def sandbox() -> cs.SandboxGateway:
    return cs.SandboxGateway(seed=1, realtime=False)


@pytest.fixture
def sandbox_client(migrated_url: str, sandbox: cs.SandboxGateway) -> Iterator[CampaignClient]:
    with CampaignClient(migrated_url, gateway=sandbox) as client:
        client.delivery_policy = DeliveryPolicy(window=None)  # any hour (the default: 09-21 local)
        yield client


def approve_in_sandbox(campaign: cs.Campaign, sandbox: cs.SandboxGateway) -> cs.Campaign:
    campaign.submit_for_approval(category="MARKETING", samples=SAMPLES)
    while campaign.sync_approval() not in ("approved", "rejected"):
        sandbox.advance(hours=6)
    assert campaign.status == "approved", campaign._row().rejection_reason
    return campaign.enable()
