"""Phone number formats Twilio expects (data only).

Twilio asks for E.164 in every ``To`` and ``From``: a ``+``, the country calling code (never
starting with 0), then the subscriber number, at most fifteen digits in all.

- https://www.twilio.com/docs/glossary/what-e164 (Twilio's E.164 page)
- https://help.twilio.com/articles/223183008-Formatting-International-Phone-Numbers
- ITU-T Recommendation E.164 (section 6: at most 15 digits; country codes 1-3 digits, none
  starting with 0)

>>> bool(E164.fullmatch("+14155552671")), bool(E164.fullmatch("+014155552671"))
(True, False)
>>> bool(E164.fullmatch("+1" + "2" * 14)), bool(E164.fullmatch("+1" + "2" * 15))
(True, False)
"""

from __future__ import annotations

import re

# At most 15 digits after the "+", the first one 1-9 (ITU-T E.164 section 6; Twilio's E.164 page).
E164_MAX_DIGITS = 15

# The pattern as text, written so that Python's ``re`` and RE2 (pyarrow.compute, DuckDB) read it
# the same way: a "+", a non-zero digit, then 1 to 14 more digits.
E164_PATTERN = r"^\+[1-9][0-9]{1,14}$"
E164 = re.compile(E164_PATTERN)

# Twilio's magic test numbers (test credentials only): sending to them answers with these
# errors. https://www.twilio.com/docs/iam/test-credentials#test-sms-messages-parameters-To
MAGIC_TO_INVALID = "+15005550001"  # error 21211 (invalid 'To' number)
MAGIC_TO_OPTED_OUT = "+15005550004"  # error 21610 (the recipient replied STOP)
MAGIC_TO_NOT_MOBILE = "+15005550009"  # error 21614 ('To' is not a mobile number)
MAGIC_FROM_VALID = "+15005550006"  # a 'From' number the test API accepts
