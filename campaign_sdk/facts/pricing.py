"""Twilio's Pricing API for messaging: how it keys an SMS price. Data only, each fact with its source."""

from __future__ import annotations

# GET https://pricing.twilio.com/v1/Messaging/Countries/{IsoCountry} (twilio-python:
# ``client.pricing.v1.messaging.countries(iso).fetch()``). Twilio's OpenAPI spec
# twilio/twilio-oai spec/json/twilio_pricing_v1.json, path ``/v1/Messaging/Countries/{IsoCountry}``,
# schema ``pricing.v1.messaging.messaging_country-instance``: ``outbound_sms_prices`` is one record
# per destination carrier (``carrier``, ``mcc``, ``mnc``) with ``prices``, a list of
# ``{number_type, base_price, current_price}``; ``price_unit`` is the currency. The page
# https://www.twilio.com/docs/messaging/api/pricing: the prices "to send a message for each MCC/MNC
# applicable in this country", organised by the type of the Twilio number that sends.
# So the price of an outbound SMS depends on the destination's carrier *and the sender's number type*.
PRICING_COUNTRY_PATH = "/v1/Messaging/Countries/{iso}"
NOT_PRICED_STATUS = 404  # the country is not one Twilio prices (the resource does not exist)

# The spec types ``number_type`` as a free string (no enum). Twilio's pricing pages spell the
# types "local", "mobile", "national" and "toll free" (https://www.twilio.com/docs/phone-numbers/pricing,
# PhoneNumberPrice: "either local, mobile, national, or toll free"); "shortcode" for a short code
# sender is inferred (Twilio prices short-code SMS separately, https://www.twilio.com/en-us/sms/pricing/us),
# not read from the API's description. Spellings are compared without spaces, hyphens and
# underscores ("toll free" = "tollfree" = "toll-free"): inferred, as the spelling is not specified.
SMS_NUMBER_TYPES = ("local", "mobile", "national", "toll free", "shortcode")
# A US/Canada 10-digit long code is a "local" number in Twilio's US price list ("Long code
# (10-digit)" is priced as local, https://www.twilio.com/en-us/sms/pricing/us); libphonenumber cannot
# tell fixed from mobile there (FIXED_LINE_OR_MOBILE): such a sender is priced as local (inferred).
FIXED_OR_MOBILE_NUMBER_TYPE = "local"
# A short code is 5 or 6 digits in the US (https://www.twilio.com/docs/glossary/what-is-a-short-code);
# 3 to 8 digits elsewhere: a sender of 3-8 digits without a "+" is taken for a short code (inferred).
SHORT_CODE_DIGITS = range(3, 9)
