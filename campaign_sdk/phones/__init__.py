"""Phone numbers to E.164 with libphonenumber's verdicts (the ``phonenumbers`` package).

- :func:`normalize_phone`: one number (``_scalar``), raising :class:`PhoneNumberError` with a
  reason code;
- :func:`normalize_phones`: many numbers at once (``_bulk``), the same verdict for each, computed
  set-wise over Arrow arrays from the library's own metadata (``_metadata``); the few private
  helpers of ``phonenumbers`` it reuses are checked at import (``_private``), and if they changed
  every value goes through the library one by one.

>>> normalize_phone("whatsapp:+1 (415) 555-2671")
'+14155552671'
>>> list(normalize_phones(["+44 20 7946 0958", "12"], "GB").codes())
['', 'invalid_phone']
"""

from __future__ import annotations

from campaign_sdk.phones._bulk import REASONS, PhoneVerdicts, as_text, normalize_phones
from campaign_sdk.phones._scalar import (
    E164_MAX_DIGITS,
    PhoneNumberError,
    check_region,
    normalize_phone,
    phone_message,
    phone_text,
    phone_verdict,
)

__all__ = [
    "E164_MAX_DIGITS",
    "REASONS",
    "PhoneNumberError",
    "PhoneVerdicts",
    "as_text",
    "check_region",
    "normalize_phone",
    "normalize_phones",
    "phone_message",
    "phone_text",
    "phone_verdict",
]
