"""The per-recipient plan preview widget, without a browser: picking another lead changes what it shows."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from campaign_sdk import CampaignClient, TwilioTextContext
from campaign_sdk.widgets import PlanPreview
from tests.widgets._find import find

NOW = dt.datetime(2026, 7, 1, 2, 0, tzinfo=dt.UTC)  # 22:00 in New York, 19:00 in Los Angeles
NY, LA, BAD = "+12125550100", "+14155550100", "+14155550101"
SQLITE_ONLY = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


@SQLITE_ONLY
def test_picking_a_lead_shows_its_bubble_local_time_and_why(client: CampaignClient) -> None:
    campaign = client.create_campaign("Summer", content=TwilioTextContext(body="Hi {{lead_name}}, offers in {{city}}!"))
    campaign.add_leads(pd.DataFrame({"phone_number": [NY, LA, BAD], "lead_name": ["Ana", "Bo", "Cy"],
                                     "city": ["Boston", "Austin", "Reno"], "timezone": ["", "", "Mars/Base"]}))
    preview = PlanPreview(campaign, now=NOW)
    ids = dict(zip(preview.plan["phone_number"], preview.plan["lead_id"], strict=True))
    assert {value for _, value in find(preview, "cs-plan-pick").options} == set(ids.values())

    preview.lead_id = ids[NY]
    ny = dict(preview.state)
    assert (ny["action"], ny["reason"], ny["zone"]) == ("defer", "quiet_hours", "America/New_York")
    assert ny["local_send_time"] == pd.Timestamp("2026-07-01 09:00") and "next moment allowed" in ny["why"]
    assert "Hi Ana, offers in Boston!" in find(preview, "cs-plan-bubble").value.replace("<b>", "").replace("</b>", "")
    assert "Wed 01 Jul 09:00 in America/New_York (13:00 UTC)" in find(preview, "cs-plan-details").value

    find(preview, "cs-plan-pick").value = ids[LA]  # as a click in the dropdown does
    assert preview.state["lead_id"] == ids[LA] and preview.state["action"] == "send"
    assert preview.state["why"] is None and "Bo" in find(preview, "cs-plan-bubble").value
    assert find(preview, "cs-plan-bubble").value != ny and "sent now" in preview.html

    find(preview, "cs-plan-phone").value = BAD  # typed, then Enter
    assert (preview.state["action"], preview.state["reason"]) == ("skip", "invalid_timezone")
    assert "skipped: invalid_timezone" in find(preview, "cs-plan-bubble").value
    with pytest.raises(KeyError, match="not in this campaign's plan"):
        preview.lead_id = 10_000
