"""Message prices from the gateway: Twilio's Pricing API (SMS), or the sandbox's fixed table.

Every table has the columns ``country`` (ISO region), ``channel``, ``category`` (``*``: any),
``price`` (per message, or per segment for SMS) and ``currency``. A country the source does not
price is simply absent: the caller reports it per lead.

Twilio: ``GET https://pricing.twilio.com/v1/Messaging/Countries/{IsoCountry}`` through
twilio-python's ``client.pricing.v1.messaging.countries(iso).fetch()``; ``outbound_sms_prices`` lists
per carrier (MCC/MNC) the ``prices`` by ``number_type`` with ``base_price`` / ``current_price``
strings, in ``price_unit`` (https://www.twilio.com/docs/messaging/api/pricing). The Pricing API
lists SMS prices only; WhatsApp's (Meta's) fees need a table of your own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from campaign_sdk.gateways._base import Gateway
from campaign_sdk.gateways._twilio import TwilioGateway

PRICE_COLUMNS = ["country", "channel", "category", "price", "currency"]
TWILIO_SOURCE = "Twilio Pricing API (highest current price over carriers, per SMS segment)"
SANDBOX_SOURCE = "sandbox: fixed example prices for trying the SDK, not Twilio's or Meta's"
PRICED_CHANNELS = ("sms",)  # the Pricing API lists outbound SMS prices only

# The sandbox's table: round example numbers, clearly not real prices. WhatsApp by Meta's billed
# categories (facts.delivery: a template's category; no ``service`` row, so a message Meta bills as
# service, free, costs nothing here).
_WHATSAPP_EXAMPLE = {"US": (0.0250, 0.0040), "GB": (0.0500, 0.0200), "DE": (0.1000, 0.0500),
                     "BR": (0.0600, 0.0080), "AU": (0.0600, 0.0200)}  # (marketing, utility = authentication)
SANDBOX_PRICES = pd.DataFrame(
    [
        ("US", "sms", "*", 0.0100, "USD"), ("CA", "sms", "*", 0.0100, "USD"),
        ("GB", "sms", "*", 0.0400, "USD"), ("DE", "sms", "*", 0.0800, "USD"),
        ("BR", "sms", "*", 0.0500, "USD"), ("AU", "sms", "*", 0.0500, "USD"),
        *((country, "whatsapp", category, price, "USD")
          for country, (marketing, utility) in _WHATSAPP_EXAMPLE.items()
          for category, price in (("marketing", marketing), ("utility", utility), ("authentication", utility))),
    ],
    columns=PRICE_COLUMNS,
)


def twilio_sms_prices(client: Any, countries: Iterable[str], *, number_type: str = "local") -> pd.DataFrame:
    """SMS prices of ``countries`` from Twilio's Pricing API, one row per country that Twilio
    prices (a 404 leaves the country out). The highest ``current_price`` over the carriers for
    ``number_type`` (the sender's kind of number: local, mobile, shortcode, tollfree) is kept."""
    from twilio.base.exceptions import TwilioRestException

    rows = []
    for iso in sorted(set(countries)):
        try:
            country = client.pricing.v1.messaging.countries(iso).fetch()
        except TwilioRestException as exc:
            if exc.status == 404:
                continue
            raise
        prices = [
            float(p["current_price"])
            for carrier in country.outbound_sms_prices or []
            for p in carrier.get("prices", [])
            if p.get("number_type") == number_type and p.get("current_price") not in (None, "")
        ]
        if prices:
            rows.append((iso, "sms", "*", max(prices), (country.price_unit or "").upper()))
    return pd.DataFrame(rows, columns=PRICE_COLUMNS)


def gateway_prices(gateway: Gateway, countries: Iterable[str], channel: str) -> tuple[pd.DataFrame, str]:
    """The price table the gateway can give for ``countries`` on ``channel``, and its source: the
    sandbox's labelled table, or Twilio's Pricing API through a :class:`TwilioGateway`'s client."""
    if gateway.simulated:
        return SANDBOX_PRICES.copy(), SANDBOX_SOURCE
    client = gateway.client if isinstance(gateway, TwilioGateway) else None
    if client is None or channel not in PRICED_CHANNELS:
        return pd.DataFrame(columns=PRICE_COLUMNS), f"none: the gateway prices no {channel} messages; pass prices="
    return twilio_sms_prices(client, countries), TWILIO_SOURCE
