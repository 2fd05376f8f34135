"""Delivery facts: SMS segments and encodings, WhatsApp messaging limits and the customer-service
window. Data only, each fact with its source.
"""

from __future__ import annotations

import datetime as dt

from campaign_sdk.facts.errors import Code

# SMS encodings and segment sizes. Twilio: "How long can a message be?"
# https://www.twilio.com/docs/glossary/what-sms-character-limit (GSM-7: 160 characters in one
# segment, 153 per segment of a longer message; UCS-2: 70 and 67; 1,600 characters at most) and
# "What is UCS-2 character encoding?" https://www.twilio.com/docs/glossary/what-is-ucs-2-character-encoding
# (Twilio sends the most compact encoding; any non GSM-7 character makes the whole message UCS-2;
# a 6-byte User Data Header per segment leaves 153 / 67).
GSM7 = "GSM-7"
UCS2 = "UCS-2"
SEGMENT_SIZE = {GSM7: 160, UCS2: 70}  # one-segment message
CONCAT_SEGMENT_SIZE = {GSM7: 153, UCS2: 67}  # per segment of a concatenated message
MAX_BODY_CHARACTERS = 1600
# GSM-7's extension table (| ^ € { } [ ] ~ \ and form feed) takes an escape plus the character:
# two septets each. https://www.twilio.com/docs/glossary/what-is-gsm-7-character-encoding
# The character tables themselves come from the gsm0338 codec (GSM 03.38), not from here.
EXTENSION_SEPTETS = 2
# UCS-2 counts UTF-16 code units: a character beyond the Basic Multilingual Plane (most emoji)
# takes two. (UCS-2 page above: "each encoded code point will take exactly 2 bytes"; emoji outside
# the BMP travel as surrogate pairs.) A segment never splits an escape or a surrogate pair:
# inferred from how concatenation works, as Twilio's segment calculator does.

# WhatsApp messaging limits: unique users a business portfolio may message outside a
# customer-service window in a moving 24 hours.
# https://developers.facebook.com/docs/whatsapp/messaging-limits ("Newly created business
# portfolios have a messaging limit of 250 ... 2,000 ... 10,000 ... 100,000 ... Unlimited";
# shared by every number of the portfolio). Older tiers (1K / 10K / 100K) are still quoted by BSPs.
MESSAGING_LIMIT_WINDOW = dt.timedelta(hours=24)
MESSAGING_LIMITS = (250, 2_000, 10_000, 100_000, None)  # None: unlimited
MESSAGING_LIMITS_OLD = (250, 1_000, 10_000, 100_000, None)
# Only messages sent outside an open customer-service window count toward the limit (same page).
LIMIT_COUNTS_ONLY_OUTSIDE_SERVICE_WINDOW = True

# The customer-service window: it opens when the user messages the business and lasts 24 hours
# from their latest inbound message; outside it only approved templates may be sent, and a
# free-form message fails with error 63016.
# https://www.twilio.com/docs/api/errors/63016 ;
# https://developers.facebook.com/docs/whatsapp/conversation-types#customer-service-window
SERVICE_WINDOW = dt.timedelta(hours=24)
OUTSIDE_SERVICE_WINDOW_ERROR = Code.OUTSIDE_WINDOW  # 63016, kept with every other code in facts.errors

# WhatsApp throughput: "By default, each WhatsApp sender supports up to 80 messages per second
# (MPS) for outbound traffic (text or media). Text-only throughput can be increased to 400 MPS on
# request"; excess messages are queued, up to four hours.
# https://www.twilio.com/docs/whatsapp/best-practices-and-faqs
WHATSAPP_SENDER_MPS = 80
WHATSAPP_SENDER_MPS_TEXT_MAX = 400

# Since April 1, 2025, "recipients in the U.S. cannot receive WhatsApp marketing template messages":
# Meta does not deliver them and Twilio reports error 63049 ("do not retry ... Use another channel
# such as SMS or MMS"). https://www.twilio.com/docs/api/errors/63049 ;
# https://support.twilio.com/hc/en-us/articles/34591224178331-Marketing-Message-Limits-on-WhatsApp
# (numbers with the +1 dialing code and a US area code; libphonenumber's region "US").
US_MARKETING_PAUSED_SINCE = dt.date(2025, 4, 1)
US_MARKETING_PAUSED_REGIONS = frozenset({"US"})
US_MARKETING_PAUSED_ERROR = Code.MARKETING_NOT_DELIVERED  # 63049
