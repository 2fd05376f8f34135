"""The sender's number type, which keys Twilio's SMS prices (``facts.pricing``): given, or told by
libphonenumber from the gateway's ``from_`` number, or assumed (and said so).

>>> sender_type(None, from_="+18005550100", messaging_service_sid=None)
('toll free', None)
>>> sender_type("tollfree", from_=None, messaging_service_sid="MG" + "0" * 32)
('toll free', None)
>>> sender_type(None, from_=None, messaging_service_sid="MG" + "0" * 32)[1][:46]
'sender type assumed local: a messaging service'
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberType

from campaign_sdk.facts import pricing as facts
from campaign_sdk.gateways._base import strip_channel

_BY_PHONENUMBERS = {
    PhoneNumberType.TOLL_FREE: "toll free",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "local",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: facts.FIXED_OR_MOBILE_NUMBER_TYPE,
}
_PASS_IT = "pass TwilioGateway(sender_number_type=...) to price by the sender's own type"


def type_key(number_type: str) -> str:
    """``number_type`` compared as Twilio's spellings vary: lower case, no spaces, hyphens or underscores."""
    return "".join(c for c in number_type.lower() if c not in " -_")


def check_number_type(value: str | None) -> str | None:
    """A gateway's ``sender_number_type`` setting in Twilio's spelling (None: not given), or a
    ValueError naming the types Twilio prices."""
    if value is None:
        return None
    known = {type_key(t): t for t in facts.SMS_NUMBER_TYPES}
    if not isinstance(value, str) or type_key(value) not in known:
        raise ValueError(f"sender_number_type={value!r}: Twilio prices SMS by the sender's number type, one of "
                         f"{', '.join(facts.SMS_NUMBER_TYPES)}")
    return known[type_key(value)]


def sender_type(given: str | None, *, from_: str | None, messaging_service_sid: str | None) -> tuple[str, str | None]:
    """The number type of the sender that sends (a messaging service if there is one, as
    ``send()`` does), and a note when it is assumed rather than known."""
    if given is not None:
        return check_number_type(given) or given, None
    if messaging_service_sid:
        return "local", f"sender type assumed local: a messaging service's numbers are not looked up; {_PASS_IT}"
    number = strip_channel(from_ or "")
    if not number.startswith("+"):
        if number.isdigit() and len(number) in facts.SHORT_CODE_DIGITS:
            return "shortcode", None
        return "local", f"sender type assumed local: {number!r} is not a phone number; {_PASS_IT}"
    try:
        kind = phonenumbers.number_type(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        kind = PhoneNumberType.UNKNOWN
    if kind in _BY_PHONENUMBERS:
        return _BY_PHONENUMBERS[kind], None
    return "local", f"sender type assumed local: libphonenumber cannot tell the type of {number}; {_PASS_IT}"
