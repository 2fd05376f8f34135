from __future__ import annotations

import campaign_sdk as cs


def test_client_opens_and_creates_campaign(client: cs.CampaignClient) -> None:
    campaign = client.create_campaign("Orders", template="order_confirmation")
    assert client.campaign("Orders").id == campaign.id
    assert campaign.variables == ["lead_name", "order_id"]
