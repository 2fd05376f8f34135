"""Prices through twilio-python's Pricing API, over real HTTP to the local Twilio server: the
sender's number type keys the price, and a failing Pricing API leaves a plan with unknown costs
(and why), never a failed plan."""

from __future__ import annotations

import datetime as dt
import warnings

import pandas as pd
import pytest

from campaign_sdk import CampaignClient, TwilioTextContext
from campaign_sdk.gateways import SandboxGateway, TwilioGateway
from campaign_sdk.gateways._pricing import (
    PRICING_ATTEMPTS,
    SANDBOX_SOURCE,
    PricingWarning,
    gateway_prices,
    twilio_sms_prices,
)
from campaign_sdk.testing import TwilioTestServer

NOW = dt.datetime(2026, 7, 1, 2, 0, tzinfo=dt.UTC)
NY, LA, LONDON, PARIS = "+12125550100", "+14155550100", "+442071234567", "+33142685300"
SERVICE = "MG" + "7" * 32
PRICING = "/v1/Messaging/Countries"


def _plan(url: str, gateway: TwilioGateway, phones: list[str], *, name: str = "Texts") -> pd.DataFrame:
    with CampaignClient(url, gateway=gateway) as client:
        campaign = client.create_campaign(name, content=TwilioTextContext(body="Hi {{lead_name}}!"))
        campaign.add_leads(pd.DataFrame({"phone_number": phones, "lead_name": ["Ana"] * len(phones)}))
        return campaign.plan(now=NOW).set_index("phone_number")


def _toll_free_prices(server: TwilioTestServer) -> None:
    """US toll-free SMS dearer than local ones (Twilio lists them per sender type)."""
    server.prices["US"] = {"country": "United States", "price_unit": "USD", "outbound_sms_prices": [
        {"carrier": "Carrier A", "mcc": "310", "mnc": "012",
         "prices": [{"number_type": "local", "base_price": "0.0079", "current_price": "0.0079"},
                    {"number_type": "toll free", "base_price": "0.0092", "current_price": "0.0092"},
                    {"number_type": "shortcode", "base_price": "0.0070", "current_price": "0.0070"}]}]}


def test_sms_prices_keep_the_highest_carrier_price_and_leave_unpriced_countries_out(
    twilio_server: TwilioTestServer,
) -> None:
    table = twilio_sms_prices(twilio_server.twilio_client(), ["US", "GB", "FR"])
    assert table.set_index("country")["price"].to_dict() == {"GB": 0.0463, "US": 0.0083}
    assert set(table["currency"]) == {"USD"} and set(table["category"]) == {"*"}
    assert [r.path for r in twilio_server.requests] == [
        "/v1/Messaging/Countries/FR", "/v1/Messaging/Countries/GB", "/v1/Messaging/Countries/US"]
    toll_free = twilio_sms_prices(twilio_server.twilio_client(), ["US"], number_type="tollfree")
    assert toll_free["price"].tolist() == [0.0083]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("sender", "price"), [("+18005550100", 0.0092), ("+12025550199", 0.0079), ("55555", 0.0070)])
