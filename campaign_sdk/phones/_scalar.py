"""Phone number normalisation to E.164 with libphonenumber's verdicts (the `phonenumbers` package).

:func:`normalize_phone` handles one number. Bulk loads use :func:`campaign_sdk.phones.normalize_phones`,
which reaches the same verdict for every input set-wise and falls back to :func:`phone_verdict`
for unusual shapes; both word their rejections with :func:`phone_message`.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException

from campaign_sdk._exceptions import LeadValidationError

# Every character str.isspace() (and so re's \s) takes for white space, spelled out so that the one
# prefix pattern means the same to Python's re here and to RE2 in the set-wise path (RE2's \s is narrower).
WHITESPACE = "[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
PREFIX_PATTERN = rf"^{WHITESPACE}*(?i:whatsapp|sms|tel):{WHITESPACE}*"  # a channel prefix and its spaces
_PREFIX = re.compile(PREFIX_PATTERN)
E164_MAX_DIGITS = 15  # ITU-T E.164; libphonenumber accepts a few longer national numbers

# Why libphonenumber could not parse a number (its NumberParseException error types).
_PARSE_DETAIL = {
    NumberParseException.INVALID_COUNTRY_CODE: "no known country calling code follows the '+' or international prefix",
    NumberParseException.NOT_A_NUMBER: "it does not look like a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too few digits after the international prefix",
    NumberParseException.TOO_SHORT_NSN: "too few digits",
    NumberParseException.TOO_LONG: "too many digits",
}


class PhoneNumberError(ValueError):
    """A phone number is unusable; ``code`` is a stable reason code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def check_region(region: str | None) -> str | None:
    """``region`` upper-cased, or :class:`LeadValidationError` if libphonenumber does not know it."""
    if region is None:
        return None
    code = str(region).strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise LeadValidationError(
            f"default_region {region!r} is not a region libphonenumber knows; pass an ISO 3166-1 "
            "alpha-2 code such as 'US' or 'GB'"
        )
    return code


def phone_message(code: str, raw: object, detail: int | None = None) -> str:
    """The message for a rejected number: ``code`` is the reason code, ``detail`` the parse
    error type when the code is ``unparseable_phone``."""
    if code == "missing_phone":
        return "the phone number is empty"
    if code == "no_region":
        return (
            f"{raw!r} is not in international format (+country code); "
            "pass default_region (e.g. 'US') to read national numbers"
        )
    if code == "phone_too_long":
        return (
            f"{raw!r} is valid for libphonenumber but has more than {E164_MAX_DIGITS} digits, "
            "the E.164 maximum that Twilio and the store accept"
        )
    if code == "unparseable_phone":
        why = _PARSE_DETAIL.get(detail, "libphonenumber cannot parse it") if detail is not None else "it cannot be parsed"
        return f"{raw!r} is not a phone number: {why}"
    return f"{raw!r} is not a valid number for its region according to libphonenumber"


def phone_text(raw: object) -> tuple[str, bool]:
    """``raw`` with a ``whatsapp:`` / ``sms:`` / ``tel:`` prefix and outer spaces removed and a
    leading ``00`` turned into ``+``; the flag says whether it is in international format."""
    text = _PREFIX.sub("", str(raw)).strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    return text, text.startswith("+")


@lru_cache(maxsize=65536)
def phone_verdict(raw: str, region: str | None) -> tuple[str | None, str | None, int | None]:
    """``(e164, None, None)`` for a usable number, else ``(None, reason code, parse detail)``.

    ``region`` must already be checked (see :func:`check_region`).
    """
    text, international = phone_text(raw)
    if not text:
        return None, "missing_phone", None
    if not international and region is None:
        return None, "no_region", None
    try:
        parsed = phonenumbers.parse(text, None if international else region)
    except NumberParseException as exc:
        return None, "unparseable_phone", exc.error_type
    if not phonenumbers.is_valid_number(parsed):
        return None, "invalid_phone", None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), None, None


def normalize_phone(raw: object, default_region: str | None = None) -> str:
    """Return ``raw`` as E.164, or raise :class:`PhoneNumberError` saying why not.

    Accepts ``+`` / ``00`` international input, national input when ``default_region`` is given,
    and ``whatsapp:`` / ``sms:`` / ``tel:`` prefixes. Reason codes: ``missing_phone``,
    ``no_region``, ``unparseable_phone``, ``invalid_phone`` (libphonenumber's verdicts) and
    ``phone_too_long`` (valid, but over the 15 digits E.164 allows).

    >>> normalize_phone("whatsapp:+1 (415) 555-2671")
    '+14155552671'
    >>> normalize_phone("020 7946 0958", "GB")
    '+442079460958'
    """
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        raise PhoneNumberError("missing_phone", phone_message("missing_phone", raw))
    e164, code, detail = phone_verdict(str(raw), check_region(default_region))
    if code is not None:
        raise PhoneNumberError(code, phone_message(code, raw, detail))
    assert e164 is not None
    if len(e164) - 1 > E164_MAX_DIGITS:
        raise PhoneNumberError("phone_too_long", phone_message("phone_too_long", raw))
    return e164
