"""Every lead's rendered message and its SMS size as DuckDB expressions (no Python loop over leads).

The template's plain-text preview (``schemas.preview_text`` with placeholders kept) is cut at its
``{{key}}`` placeholders. Each becomes the lead's value, or ``[missing: key]`` when the value is
absent or blank, exactly as ``preview_text(..., missing="mark")`` renders one lead. The SMS size
is summed from the literal parts (counted once, here) and each value (counted in SQL), so no
regular expression ever runs over whole messages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from campaign_sdk.delivery._segments import char_class, gsm_tables, sms_segments
from campaign_sdk.facts.delivery import CONCAT_SEGMENT_SIZE, GSM7, SEGMENT_SIZE, UCS2
from campaign_sdk.schemas import ContentContext, preview_text

_PLACEHOLDER = re.compile(r"\{\{([A-Za-z0-9_]{1,16})\}\}")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def template_of(content: ContentContext) -> tuple[list[str], list[str]]:
    """(literal parts, keys) of the preview text: ``literals[i]`` precedes ``keys[i]``; one
    literal more than keys.

    >>> from campaign_sdk.schemas import TwilioTextContext
    >>> template_of(TwilioTextContext(body="Hi {{name}}, see {{name}}!"))
    (['Hi ', ', see ', '!'], ['name', 'name'])
    """
    text = preview_text(content, {}, missing="keep")
    literals, keys, last = [], [], 0
    for match in _PLACEHOLDER.finditer(text):
        literals.append(text[last:match.start()])
        keys.append(match.group(1))
        last = match.end()
    literals.append(text[last:])
    return literals, keys


def value_sql(key: str, slot: str) -> str:
    """The value shown for ``key`` given its raw value expression ``slot``."""
    return f"CASE WHEN trim(coalesce({slot}, '')) = '' THEN {_literal(f'[missing: {key}]')} ELSE {slot} END"


def message_sql(literals: Sequence[str], values: Sequence[str]) -> str:
    """``concat`` of the literals with the value expressions between them."""
    parts = [_literal(literals[0])]
    for value, literal in zip(values, literals[1:]):
        parts += [value, _literal(literal)]
    return "concat(" + ", ".join(parts) + ")"


def _count(v: str, cls: str) -> str:
    """How many characters of class ``cls`` the value ``v`` holds (the regular expression runs
    only on values that hold one: most hold none)."""
    return (f"CASE WHEN regexp_matches({v}, '{cls}') "
            f"THEN length({v}) - length(regexp_replace({v}, '{cls}', '', 'g')) ELSE 0 END")


def features_sql(v: str) -> str:
    """Select-list SQL for the SMS features of the text column ``v`` (all of a lead's values,
    joined): ``vg`` (all GSM-7), ``ve`` (GSM extension characters), ``va`` (characters beyond the
    BMP), ``vn`` (length). ASCII text skips the expensive checks."""
    basic, extension = gsm_tables()
    not_gsm = "[^" + char_class(basic + extension)[1:]
    ascii_not_gsm = char_class("".join(chr(c) for c in range(128) if chr(c) not in basic + extension))
    astral = "[\\x{10000}-\\x{10ffff}]"
    ascii = f"strlen({v}) = length({v})"
    return (f"CASE WHEN {ascii} THEN NOT regexp_matches({v}, '{ascii_not_gsm}') "
            f"ELSE NOT regexp_matches({v}, '{not_gsm}') END AS vg, {_count(v, char_class(extension))} AS ve, "
            f"CASE WHEN {ascii} THEN 0 ELSE {_count(v, astral)} END AS va, length({v}) AS vn")


def size_sql(literals: Sequence[str]) -> tuple[str, str, str]:
    """SQL for the message's ``is_gsm``, ``units`` (septets or UTF-16 units) and ``doubles``
    (characters taking two units), from the literals and the features of the lead's joined
    values (:func:`features_sql`)."""
    joined = "".join(literals)
    literal = sms_segments(joined)
    lit_gsm = literal.encoding == GSM7
    lit_astral = sum(ord(c) > 0xFFFF for c in joined)
    lit_ext = literal.units - len(joined) if lit_gsm else 0
    is_gsm = "vg" if lit_gsm else "false"
    doubles = f"(CASE WHEN {is_gsm} THEN ve + {lit_ext} ELSE va + {lit_astral} END)"
    return is_gsm, f"(vn + {len(joined)} + {doubles})", doubles


def segments_sql(is_gsm: str, units: str, doubles: str) -> tuple[str, str, str]:
    """SQL for the encoding, the segment count and ``exact`` (False where a two-unit character
    might straddle a segment boundary: recount those few with ``sms_segments``)."""
    single = f"CASE WHEN {is_gsm} THEN {SEGMENT_SIZE[GSM7]} ELSE {SEGMENT_SIZE[UCS2]} END"
    concat = f"CASE WHEN {is_gsm} THEN {CONCAT_SEGMENT_SIZE[GSM7]} ELSE {CONCAT_SEGMENT_SIZE[UCS2]} END"
    segments = f"CASE WHEN {units} <= {single} THEN 1 ELSE CAST(ceil({units} / {concat}) AS INTEGER) END"
    upper = f"CASE WHEN {units} <= {single} THEN 1 ELSE CAST(ceil({units} / ({concat} - 1)) AS INTEGER) END"
    encoding = f"CASE WHEN {is_gsm} THEN '{GSM7}' ELSE '{UCS2}' END"
    return encoding, segments, f"({doubles} = 0 OR {segments} = {upper})"
