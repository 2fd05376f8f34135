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
# The limit is the WhatsApp Business Platform's (the page above): it counts the people a business
# messages on WhatsApp; an SMS to the same person is not a WhatsApp conversation and does not count.
MESSAGING_LIMIT_CHANNEL = "whatsapp"

# The customer-service window: it opens when the user messages the business and lasts 24 hours
# from their latest inbound message; outside it only approved templates may be sent, and a
# free-form message fails with error 63016.
# https://www.twilio.com/docs/api/errors/63016 ;
# https://developers.facebook.com/docs/whatsapp/conversation-types#customer-service-window
SERVICE_WINDOW = dt.timedelta(hours=24)
OUTSIDE_SERVICE_WINDOW_ERROR = Code.OUTSIDE_WINDOW  # 63016, kept with every other code in facts.errors

# WhatsApp per-message pricing, since 2025-07-01: Meta bills each delivered template message by
# its category (marketing, utility, authentication) and the recipient's country calling code;
# "All non-template messages are free" (the pricing object's category ``service`` is "a
# non-template message"), and "Utility templates delivered within an open customer service window
# are free"; marketing and authentication templates are charged inside the window too.
# https://developers.facebook.com/docs/whatsapp/pricing (Twilio adds its own per-message fee,
# https://www.twilio.com/en-us/whatsapp/pricing, which a price table's ``service`` row can carry).
WHATSAPP_PRICING_SINCE = dt.date(2025, 7, 1)
WHATSAPP_NON_TEMPLATE_CATEGORY = "service"
WHATSAPP_FREE_IN_SERVICE_WINDOW = frozenset({"utility", WHATSAPP_NON_TEMPLATE_CATEGORY})

# WhatsApp throughput: "By default, each WhatsApp sender supports up to 80 messages per second
# (MPS) for outbound traffic (text or media). Text-only throughput can be increased to 400 MPS on
# request"; excess messages are queued, up to four hours.
# https://www.twilio.com/docs/whatsapp/best-practices-and-faqs
WHATSAPP_SENDER_MPS = 80
WHATSAPP_SENDER_MPS_TEXT_MAX = 400

# SMS throughput depends on the sender: "Your Twilio SMS-enabled long code phone numbers can send
# SMS messages at a rate of one message segment per second ... On US and Canadian toll-free phone
# numbers, the rate limit is 3 message segments per second"; short codes more (30 on that page;
# 100 on newer ones); Twilio queues the excess, "up to 10 hours' worth of message segments"
# (a US or Canadian local number's queue: 36,000 segments).
# https://www.twilio.com/help/faq/sms/how-quickly-can-i-send-sms-messages ;
# https://support.twilio.com/hc/en-us/articles/115002943027-Understanding-Twilio-Rate-Limits-and-Message-Queues
# The SDK does not know the number type: a long code's rate is its default for SMS (a faster
# rate is queued by Twilio and arrives late, perhaps in the recipient's quiet hours). Counting
# messages, not segments, is an inference: a long message of n segments takes n seconds.
SMS_LONG_CODE_MPS = 1
SMS_TOLL_FREE_MPS = 3

# Since April 1, 2025, "recipients in the U.S. cannot receive WhatsApp marketing template messages":
# Meta does not deliver them and Twilio reports error 63049 ("do not retry ... Use another channel
# such as SMS or MMS"). https://www.twilio.com/docs/api/errors/63049 ;
# https://support.twilio.com/hc/en-us/articles/34591224178331-Marketing-Message-Limits-on-WhatsApp
# (numbers with the +1 dialing code and a US area code; libphonenumber's region "US").
US_MARKETING_PAUSED_SINCE = dt.date(2025, 4, 1)
US_MARKETING_PAUSED_REGIONS = frozenset({"US"})
US_MARKETING_PAUSED_ERROR = Code.MARKETING_NOT_DELIVERED  # 63049

