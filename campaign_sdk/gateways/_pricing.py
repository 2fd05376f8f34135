"""Message prices from the gateway: Twilio's Pricing API (SMS), or the sandbox's fixed table.

Every table has the columns ``country`` (ISO region), ``channel``, ``category`` (``*``: any),
``price`` (per message, or per segment for SMS) and ``currency``. A country the source does not
price is simply absent: the caller reports it per lead. Twilio's table adds ``note``: the cost
reason of a country's leads (an assumed sender type; why there is no price, NaN).

Twilio: ``GET https://pricing.twilio.com/v1/Messaging/Countries/{IsoCountry}`` through
twilio-python's ``client.pricing.v1.messaging.countries(iso).fetch()``; ``outbound_sms_prices`` lists
per carrier (MCC/MNC) the ``prices`` by the *sender's* ``number_type`` (``facts.pricing``), with
``base_price`` / ``current_price`` strings, in ``price_unit``. The Pricing API lists SMS prices
only; WhatsApp's (Meta's) fees need a table of your own.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import pandas as pd
import tenacity

from campaign_sdk._exceptions import GatewayError
from campaign_sdk.facts import pricing as facts
from campaign_sdk.facts.errors import KINDS, ErrorKind
from campaign_sdk.gateways._base import Gateway
from campaign_sdk.gateways._http import retry_after
from campaign_sdk.gateways._sender import type_key
from campaign_sdk.gateways._twilio import TwilioGateway
from campaign_sdk.gateways._twilio import _call as twilio_call

PRICE_COLUMNS = ["country", "channel", "category", "price", "currency"]
TWILIO_SOURCE = "Twilio Pricing API (highest current price over carriers, per SMS segment)"
SANDBOX_SOURCE = "sandbox: fixed example prices for trying the SDK, not Twilio's or Meta's"
PRICED_CHANNELS = ("sms",)  # the Pricing API lists outbound SMS prices only
# The SDK's choice, not Twilio's: a 429, a 5xx or no answer is asked again, 3 attempts in all per
# country, 0.5 s then 1 s apart (or the Retry-After asked, at most MAX_WAIT); then the plan goes on
# without the prices it could not get.
PRICING_ATTEMPTS = 3
MAX_WAIT = 5.0
_BACKOFF = tenacity.wait_exponential(multiplier=0.5, min=0.5, max=2)


class PricingWarning(UserWarning):
    """Twilio's Pricing API failed: some leads' cost is unknown (their ``cost_reason`` says why)."""


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


def twilio_sms_prices(client: Any, countries: Iterable[str], *, number_type: str = "local",
                      note: str | None = None) -> pd.DataFrame:
    """SMS prices of ``countries`` from Twilio's Pricing API, one row per country asked: the
    highest ``current_price`` over the carriers for ``number_type`` (the sender's kind of number,
    ``facts.pricing.SMS_NUMBER_TYPES``); a 404 (a country Twilio does not price) leaves the
    country out.

    The table's ``note`` column is the cost reason of its leads: ``note`` on a price (e.g. the
    sender type was assumed), or why there is none: Twilio lists no price for ``number_type``,
    or the API failed. A rate limit (429), a 5xx or no answer is asked again, at most
    :data:`PRICING_ATTEMPTS` times in all; a failure that remains (or any other, e.g. 401) stops
    the lookup: that country and the ones not asked yet get no price (NaN), and one
    :class:`PricingWarning` says so."""
    wanted = type_key(number_type)
    rows: list[tuple[Any, ...]] = []
    failure: tuple[str, str] | None = None  # (country, problem) of the failure that stopped the lookup
    for iso in sorted(set(countries)):
        if failure is not None:
            rows.append(_unpriced(iso, f"pricing API: not asked for {iso} after the failure for {failure[0]} "
                                       f"({failure[1]})"))
            continue
        try:
            country = _fetch(client, iso)
        except GatewayError as exc:
            if exc.status == facts.NOT_PRICED_STATUS:
                continue
            failure = (iso, str(exc))
            rows.append(_unpriced(iso, f"pricing API: {exc}"))
            continue
        prices = [
            float(p["current_price"])
            for carrier in country.outbound_sms_prices or []
            for p in carrier.get("prices", [])
            if type_key(str(p.get("number_type", ""))) == wanted and p.get("current_price") not in (None, "")
        ]
        if prices:
            rows.append((iso, "sms", "*", max(prices), (country.price_unit or "").upper(), note))
        else:
            rows.append(_unpriced(iso, f"Twilio lists no SMS price to {iso} from a {number_type} number"))
    table = pd.DataFrame(rows, columns=[*PRICE_COLUMNS, "note"]).astype({"price": float})
    if failure is not None:
        unpriced = table.loc[table["price"].isna(), "country"].tolist()
        warnings.warn(
            f"Twilio's Pricing API failed for {failure[0]} ({failure[1]}): the SMS cost to "
            f"{', '.join(unpriced)} is unknown (NaN, with the reason in cost_reason); check the credentials "
            "and Twilio's status, or pass prices= to plan()", PricingWarning, stacklevel=2)
    return table


def _unpriced(iso: str, why: str) -> tuple[Any, ...]:
    return (iso, "sms", "*", float("nan"), None, why)


def _fetch(client: Any, iso: str) -> Any:
    """The Messaging Country resource of ``iso``, asked again after a 429, a 5xx or no answer (a
    GET changes nothing: safe to repeat), honouring Retry-After up to :data:`MAX_WAIT` seconds."""

    def once() -> Any:
        try:
            return twilio_call(f"fetch the SMS prices of {iso}",
                               lambda: client.pricing.v1.messaging.countries(iso).fetch())
        except GatewayError as exc:
            if exc.kind is ErrorKind.RATE_LIMITED and exc.retry_after is None:
                exc.retry_after = retry_after(getattr(client, "http_client", None))
            raise

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(PRICING_ATTEMPTS), wait=_wait, reraise=True,
        retry=tenacity.retry_if_exception(lambda e: isinstance(e, GatewayError) and KINDS[e.kind].retry is not None),
    )
    return retrying(once)


def _wait(state: tenacity.RetryCallState) -> float:
    failure = state.outcome.exception() if state.outcome is not None else None
    asked = getattr(failure, "retry_after", None)
    return min(float(asked), MAX_WAIT) if asked is not None else float(_BACKOFF(state))


def gateway_prices(gateway: Gateway, countries: Iterable[str], channel: str) -> tuple[pd.DataFrame, str]:
    """The price table the gateway can give for ``countries`` on ``channel``, and its source: the
    sandbox's labelled table, or Twilio's Pricing API through a :class:`TwilioGateway`'s client,
    for the gateway's sender type (``TwilioGateway(sender_number_type=)``, else told from its
    ``from_`` number, else assumed local and said so in each cost reason)."""
    if gateway.simulated:
        return SANDBOX_PRICES.copy(), SANDBOX_SOURCE
    client = gateway.client if isinstance(gateway, TwilioGateway) else None
    if client is None or channel not in PRICED_CHANNELS:
        return pd.DataFrame(columns=PRICE_COLUMNS), f"none: the gateway prices no {channel} messages; pass prices="
    assert isinstance(gateway, TwilioGateway)
    number_type, note = gateway.number_type
    table = twilio_sms_prices(client, countries, number_type=number_type, note=note)
    return table, f"{TWILIO_SOURCE}, for a {number_type} sender" + (" (assumed)" if note else "")
