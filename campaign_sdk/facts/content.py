"""Content facts: limits per content type, field and channel; WhatsApp approval rules; approval
categories; WhatsApp template languages. Data only; each fact cites its source.

Three levels are kept apart, because they are three different gates:

- ``CONTENT_API``: what Twilio's Content API (``POST /v1/Content``) accepts for a content type.
  The schemas' models enforce these (errors).
- ``WHATSAPP``: what WhatsApp accepts (approval review, or the channel at send time). The
  WhatsApp lint enforces these (errors when documented; warnings when inferred).
- ``SMS_MMS``: what the SMS / MMS channels accept.

Character counting: Twilio's error 21617 page ("some special characters such as emojis ...
will be counted as multiple characters if they have a higher byte count"; its 2026 version:
"characters outside GSM-7, such as emoji ... can use more space") does not give the exact unit;
SMS and WhatsApp both carry text as UTF-16 (UCS-2 on SMS), so the SDK counts **UTF-16 code
units**: an ASCII or accented letter counts 1, an emoji outside the Basic Multilingual Plane
(most emoji) counts 2. This is the stricter reading (a code-point count would accept text Twilio
may refuse). Every limit is counted so, variable values included (error 21658).
Source: https://www.twilio.com/docs/api/errors/21617

Variable values: 1,600 characters (Twilio's variables page, 250 recommended; error 21658). An
older copy of the variables page (under /docs/content-api/) said 255; the current pages and the
error page agree on 1,600, which is enforced.
"""

from __future__ import annotations

from dataclasses import dataclass

COUNT_UNIT = "UTF-16 code units"

# Source tags shown in messages ("the source (Twilio or WhatsApp)").
TWILIO = "Twilio"
WHATSAPP_SOURCE = "WhatsApp"
SDK = "campaign_sdk"


@dataclass(frozen=True)
class Limit:
    """A numeric limit with where it comes from: ``source`` names who enforces it (Twilio,
    WhatsApp), ``url`` the page or OpenAPI path, ``note`` any disagreement between pages."""

    value: int
    source: str
    url: str
    note: str = ""


_CARD = "https://www.twilio.com/docs/content/twiliocard"
_TEXT = "https://www.twilio.com/docs/content/twilio-text"
_MEDIA = "https://www.twilio.com/docs/content/twilio-media"
_CTA = "https://www.twilio.com/docs/content/twiliocall-to-action"
_QR = "https://www.twilio.com/docs/content/twilio-quick-reply"
_CAROUSEL = "https://www.twilio.com/docs/content/carousel"
_WA_CARD = "https://www.twilio.com/docs/content/whatsappcard"
_WA_AUTH = "https://www.twilio.com/docs/content/whatsappauthentication"
_LIST = "https://www.twilio.com/docs/content/twiliolist-picker"
_LOCATION = "https://www.twilio.com/docs/content/twilio-location"
_CATALOG = "https://www.twilio.com/docs/content/twilio-catalog"
_OVERVIEW = "https://www.twilio.com/docs/content/content-types-overview"
_META_SECTIONS = "https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages#section-object"
_MMS = "https://www.twilio.com/docs/messaging/api/media-resource"
_META_COMPONENTS = "https://developers.facebook.com/docs/whatsapp/business-management-api/message-templates/components"
_META_GUIDELINES = "https://developers.facebook.com/docs/whatsapp/message-templates/guidelines"
_META_AUTH = (
    "https://developers.facebook.com/docs/whatsapp/business-management-api/authentication-templates/"
    "copy-code-button-authentication-templates"
)
_META_LANGUAGES = "https://developers.facebook.com/docs/whatsapp/business-management-api/message-templates/supported-languages"
_META_CATEGORIES = "https://developers.facebook.com/docs/whatsapp/updates-to-pricing/new-template-guidelines"
_SPEC = "twilio_content_v1.json #/components/schemas"

