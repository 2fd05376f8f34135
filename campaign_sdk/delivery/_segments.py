"""SMS encoding and segments: GSM-7 (160 characters, 153 per segment when split) or UCS-2 (70 / 67).

The GSM 03.38 tables come from the ``gsm0338`` codec: a basic character is one septet, an
extension character (``| ^ € { } [ ] ~ \\`` and form feed) two. UCS-2 counts UTF-16 code units,
so an emoji outside the Basic Multilingual Plane takes two. A segment never splits an escape or
a surrogate pair. :func:`sms_segments` counts one text; the plan computes the same count as
DuckDB SQL (``_render``; exact, with the rare texts where the split matters recounted here).

>>> sms_segments("x" * 160), sms_segments("x" * 161)
(Segments(encoding='GSM-7', units=160, segments=1), Segments(encoding='GSM-7', units=161, segments=2))
>>> sms_segments("€" * 80).units, sms_segments("Olá 😀").encoding
(160, 'UCS-2')

With Twilio's Smart Encoding on, characters such as curly quotes are first replaced by GSM-7 ones:

>>> sms_segments("It’s on"), sms_segments("It’s on", smart_encoding=True)
(Segments(encoding='UCS-2', units=7, segments=1), Segments(encoding='GSM-7', units=7, segments=1))
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

from campaign_sdk.facts.delivery import CONCAT_SEGMENT_SIZE, GSM7, SEGMENT_SIZE, SMART_ENCODING, UCS2

CODEC = "gsm03.38"
_ESCAPE = "\x1b"


class Segments(NamedTuple):
    """``encoding`` (GSM-7 / UCS-2), ``units`` (septets or UTF-16 code units) and ``segments``."""

    encoding: str
    units: int
    segments: int


@cache
def gsm_tables() -> tuple[str, str]:
    """(basic, extension) characters of GSM 03.38, read from the codec."""
    basic: list[str] = []
    extension: list[str] = []
    for code in range(0x2100):  # every GSM character is below U+2100 (the euro sign is U+20AC)
        char = chr(code)
        if char == _ESCAPE:
            continue
        try:
            encoded = char.encode(CODEC)
        except UnicodeEncodeError:
            continue
        (basic if len(encoded) == 1 else extension).append(char)
    return "".join(basic), "".join(extension)


def _units(text: str) -> tuple[str, list[int]]:
    basic, extension = gsm_tables()
    if all(c in basic or c in extension for c in text):
        return GSM7, [2 if c in extension else 1 for c in text]
    return UCS2, [2 if ord(c) > 0xFFFF else 1 for c in text]


def _pack(sizes: list[int], per_segment: int) -> int:
    """Segments when characters of ``sizes`` units are packed greedily, none split."""
    count, used = 1, 0
    for size in sizes:
        if used + size > per_segment:
            count, used = count + 1, 0
        used += size
    return count


_SMART_TABLE = str.maketrans(SMART_ENCODING)


def smart_encoded(text: str) -> str:
    """``text`` as Twilio's Smart Encoding sends it: every character it replaces by a GSM-7 one
    (``facts.delivery.SMART_ENCODING``) replaced, the rest kept."""
    return text.translate(_SMART_TABLE)


def sms_segments(text: str, *, smart_encoding: bool = False) -> Segments:
    """The encoding Twilio would use for ``text`` and how many SMS segments it takes; with
    ``smart_encoding``, as sent by a Messaging Service with Smart Encoding on (``SmartEncoded``)."""
    encoding, sizes = _units(smart_encoded(text) if smart_encoding else text)
    units = sum(sizes)
    if units <= SEGMENT_SIZE[encoding]:
        return Segments(encoding, units, 1)
    return Segments(encoding, units, _pack(sizes, CONCAT_SEGMENT_SIZE[encoding]))


def char_class(chars: str) -> str:
    """A regular-expression class of exactly ``chars`` (RE2 ``\\x{..}`` escapes)."""
    return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in chars) + "]"