# Smart Encoding: a Messaging Service setting, or ``SmartEncoded=true`` on one message ("Whether to
# detect Unicode characters that have a similar GSM-7 character and replace them"; OpenAPI
# twilio_api_v2010.json, POST /2010-04-01/Accounts/{AccountSid}/Messages.json, field SmartEncoded).
# The characters Twilio replaces, and with what: https://www.twilio.com/docs/messaging/services/smart-encoding-char-list
# (its table, as far as it could be read here, agrees entry by entry with the map in Twilio's own
# segment calculator, github.com/TwilioDevEd/message-segment-calculator, src/libs/SmartEncodingMap.ts,
# which is the source of the rest). Grouped by replacement. Left out: the calculator's C0/C1
# control characters and tab, which the docs' table does not show; its spaces are written here
# as one space (the calculator's two-space strings read as a formatting slip, an inference).
_SMART_ENCODING_GROUPS: dict[str, str] = {
    '"': "\u00ab\u00bb\u201c\u201d\u02ba\u02ee\u201f\u275d\u275e\u301d\u301e\uff02\u201e",
    "'": "\u2018\u2019\u02bb\u02c8\u02bc\u02bd\u02b9\u201b\uff07\u00b4\u02ca\u0060\u02cb\u275b\u275c"
         "\u0313\u0314\ufe10\ufe11\u2017",
    "/": "\u00f7\u29f8\u0337\u0338\u2044\u2215\uff0f",
    "1/4": "\u00bc", "1/2": "\u00bd", "3/4": "\u00be",
    "\\": "\u29f9\u29f5\u20e5\ufe68\uff3c",
    "_": "\u0332\uff3f",
    "|": "\u20d2\u20d3\u2223\uff5c\u23b8\u23b9\u23d0\u239c\u239f",
    "-": "\u23bc\u23bd\u2015\ufe63\uff0d\u2010\u2043\u2014\u2013\u2022",
    "@": "\ufe6b\uff20", "$": "\ufe69\uff04",
    "!": "\u01c3\ufe15\ufe57\uff01", "!!": "\u203c",
    "#": "\ufe5f\uff03", "%": "\ufe6a\uff05", "&": "\ufe60\uff06",
    ",": "\u201a\u0326\ufe50\ufe51\uff0c\uff64\u3001",
    "(": "\u2768\u276a\ufe59\uff08\u27ee\u2985", ")": "\u2769\u276b\ufe5a\uff09\u27ef\u2986",
    "*": "\u204e\u2217\u229b\u2722\u2723\u2724\u2725\u2731\u2732\u2733\u273a\u273b\u273c\u273d\u2743"
         "\u2749\u274a\u274b\u29c6\ufe61\uff0a",
    "+": "\u02d6\ufe62\uff0b",
    ".": "\u3002\ufe52\uff0e\uff61", "...": "\u2026",
    ":": "\u02d0\u02f8\u2982\ua789\ufe13\uff1a", ";": "\u204f\ufe14\ufe54\uff1b",
    "<": "\ufe64\uff1c\u203a", "=": "\u0347\ua78a\ufe66\uff1d", ">": "\ufe65\uff1e\u2039",
    "?": "\ufe16\ufe56\uff1f",
    "^": "\u02c6\u0302\uff3e\u1dcd",
    "{": "\u2774\ufe5b\uff5b", "}": "\u2775\ufe5c\uff5d", "[": "\uff3b", "]": "\uff3d",
    "~": "\u02dc\u02f7\u0303\u0330\u0334\u223c\uff5e",
    " ": "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
         "\u2028\u2029",
    "": "\u2060\u200b\ufeff",
}
# Fullwidth digits and capitals, and small-capital letters: each becomes its plain letter or digit.
_SMART_ENCODING_LETTERS = {chr(0xFF10 + i): str(i) for i in range(10)} | {
    chr(0xFF21 + i): chr(ord("A") + i) for i in range(26)} | dict(zip(
        "\u1d00\u0299\u1d04\u1d05\u1d07\ua730\u0262\u029c\u026a\u1d0a\u1d0b\u029f\u1d0d\u0274\u1d0f"
        "\u1d18\u0280\ua731\u1d1b\u1d1c\u1d20\u1d21\u028f\u1d22", "ABCDEFGHIJKLMNOPRSTUVWYZ", strict=True))
SMART_ENCODING: dict[str, str] = {
    char: target for target, chars in _SMART_ENCODING_GROUPS.items() for char in chars
} | _SMART_ENCODING_LETTERS