# -- Twilio's Content API: text field limits (characters, see COUNT_UNIT) -----------------------
ANY_VALUE = Limit(1600, TWILIO, _TEXT, "Twilio's limit for a message body and for one variable value")
CONTENT_API: dict[str, dict[str, Limit]] = {
    "twilio/text": {"body": Limit(1600, TWILIO, _TEXT)},
    "twilio/media": {"body": Limit(1600, TWILIO, _MEDIA)},
    "twilio/card": {
        "title": Limit(1024, TWILIO, _CARD, "RCS shows at most 200 (longer titles become the description)"),
        # The card page (2026) lists body; it documents no limit of its own: Twilio's 1,600 applies.
        "body": Limit(1600, TWILIO, _CARD),
        "subtitle": Limit(60, TWILIO, _CARD),
    },
    "twilio/call-to-action": {"body": Limit(640, TWILIO, _CTA)},
    "twilio/quick-reply": {"body": Limit(1024, TWILIO, _QR)},
    "twilio/carousel": {
        "body": Limit(1024, TWILIO, _CAROUSEL, "WhatsApp's template body limit"),
        # Card title and body share 160 characters (the carousel page: "combined with the body").
        "card_text": Limit(160, TWILIO, _CAROUSEL, "title and body of one card combined"),
    },
    "whatsapp/card": {
        "body": Limit(1024, TWILIO, _WA_CARD),
        "header_text": Limit(60, WHATSAPP_SOURCE, _META_COMPONENTS),
        "footer": Limit(60, WHATSAPP_SOURCE, _META_COMPONENTS),
    },
    "twilio/list-picker": {
        "body": Limit(1024, TWILIO, _LIST),
        "button": Limit(20, WHATSAPP_SOURCE, _META_COMPONENTS, "Twilio's page gives no limit; WhatsApp's list button text is 20"),
        "item": Limit(24, TWILIO, _LIST),
        "id": Limit(200, TWILIO, _LIST),
        "description": Limit(72, TWILIO, _LIST),
    },
    # The location page (and Meta's location message) give no limit for label or address: Twilio's
    # 1,600 for any message text applies, not an invented smaller one.
    "twilio/location": {"label": Limit(1600, TWILIO, _LOCATION, "no limit on the location page: Twilio's 1,600 "
                                       "for any message text"),
                        "address": Limit(1600, TWILIO, _LOCATION, "no limit on the location page: Twilio's 1,600 "
                                         "for any message text")},
    "twilio/catalog": {
        "body": Limit(1024, TWILIO, _CATALOG),
        "title": Limit(60, WHATSAPP_SOURCE, _META_COMPONENTS, "header text limit"),
        "subtitle": Limit(60, WHATSAPP_SOURCE, _META_COMPONENTS, "footer limit"),
    },
}

# Buttons (actions), per action type.
BUTTON_TITLE = Limit(20, TWILIO, _QR, "some WhatsApp pages say 25; the stricter limit is enforced")
# URL, phone, copy-code and voice-call buttons: Twilio's call-to-action page gives "Max 25 chars" for
# their title, as Meta's template button text (25).
CTA_BUTTON_TITLE = Limit(25, TWILIO, _CTA, "Twilio's call-to-action page: 'Max 25 chars'; WhatsApp's button text is 25 too")
ACTION_TEXT: dict[str, dict[str, Limit]] = {
    "QUICK_REPLY": {
        "title": BUTTON_TITLE,
        "id": Limit(128, WHATSAPP_SOURCE, _QR, "Twilio allows 200 but approved WhatsApp templates 128; the stricter is enforced"),
    },
    "URL": {"title": CTA_BUTTON_TITLE},
    "PHONE_NUMBER": {"title": CTA_BUTTON_TITLE},
    "COPY_CODE": {"title": CTA_BUTTON_TITLE, "code": ANY_VALUE},
    "VOICE_CALL": {"title": CTA_BUTTON_TITLE},
    "VOICE_CALL_REQUEST": {"title": CTA_BUTTON_TITLE},
}

