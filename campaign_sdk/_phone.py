"""Phone number normalisation to E.164 with libphonenumber's verdicts (the `phonenumbers` package)."""

from __future__ import annotations

import re

import phonenumbers

_PREFIX = re.compile(r"^\s*(whatsapp|sms|tel):\s*", re.IGNORECASE)


class PhoneNumberError(ValueError):
    """A phone number is unusable; ``code`` is a stable reason code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def normalize_phone(raw: object, default_region: str | None = None) -> str:
    """Return ``raw`` as E.164, or raise :class:`PhoneNumberError` saying why not.

    Accepts ``+`` / ``00`` international input, national input when ``default_region`` is given,
    and ``whatsapp:`` / ``sms:`` / ``tel:`` prefixes.

    >>> normalize_phone("whatsapp:+1 (415) 555-2671")
    '+14155552671'
    >>> normalize_phone("020 7946 0958", "GB")
    '+442079460958'
    """
    if raw is None or (isinstance(raw, float) and raw != raw):
        raise PhoneNumberError("missing_phone", "the phone number is empty")
    text = _PREFIX.sub("", str(raw)).strip()
    if not text:
        raise PhoneNumberError("missing_phone", "the phone number is empty")
    if text.startswith("00"):
        text = "+" + text[2:]
    if not text.startswith("+") and default_region is None:
        raise PhoneNumberError(
            "no_region",
            f"{raw!r} is not in international format (+country code); "
            "pass default_region (e.g. 'US') to read national numbers",
        )
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else default_region)
    except phonenumbers.NumberParseException as exc:
        raise PhoneNumberError("unparseable_phone", f"{raw!r} is not a phone number ({exc})") from None
    if not phonenumbers.is_valid_number(parsed):
        raise PhoneNumberError(
            "invalid_phone",
            f"{raw!r} is not a valid number for its region according to libphonenumber",
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
