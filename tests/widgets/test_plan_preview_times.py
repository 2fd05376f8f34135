"""The plan preview over a real plan: each bubble carries its lead's own local arrival time, and no
missing value of the plan (NaN, None, NaT) is ever shown as text."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

from campaign_sdk import CampaignClient, TwilioTextContext
from campaign_sdk.gateways import TwilioGateway
from campaign_sdk.testing import TwilioTestServer
from campaign_sdk.widgets import PlanPreview
from tests.widgets._find import find

NOW = dt.datetime(2026, 7, 1, 2, 0, tzinfo=dt.UTC)  # 22:00 in New York, 11:00 in Tokyo
NY, TOKYO, PARIS, BAD = "+12125550100", "+81312345678", "+33142685300", "+14155550101"
SQLITE_ONLY = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
MISSING = re.compile(r"\b(nan|NaN|None|NaT|<NA>)\b")
CLOCK = re.compile(r'class="cs-bubble-time"[^>]*>([^<]*)<')


def _leads() -> pd.DataFrame:
    return pd.DataFrame({"phone_number": [NY, TOKYO, PARIS, BAD], "lead_name": ["Ana", "Bo", "Cy", "Di"],
                         "timezone": ["", "", "", "Mars/Base"]})


def _shown(preview: PlanPreview, phone: str) -> tuple[str, str]:
    """The bubble's and the details' HTML for the lead with ``phone``."""
    preview.lead_id = int(preview.plan.loc[preview.plan["phone_number"] == phone, "lead_id"].iloc[0])
    return find(preview, "cs-plan-bubble").value, find(preview, "cs-plan-details").value


@SQLITE_ONLY
def test_each_bubble_shows_its_recipients_local_time_and_nothing_missing_as_text(client: CampaignClient) -> None:
    campaign = client.create_campaign("Clock", content=TwilioTextContext(body="Hi {{lead_name}}, new offers!"))
    campaign.add_leads(_leads())
    preview = PlanPreview(campaign, now=NOW)

    bubble, details = _shown(preview, NY)  # deferred by the quiet hours to 09:00 in New York
    assert CLOCK.findall(bubble) == ["09:00"] and "Wed 01 Jul 09:00 in America/New_York (13:00 UTC)" in details
    bubble, details = _shown(preview, TOKYO)  # sent now: 11:00 on a Tokyo clock
    assert CLOCK.findall(bubble) == ["11:00"] and "Wed 01 Jul 11:00 in Asia/Tokyo (02:00 UTC)" in details
    bubble, details = _shown(preview, PARIS)  # 04:00 in Paris: deferred to 09:00 there (07:00 UTC)
    assert CLOCK.findall(bubble) == ["09:00"] and "(07:00 UTC)" in details
    assert "WhatsApp preview" in bubble and "no price for FR" in details  # the sandbox prices no FR
    for phone in (NY, TOKYO, PARIS):
        _shown(preview, phone)
        assert "no experiment" in preview.html and preview.state["variant"] is None
        assert MISSING.search(preview.html) is None, (phone, MISSING.findall(preview.html))

    bubble, details = _shown(preview, BAD)  # skipped: an unknown zone, no time, no cost, no zones
    assert CLOCK.findall(bubble) == [] and "skipped: invalid_timezone" in bubble
    assert "not sent" in details and "none: not sent" in details and "Mars/Base" in details
    assert MISSING.search(preview.html) is None, MISSING.findall(preview.html)
    assert preview.state["zone"] is None and preview.state["local_send_time"] is None


@SQLITE_ONLY
def test_experiment_arms_and_holdouts_show_their_variant_and_no_clock_when_never_sent(client: CampaignClient) -> None:
    campaign = client.create_campaign("Arms", content=TwilioTextContext(body="Hi {{lead_name}}, new offers!"))
    phones = [f"+8131234{n:04d}" for n in range(40)]
    campaign.add_leads(pd.DataFrame({"phone_number": phones, "lead_name": [f"L{n}" for n in range(40)]}))
    campaign.set_experiment({"A": TwilioTextContext(body="Hi {{lead_name}}, 10% off today"),
                             "B": TwilioTextContext(body="Hi {{lead_name}}, free delivery today")},
                            holdout=0.3, seed="preview")
    preview = PlanPreview(campaign, now=NOW)
    arm = preview.plan[preview.plan["action"] == "send"].iloc[0]
    bubble, details = _shown(preview, arm["phone_number"])
    assert preview.state["variant"] == arm["variant"] and f"<td>{arm['variant']}</td>" in details
    assert CLOCK.findall(bubble) == ["11:00"] and MISSING.search(preview.html) is None
    held = preview.plan[preview.plan["action"] == "holdout"].iloc[0]
    bubble, details = _shown(preview, held["phone_number"])
    assert CLOCK.findall(bubble) == [] and "held out" in details and "none: not sent" in details
    assert MISSING.search(preview.html) is None, MISSING.findall(preview.html)


def test_an_sms_plan_over_twilio_shows_segments_prices_and_local_times(
    sqlite_url: str, twilio_server: TwilioTestServer
) -> None:
    gateway = TwilioGateway(twilio_server.twilio_client(), from_="+12025550199", channel="sms", rate=None)
    with CampaignClient(sqlite_url, gateway=gateway) as client:
        campaign = client.create_campaign("Texts", content=TwilioTextContext(body="Hi {{lead_name}}, new offers!"))
        campaign.add_leads(_leads())
        preview = PlanPreview(campaign, now=NOW)
        bubble, details = _shown(preview, NY)
        assert "SMS preview" in bubble and CLOCK.findall(bubble) == ["09:00"]
        assert "1 segment(s), GSM-7" in details and "0.0083 USD" in details
        bubble, details = _shown(preview, TOKYO)  # Twilio prices no JP here: unknown, and why
        assert CLOCK.findall(bubble) == ["11:00"] and "unknown (" in details and "JP" in details
        assert MISSING.search(preview.html) is None, MISSING.findall(preview.html)


def test_a_template_studio_draft_shows_no_made_up_clock() -> None:
    from campaign_sdk.widgets._bubble import bubble_html

    assert CLOCK.findall(bubble_html(TwilioTextContext(body="Hi {{lead_name}}"), {"lead_name": "Ana"})) == []
    assert CLOCK.findall(bubble_html(TwilioTextContext(body="Hi"), time="21:15")) == ["21:15"]