# Action types each content type takes: the OpenAPI enums (#/components/schemas/<x>ActionType).
ACTION_TYPES: dict[str, tuple[str, ...]] = {
    "twilio/card": ("URL", "PHONE_NUMBER", "QUICK_REPLY", "COPY_CODE", "VOICE_CALL"),  # cardActionType
    "whatsapp/card": ("URL", "PHONE_NUMBER", "QUICK_REPLY", "COPY_CODE", "VOICE_CALL"),  # cardActionType
    # callToActionActionType (VOICE_CALL_REQUEST is listed by the spec, not yet by the CTA page)
    "twilio/call-to-action": ("URL", "PHONE_NUMBER", "COPY_CODE", "VOICE_CALL", "VOICE_CALL_REQUEST"),
    "twilio/quick-reply": ("QUICK_REPLY",),  # quickReplyActionType
    "twilio/carousel": ("URL", "PHONE_NUMBER", "QUICK_REPLY"),  # carouselActionType
}
MAX_ACTIONS = Limit(10, TWILIO, _QR, "Twilio's quick-reply page; an older version said 5")
CAROUSEL_CARDS = Limit(10, TWILIO, _CAROUSEL)
CAROUSEL_CARD_BUTTONS = (1, 2)  # the carousel page: "1 to 2 buttons in each card"
LIST_ITEMS = (1, 10)  # the list-picker page: minimum 1 item, maximum 10
# twilio/catalog: Twilio sends listed items as a WhatsApp multi-product message, "1 to 30 products"
# (the catalog page); Meta's section object: 1 to 10 sections, a section title at most 24
# characters and required when there is more than one section (Cloud API messages reference).
CATALOG_ITEMS = Limit(30, TWILIO, _CATALOG, "a multi-product message holds 1 to 30 products")
CATALOG_SECTIONS = Limit(10, WHATSAPP_SOURCE, _META_SECTIONS, "a multi-product message has 1 to 10 sections")
CATALOG_SECTION_TITLE = Limit(24, WHATSAPP_SOURCE, _META_SECTIONS, "a section title of a multi-product message")
OTP_EXPIRY_MINUTES = (1, 90)  # the whatsapp/authentication page: "whole numbers from 1-90"
OTP_EXPIRY_SOURCE = _WA_AUTH
OTP_BUTTON_TEXT = Limit(25, WHATSAPP_SOURCE, _META_AUTH, "WhatsApp's button text limit")
# The one-time code sent in an authentication template's {{1}}: Twilio's page says it "must be less
# than 15 characters long" (at most 14); Meta's authentication pages allow 15. The stricter is enforced.
OTP_CODE = Limit(14, TWILIO, _WA_AUTH, "Twilio: less than 15 characters; Meta allows 15; the stricter is enforced")
LATITUDE = (-90.0, 90.0)  # the location page
LONGITUDE = (-180.0, 180.0)  # the location page
MAX_VARIABLES = 100  # https://www.twilio.com/docs/content/using-variables-with-content-api
MAX_KEY_LENGTH = 16  # same page: keys are numeric or alphanumeric, at most 16 characters

# -- WhatsApp: what approval and the channel accept ---------------------------------------------
WA_BODY = Limit(1024, WHATSAPP_SOURCE, _META_COMPONENTS, "for every content type, at approval and after filling in (63021)")
WA_MAX_BUTTONS = Limit(10, WHATSAPP_SOURCE, _META_COMPONENTS)
WA_MAX_URL_BUTTONS = Limit(2, WHATSAPP_SOURCE, _META_COMPONENTS)
WA_MAX_PHONE_BUTTONS = Limit(1, WHATSAPP_SOURCE, _META_COMPONENTS)
WA_MAX_COPY_CODE_BUTTONS = Limit(1, WHATSAPP_SOURCE, _META_COMPONENTS)
WA_COPY_CODE = Limit(15, WHATSAPP_SOURCE, _META_COMPONENTS, "coupon code example at most 15 characters")
WA_URL = Limit(2000, WHATSAPP_SOURCE, _META_COMPONENTS)
WA_MEDIA_HEADERS = Limit(1, WHATSAPP_SOURCE, _META_COMPONENTS, "a template has one header: one media attachment")
WA_HEADER_TEXT = Limit(60, WHATSAPP_SOURCE, _META_COMPONENTS)
WA_FOOTER = Limit(60, WHATSAPP_SOURCE, _META_COMPONENTS)
WA_MAX_EMOJIS = 10  # Twilio's list of common rejection reasons; a heuristic, so a warning
WA_MAX_SPACES = 4  # Meta: values may not hold newlines, tabs or more than 4 consecutive spaces
WA_SOURCE_GUIDELINES = _META_GUIDELINES
# A variable at the start / end of the body, or two adjacent variables: refused "without a sample
# variable" (Twilio's text and call-to-action pages; its variables page: "cannot be the start or
# end of a body string without a sample"); with samples still a common rejection reason (Twilio's
# approval page: "WhatsApp does not allow a placeholder at the beginning or end").
WA_EDGE_SOURCES = (
    "https://www.twilio.com/docs/content/using-variables-with-content-api",
    _TEXT,
    _CTA,
    "https://www.twilio.com/docs/whatsapp/tutorial/message-template-approvals-statuses",
)
# Content types that can never start a conversation nor be submitted for approval.
IN_SESSION_ONLY = frozenset({"twilio/list-picker", "twilio/location"})  # their pages, and _OVERVIEW
# Channels per content type (the overview page's table).
CHANNELS: dict[str, tuple[str, ...]] = {
    "twilio/text": ("sms", "whatsapp", "rcs", "messenger"),
    "twilio/media": ("mms", "whatsapp", "rcs", "messenger"),
    "twilio/card": ("whatsapp", "rcs", "messenger"),
    "twilio/call-to-action": ("whatsapp", "messenger"),
    "twilio/quick-reply": ("whatsapp", "messenger"),
    "twilio/carousel": ("whatsapp", "rcs"),
    "whatsapp/card": ("whatsapp",),
    "whatsapp/authentication": ("whatsapp",),
    "twilio/list-picker": ("whatsapp",),
    "twilio/location": ("whatsapp",),
    "twilio/catalog": ("whatsapp",),
}
CHANNELS_SOURCE = _OVERVIEW

