"""What a WhatsApp message costs in the plan: Meta bills by the template's category, and nothing
for a non-template message or a utility template inside the customer-service window
(facts.delivery.WHATSAPP_FREE_IN_SERVICE_WINDOW); on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from campaign_sdk import CampaignClient, TwilioTextContext
from campaign_sdk.models import ConversationUser, InboundKind, InboundMessage

NOW = dt.datetime(2026, 7, 1, 14, 0, tzinfo=dt.UTC)  # 10:00 in New York, 16:00 in Berlin: inside the window
NY, BERLIN, PARIS = "+12125550100", "+4915112345678", "+33612345678"


def campaign_of(client: CampaignClient, category: str | None, campaign_type: str = "service"):
    campaign = client.create_campaign(f"Orders {category}", campaign_type=campaign_type,
                                      content=TwilioTextContext(body="Your order {{order}} has shipped"))
    campaign.add_leads(pd.DataFrame({"phone_number": [NY, BERLIN, PARIS], "order": ["1", "2", "3"]}))
    if category is not None:
        campaign.submit_for_approval(category=category, samples={"order": "42"})
        campaign.set_approval_status("approved")
    return campaign


def replied(client: CampaignClient, phone: str, ago: dt.timedelta) -> None:
    with client.transaction() as session:
        user = session.query(ConversationUser).filter_by(phone_number=phone).one()
        session.add(InboundMessage(sid=f"SMin{phone[1:]}{int(ago.total_seconds())}", user_id=user.id, body="where is it?",
                                   kind=InboundKind.REPLY, received_at=NOW - ago))


def rows(plan: pd.DataFrame) -> dict[str, pd.Series]:
    return {r["phone_number"]: r for _, r in plan.iterrows()}


def test_a_utility_template_inside_the_service_window_costs_nothing(client: CampaignClient) -> None:
    campaign = campaign_of(client, "UTILITY")
    replied(client, NY, dt.timedelta(hours=2))  # window open
    replied(client, BERLIN, dt.timedelta(hours=30))  # window closed
    plan = rows(campaign.plan(now=NOW))
    assert plan[NY]["action"] == plan[BERLIN]["action"] == "send"
    assert plan[NY]["cost"] == 0.0 and "customer-service window" in plan[NY]["cost_reason"]
    assert plan[BERLIN]["cost"] == pytest.approx(0.05)  # the sandbox's utility price for DE
    assert pd.isna(plan[BERLIN]["cost_reason"])
    assert pd.isna(plan[PARIS]["cost"]) and "no price for FR / whatsapp / utility" in plan[PARIS]["cost_reason"]


def test_the_service_price_of_the_table_is_what_a_free_message_costs(client: CampaignClient) -> None:
    campaign = campaign_of(client, "UTILITY")
    replied(client, NY, dt.timedelta(hours=2))
    replied(client, PARIS, dt.timedelta(hours=1))
    prices = pd.DataFrame({"country": ["US", "US", "FR"], "channel": "whatsapp",
                           "category": ["utility", "service", "utility"],
                           "price": [0.0034, 0.005, 0.03], "currency": "USD"})
    plan = rows(campaign.plan(now=NOW, prices=prices))
    assert plan[NY]["cost"] == pytest.approx(0.005)  # the table's service row (e.g. Twilio's own fee)
    assert plan[PARIS]["cost"] == 0.0  # no service row for FR: Meta bills nothing
    assert pd.isna(plan[BERLIN]["cost"])  # outside the window, and no DE price


def test_marketing_and_authentication_templates_are_charged_inside_the_window(client: CampaignClient) -> None:
    marketing = campaign_of(client, "MARKETING", campaign_type="marketing")
    replied(client, NY, dt.timedelta(hours=2))
    plan = rows(marketing.plan(now=NOW))
    assert plan[NY]["cost"] == pytest.approx(0.025) and pd.isna(plan[NY]["cost_reason"])


def test_a_free_form_message_costs_nothing(client: CampaignClient) -> None:
    campaign = campaign_of(client, None)  # registered, not approved: sent only inside the window
    replied(client, BERLIN, dt.timedelta(hours=1))
    plan = rows(campaign.plan(now=NOW))
    assert plan[BERLIN]["action"] == "send" and plan[BERLIN]["cost"] == 0.0
    assert "non-template" in plan[BERLIN]["cost_reason"]
    assert plan[NY]["reason"] == "outside_service_window" and pd.isna(plan[NY]["cost"])
    summary = campaign.plan(now=NOW).summary()
    assert summary.loc[summary["action"] == "send", "unpriced"].sum() == 0