def test_the_price_is_the_senders_number_type(store_url: str, twilio_server: TwilioTestServer,
                                              sender: str, price: float) -> None:
    _toll_free_prices(twilio_server)  # 800: toll free; 202: a US long code, Twilio's "local"; a short code
    gateway = TwilioGateway(twilio_server.twilio_client(), from_=sender, channel="sms", rate=None)
    plan = _plan(store_url, gateway, [NY, LA])
    assert plan["cost"].tolist() == [pytest.approx(price)] * 2 and plan["cost_reason"].isna().all()


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_messaging_service_sender_type_is_assumed_and_said_or_given(store_url: str,
                                                                      twilio_server: TwilioTestServer) -> None:
    _toll_free_prices(twilio_server)
    assumed = _plan(store_url, TwilioGateway(twilio_server.twilio_client(), messaging_service_sid=SERVICE,
                                             channel="sms", rate=None), [NY])
    assert assumed.loc[NY, "cost"] == pytest.approx(0.0079)
    assert "assumed local" in assumed.loc[NY, "cost_reason"] and "sender_number_type" in assumed.loc[NY, "cost_reason"]
    assert "(assumed)" in assumed.attrs["price_source"]
    given = _plan(store_url, TwilioGateway(twilio_server.twilio_client(), messaging_service_sid=SERVICE,
                                           channel="sms", rate=None, sender_number_type="toll-free"), [LA], name="Given")
    assert given.loc[LA, "cost"] == pytest.approx(0.0092) and pd.isna(given.loc[LA, "cost_reason"])
    with pytest.raises(ValueError, match="sender_number_type='tollfre'.*local, mobile, national, toll free"):
        TwilioGateway(twilio_server.twilio_client(), messaging_service_sid=SERVICE, sender_number_type="tollfre")


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_bad_credentials_leave_the_plan_with_unknown_costs_a_reason_and_one_warning(
    store_url: str, twilio_server: TwilioTestServer
) -> None:
    from twilio.rest import Client

    wrong = Client(twilio_server.account_sid, "wrong-token", http_client=twilio_server.http_client())
    gateway = TwilioGateway(wrong, from_="+12025550199", channel="sms", rate=None)
    with pytest.warns(PricingWarning) as caught:
        plan = _plan(store_url, gateway, [NY, LA, LONDON, PARIS])
    assert len(caught) == 1, [str(w.message) for w in caught]
    assert "HTTP 401" in str(caught[0].message) and "FR, GB, US" in str(caught[0].message)
    assert plan["cost"].isna().all() and (plan["action"] != "skip").all()  # the plan itself is whole
    assert "pricing API" in plan.loc[PARIS, "cost_reason"] and "HTTP 401" in plan.loc[PARIS, "cost_reason"]
    assert "of FR" in plan.loc[PARIS, "cost_reason"]
    assert "not asked for US after the failure for FR" in plan.loc[NY, "cost_reason"]
    assert [r.path for r in twilio_server.requests if r.path.startswith(PRICING)] == [f"{PRICING}/FR"]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_server_error_is_asked_again_a_few_times_then_the_plan_goes_on_without_prices(
    store_url: str, twilio_server: TwilioTestServer
) -> None:
    twilio_server.fail("server_error", path=PRICING, method="GET", status=500, times=None)
    gateway = TwilioGateway(twilio_server.twilio_client(), from_="+12025550199", channel="sms", rate=None)
    with pytest.warns(PricingWarning, match="HTTP 500") as caught:
        plan = _plan(store_url, gateway, [NY, LONDON])
    assert len(caught) == 1
    assert plan["cost"].isna().all() and "HTTP 500" in plan.loc[LONDON, "cost_reason"]
    assert "not asked for US" in plan.loc[NY, "cost_reason"]
    asked = [r.path for r in twilio_server.requests if r.path.startswith(PRICING)]
    assert asked == [f"{PRICING}/GB"] * PRICING_ATTEMPTS  # bounded: the same country, then no more


def test_a_rate_limit_then_an_answer_prices_the_country(twilio_server: TwilioTestServer) -> None:
    twilio_server.fail("throttle", path=PRICING, method="GET", times=1, retry_after=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no PricingWarning: the second answer priced it
        table = twilio_sms_prices(twilio_server.twilio_client(), ["GB"])
    assert table["price"].tolist() == [0.0463] and table["note"].isna().all()
    assert [r.status for r in twilio_server.requests] == [429, 200]


def test_no_answer_at_all_is_a_reason_not_an_exception(twilio_server: TwilioTestServer) -> None:
    twilio_server.fail("drop", path=PRICING, method="GET", times=None)
    with pytest.warns(PricingWarning, match="no answer from Twilio"):
        table = twilio_sms_prices(twilio_server.twilio_client(), ["GB", "US"])
    assert table["price"].isna().all() and "no answer" in table.set_index("country").loc["GB", "note"]


def test_the_sandbox_carries_a_labelled_fixed_table() -> None:
    table, source = gateway_prices(SandboxGateway(seed=0), ["US"], "whatsapp")
    assert source == SANDBOX_SOURCE and "not Twilio's" in source
    assert {"sms", "whatsapp"} <= set(table["channel"])