# -- SMS / MMS ------------------------------------------------------------------------------------
SMS_BODY = Limit(1600, TWILIO, "https://www.twilio.com/docs/api/errors/21617")
MMS_MEDIA = Limit(10, TWILIO, _MMS, "at most 10 media per MMS message")
WA_ATTACHMENTS = Limit(1, WHATSAPP_SOURCE, _MEDIA, "WhatsApp carries one attachment per message")

# -- Approval -----------------------------------------------------------------------------------
# The ApprovalRequests body (#/components/schemas/ContentApprovalRequest) takes a free string;
# WhatsApp recognises these three (https://www.twilio.com/docs/content/content-api-resources).
APPROVAL_CATEGORIES = ("UTILITY", "MARKETING", "AUTHENTICATION")
CATEGORIES_SOURCE = _META_CATEGORIES
# Authentication templates are the AUTHENTICATION category and only they are (Meta's category
# guidelines; the whatsapp/authentication page): checked against the content type.
AUTHENTICATION_TYPES = frozenset({"whatsapp/authentication"})
AUTH_SOURCE = _META_AUTH
# Meta: catalog and carousel templates are marketing templates (inferred from Meta's template
# pages, which show them under MARKETING only): a warning.
MARKETING_ONLY = frozenset({"twilio/catalog"})
# Documented, so an error: Meta's media card carousel page, "carousel cards are only available for
# marketing template messages".
MARKETING_ONLY_DOCUMENTED: dict[str, str] = {
    "twilio/carousel": "https://developers.facebook.com/documentation/business-messaging/whatsapp/templates/"
    "marketing-templates/media-card-carousel-templates",
}
APPROVAL_NAME_PATTERN = r"^[a-z0-9_]{1,512}$"  # lowercase, digits, underscores; 512 (360dialog, Meta)

# WhatsApp template languages (Meta's supported-languages page); ``en`` is the SDK's default.
DEFAULT_LANGUAGE = "en"
LANGUAGES_SOURCE = _META_LANGUAGES
LANGUAGES = frozenset(
    """
    af sq ar ar_EG ar_AE ar_LB ar_MA ar_QA az be_BY bn bn_IN bg ca zh_CN zh_HK zh_TW hr cs da prs_AF
    nl nl_BE en en_GB en_US en_AE en_AU en_CA en_GH en_IE en_IN en_JM en_MY en_NZ en_QA en_SG en_UG
    en_ZA et fil fi fr fr_BE fr_CA fr_CH fr_CI fr_MA ka de de_AT de_CH el gu ha he hi hu id ga it ja
    kn kk rw_RW ko ky_KG lo lv lt mk ms ml mr nb ps_AF fa pl pt_BR pt_PT pa ro ru sr si_LK sk sl es
    es_AR es_CL es_CO es_CR es_DO es_EC es_HN es_MX es_PA es_PE es_ES es_UY sw sv ta te th tr uk ur
    uz vi zu
    """.split()
)
