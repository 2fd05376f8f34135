"""Twilio's Smart Encoding: which characters it replaces, segments counted with it, and the plan's
warning when SMS messages are UCS-2 only because of such characters."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from campaign_sdk import CampaignClient, TwilioTextContext
from campaign_sdk.delivery import sms_segments
from campaign_sdk.delivery._segments import gsm_tables, smart_encoded
from campaign_sdk.facts.delivery import SMART_ENCODING
from campaign_sdk.gateways import TwilioGateway
from campaign_sdk.testing import TwilioTestServer

NOW = dt.datetime(2026, 7, 1, 14, 0, tzinfo=dt.UTC)  # 10:00 in New York: inside the default window


def test_every_replaced_character_is_outside_gsm7_and_every_replacement_inside() -> None:
    basic, extension = gsm_tables()
    gsm = set(basic) | set(extension)
    assert len(SMART_ENCODING) > 200
    assert [c for c in SMART_ENCODING if c in gsm] == []  # Twilio would have nothing to replace
    assert [t for t in SMART_ENCODING.values() if not set(t) <= gsm] == []


def test_smart_encoded_text_and_its_segments() -> None:
    assert smart_encoded("\u201cIt\u2019s on\u201d \u2014 see you\u2026") == "\"It's on\" - see you..."
    assert smart_encoded("\uff21\uff22\uff23 \uff11\uff12 \u00bd") == "ABC 12 1/2"
    assert smart_encoded("zero\u200bwidth") == "zerowidth"
    text = "It\u2019s " + "x" * 150  # 155 characters: UCS-2 in 3 segments, GSM-7 in 1
    assert sms_segments(text) == ("UCS-2", 155, 3)
    assert sms_segments(text, smart_encoding=True) == ("GSM-7", 155, 1)
    assert sms_segments("\u2026" * 60, smart_encoding=True) == ("GSM-7", 180, 2)  # one becomes three
    assert sms_segments("\u2019 \U0001F600", smart_encoding=True).encoding == "UCS-2"  # the emoji stays


def sms_campaign(client: CampaignClient, body: str, phones: list[str]):
    campaign = client.create_campaign(body[:40], content=TwilioTextContext(body=body))
    campaign.add_leads(pd.DataFrame({"phone_number": phones, "lead_name": ["Ana"] * len(phones)}))
    return campaign


def test_the_plan_warns_when_smart_encoding_would_save_segments(
    store_url: str, twilio_server: TwilioTestServer
) -> None:
    gateway = TwilioGateway(twilio_server.twilio_client(), messaging_service_sid="MG" + "7" * 32,
                            channel="sms", rate=None)
    phones = ["+12125550100", "+12125550101"]
    prices = [{"country": "US", "channel": "sms", "price": 0.01, "currency": "USD"}]
    with CampaignClient(store_url, gateway=gateway) as client:
        curly = sms_campaign(client, "Hi {{lead_name}}, it\u2019s " + "x" * 140, phones).plan(now=NOW, prices=prices)
        plain = sms_campaign(client, "Hi {{lead_name}}, it's " + "x" * 140, phones).plan(now=NOW, prices=prices)
        emoji = sms_campaign(client, "Hi {{lead_name}}, it\u2019s \U0001F600", phones).plan(now=NOW, prices=prices)
        short = sms_campaign(client, "Hi {{lead_name}}, it\u2019s on", phones).plan(now=NOW, prices=prices)
    assert (curly["action"] == "send").all() and (curly["sms_segments"] == 3).all()  # counted as sent: UCS-2
    [warning] = curly.attrs["warnings"]
    assert warning.startswith("2 SMS message(s) are UCS-2 (70 characters a segment) only because of characters "
                              "that Twilio's Smart Encoding replaces")
    assert "\u2019 (U+2019)" in warning and "take 6 segment(s) as planned" in warning
    assert "SmartEncoded=true) 2." in warning
    assert plain.attrs["warnings"] == [] and (plain["sms_segments"] == 1).all()
    assert emoji.attrs["warnings"] == []  # the emoji keeps it UCS-2 with or without Smart Encoding
    # GSM-7 with Smart Encoding, but one segment either way: nothing to save, no warning
    assert (short["sms_encoding"] == "UCS-2").all() and (short["sms_segments"] == 1).all()
    assert short.attrs["warnings"] == []
