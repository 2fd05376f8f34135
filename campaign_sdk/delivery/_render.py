"""One lead's filled message and the per-lead content checks, for one lead (Python) and for every
lead at once (DuckDB SQL): the one renderer ``preflight()``, ``plan()`` and the send path share.

A :class:`LeadTemplate` cuts a content at its ``{{key}}`` placeholders twice: its plain-text
preview (``schemas.preview_text``; each placeholder becomes the lead's value, or
``[missing: key]`` when it is blank, exactly as ``preview_text(..., missing="mark")`` renders
one lead) and the field WhatsApp reviews as its body (filled in, it must fit the channel:
WhatsApp 1,024 characters, error 63021; SMS 1,600). The checks, in this order:

- ``missing_variables`` (Twilio 21656): a variable the template needs is absent or blank;
- ``value_format``: a value holds a line break, a tab or more than 4 consecutive spaces
  (Meta refuses them in variable values);
- ``message_too_long``: the filled body is longer than the channel takes (UTF-16 units).

:meth:`LeadTemplate.reason` decides one lead; :func:`reason_sql` and :func:`message_sql` give the
same answers as SQL expressions over the lead's value columns (a test checks they agree). The SMS
size is counted from the rendered text in SQL (:func:`features_sql`), exactly as
``sms_segments`` counts it, with the rare texts where a two-unit character may straddle a
segment boundary recounted in Python.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from campaign_sdk.delivery._segments import char_class, gsm_tables
from campaign_sdk.facts import content as facts
from campaign_sdk.facts.delivery import CONCAT_SEGMENT_SIZE, GSM7, SEGMENT_SIZE, UCS2
from campaign_sdk.schemas import ContentContext, compile_variables, preview_text
from campaign_sdk.schemas._rules import char_count
from campaign_sdk.schemas._variables import substitute

_MARK = "\x00"
_BAD_VALUE = re.compile(rf"[\n\r\t]| {{{facts.WA_MAX_SPACES + 1},}}")
# what Python's str.strip() removes: a value made only of these is blank (missing)
_BLANK_SQL = "^" + char_class("".join(chr(c) for c in range(0x3001) if chr(c).isspace())) + "*$"
_ASTRAL = "[\\x{10000}-\\x{10ffff}]"


def _cut(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(literals, keys) of ``text`` split at its well-formed placeholders, as ``substitute``
    finds them: ``literals[i]`` precedes ``keys[i]``; one literal more than keys."""
    parts = substitute(text.replace(_MARK, ""), lambda key: _MARK + key + _MARK).split(_MARK)
    return tuple(parts[0::2]), tuple(parts[1::2])


@dataclass(frozen=True)
class LeadTemplate:
    """A content as the per-lead checks and the plan see it (see the module docstring).

    >>> from campaign_sdk.schemas import TwilioTextContext
    >>> t = LeadTemplate.of(TwilioTextContext(body="Hi {{name}}, see {{name}}!"))
    >>> t.literals, t.keys, t.required
    (('Hi ', ', see ', '!'), ('name', 'name'), ('name',))
    >>> t.reason({"name": "Ana"}), t.reason({"name": " "}), t.reason({"name": "A\\nB"})
    (None, 'missing_variables', 'value_format')
    >>> t.message({"name": "Ana"}), t.message({})
    ('Hi Ana, see Ana!', 'Hi [missing: name], see [missing: name]!')
    """

    literals: tuple[str, ...]
    keys: tuple[str, ...]
    required: tuple[str, ...]
    body_literals: tuple[str, ...] | None  # None: the content has no body field to fill
    body_keys: tuple[str, ...]
    limit: int

    @classmethod
    def of(cls, content: ContentContext, *, channel: str = "whatsapp") -> LeadTemplate:
        literals, keys = _cut(preview_text(content, {}, missing="keep"))
        field = content.whatsapp_body_field()
        text = getattr(content, field, None) if field else None
        body_literals, body_keys = _cut(text) if isinstance(text, str) else (None, ())
        limit = facts.WA_BODY.value if channel == "whatsapp" else facts.SMS_BODY.value
        return cls(literals, keys, tuple(compile_variables(content).mapping), body_literals, body_keys, limit)

    @property
    def slots(self) -> tuple[str, ...]:
        """Every variable the checks or the message read, once each."""
        return tuple(dict.fromkeys([*self.required, *self.keys, *self.body_keys]))

    # -- one lead -----------------------------------------------------------------------------
    def reason(self, values: Mapping[str, Any]) -> str | None:
        """Why this lead's message must not be sent (``missing_variables``, ``value_format``,
        ``message_too_long``), or None."""
        if any(v is None or not str(v).strip() for v in (values.get(k) for k in self.required)):
            return "missing_variables"
        return self.content_reason(values)

    def content_reason(self, values: Mapping[str, Any]) -> str | None:
        """``value_format`` / ``message_too_long`` (what the filled-in values break), or None."""
        if any(_BAD_VALUE.search(str(values.get(name) or "")) for name in self.required):
            return "value_format"
        if self.body_literals is not None:
            filled = self.body_literals[0] + "".join(
                str(values.get(k, "{{" + k + "}}")) + lit for k, lit in zip(self.body_keys, self.body_literals[1:]))
            if char_count(filled) > self.limit:
                return "message_too_long"
        return None

    def message(self, values: Mapping[str, Any]) -> str:
        """The lead's plain-text message (a blank value shows as ``[missing: key]``)."""
        out = [self.literals[0]]
        for key, literal in zip(self.keys, self.literals[1:]):
            value = values.get(key)
            out += [f"[missing: {key}]" if value is None or not str(value).strip() else str(value), literal]
        return "".join(out)


# -- every lead (DuckDB SQL over value columns: ``col[key]`` is the SQL of the lead's raw value) ---
def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_SPACES = [chr(c) for c in range(0x3001) if chr(c).isspace()]


def blank_sql(v: str) -> str:
    """SQL: the value is absent or only whitespace (the regular expression runs only on values
    whose first character is a whitespace one: a CASE branch, as DuckDB evaluates both sides
    of an AND)."""
    starts = ", ".join(str(ord(c)) for c in _SPACES)
    return (f"(CASE WHEN {v} IS NULL OR {v} = '' THEN true WHEN unicode({v}) IN ({starts}) "
            f"THEN regexp_matches({v}, {_lit(_BLANK_SQL)}) ELSE false END)")


def shown_sql(key: str, v: str, blank: str | None = None) -> str:
    """SQL of the value ``v`` of ``key`` as the message shows it: ``[missing: key]`` when blank
    (``blank``: the SQL of that test, when already computed)."""
    return f"CASE WHEN {blank or blank_sql(v)} THEN {_lit(f'[missing: {key}]')} ELSE {v} END"


def bad_format_sql(v: str) -> str:
    """SQL of ``_BAD_VALUE``: a line break, a tab or more than 4 consecutive spaces."""
    spaces = " " * (facts.WA_MAX_SPACES + 1)
    return f"(contains({v}, chr(10)) OR contains({v}, chr(13)) OR contains({v}, chr(9)) OR contains({v}, '{spaces}'))"


def _u16(v: str) -> str:
    """UTF-16 units of the text ``v`` (``char_count``): characters, plus one per astral one."""
    return f"(length({v}) + CASE WHEN strlen({v}) = length({v}) THEN 0 ELSE {count_sql(v, _ASTRAL)} END)"


def reason_sql(t: LeadTemplate, col: Mapping[str, str], blank: Mapping[str, str] | None = None) -> str:
    """SQL of :meth:`LeadTemplate.reason` (NULL: none); ``blank[k]``: the SQL of
    ``blank_sql(col[k])`` when it is already computed."""
    whens = []
    if t.required:
        blanks = [blank[k] if blank else blank_sql(col[k]) for k in t.required]
        whens.append(f"WHEN {' OR '.join(blanks)} THEN 'missing_variables'")
        bad = " OR ".join(bad_format_sql(col[k]) for k in t.required)
        whens.append(f"WHEN {bad} THEN 'value_format'")
    if t.body_literals is not None:
        fixed = char_count("".join(t.body_literals))
        units = " + ".join([str(fixed), *(_u16(col[k]) for k in t.body_keys)])
        whens.append(f"WHEN {units} > {t.limit} THEN 'message_too_long'")
    return f"CASE {' '.join(whens)} END" if whens else "NULL"


def message_sql(t: LeadTemplate, col: Mapping[str, str], *, shown: bool = False) -> str:
    """SQL of :meth:`LeadTemplate.message` (``shown``: ``col[k]`` is already :func:`shown_sql`)."""
    parts = [_lit(t.literals[0])]
    for key, literal in zip(t.keys, t.literals[1:]):
        parts += [col[key] if shown else shown_sql(key, col[key]), _lit(literal)]
    return "concat(" + ", ".join(parts) + ")"


def count_sql(v: str, cls: str) -> str:
    """How many characters of class ``cls`` the text ``v`` holds (the regular expression runs
    only on texts that hold one: most hold none)."""
    return (f"CASE WHEN regexp_matches({v}, '{cls}') "
            f"THEN length({v}) - length(regexp_replace({v}, '{cls}', '', 'g')) ELSE 0 END")


@cache
def _classes() -> tuple[str, str, str, str]:
    """(not GSM-7, ASCII not GSM-7, extension, not a one-septet ASCII character) classes."""
    basic, extension = gsm_tables()
    not_gsm = "[^" + char_class(basic + extension)[1:]
    ascii_not_gsm = char_class("".join(chr(c) for c in range(128) if chr(c) not in basic + extension))
    not_plain = "[^" + char_class("".join(c for c in basic if ord(c) < 128))[1:]
    return not_gsm, ascii_not_gsm, char_class(extension), not_plain


def values_sql(t: LeadTemplate, col: Mapping[str, str], *, shown: bool = False) -> str:
    """SQL of the lead's values joined as they appear in the message (a blank one as its mark):
    the message minus the template's literals, whose size is counted once (:func:`literal_size`).
    ``shown``: ``col[k]`` is already :func:`shown_sql`."""
    parts = [col[k] if shown else shown_sql(k, col[k]) for k in t.keys]
    return "concat(" + ", ".join([*parts, "''"]) + ")"


def literal_size(t: LeadTemplate) -> tuple[bool, int, int, int]:
    """(all GSM-7, characters, extension characters, astral characters) of the template's literals."""
    from campaign_sdk.delivery._segments import sms_segments

    joined = "".join(t.literals)
    size = sms_segments(joined)
    gsm = size.encoding == GSM7
    return gsm, len(joined), size.units - len(joined) if gsm else 0, sum(ord(c) > 0xFFFF for c in joined)


def features_sql(v: str) -> str:
    """Select-list SQL of the cheap SMS features of the text column ``v``: ``vk`` (0: only
    one-septet ASCII characters, the common case, found by one regular expression; 1: other
    GSM-7 text; 2: not GSM-7) and ``vn`` (characters)."""
    not_gsm, ascii_not_gsm, _, not_plain = _classes()
    return (f"CASE WHEN NOT regexp_matches({v}, '{not_plain}') THEN 0 "
            f"WHEN strlen({v}) = length({v}) THEN CASE WHEN regexp_matches({v}, '{ascii_not_gsm}') THEN 2 ELSE 1 END "
            f"WHEN regexp_matches({v}, '{not_gsm}') THEN 2 ELSE 1 END AS vk, length({v}) AS vn")


def size_sql(v: str, lit_gsm: str, lit_chars: str, lit_ext: str, lit_astral: str) -> tuple[str, str, str]:
    """SQL of the message's ``is_gsm``, ``chars`` and ``doubles`` (characters taking two units)
    from its values ``v`` (with their :func:`features_sql` columns) and its literals' size; the
    extension or astral characters of ``v`` are counted only for the encoding that needs them,
    and not at all in plain ASCII values."""
    _, _, extension, _ = _classes()
    is_gsm = f"({lit_gsm} AND vk < 2)"
    astral = f"CASE WHEN vk = 0 OR strlen({v}) = length({v}) THEN 0 ELSE {count_sql(v, _ASTRAL)} END"
    ext = f"CASE WHEN vk = 0 THEN 0 ELSE {count_sql(v, extension)} END"
    doubles = f"(CASE WHEN {is_gsm} THEN {lit_ext} + {ext} ELSE {lit_astral} + {astral} END)"
    return is_gsm, f"({lit_chars} + vn)", doubles


def segments_sql(is_gsm: str, chars: str, doubles: str) -> tuple[str, str, str]:
    """SQL for the encoding, the segment count and ``exact`` (False where a two-unit character
    might straddle a segment boundary: recount those few with ``sms_segments``)."""
    units = f"({chars} + {doubles})"
    single = f"CASE WHEN {is_gsm} THEN {SEGMENT_SIZE[GSM7]} ELSE {SEGMENT_SIZE[UCS2]} END"
    concat = f"CASE WHEN {is_gsm} THEN {CONCAT_SEGMENT_SIZE[GSM7]} ELSE {CONCAT_SEGMENT_SIZE[UCS2]} END"
    segments = f"CASE WHEN {units} <= {single} THEN 1 ELSE CAST(ceil({units} / {concat}) AS INTEGER) END"
    upper = f"CASE WHEN {units} <= {single} THEN 1 ELSE CAST(ceil({units} / ({concat} - 1)) AS INTEGER) END"
    encoding = f"CASE WHEN {is_gsm} THEN '{GSM7}' ELSE '{UCS2}' END"
    return encoding, segments, f"({doubles} = 0 OR {segments} = {upper})"


def arm_sql(arms: Sequence[tuple[Sequence[str | None], Any]], variant: str, pick: Any, default: str = "NULL") -> str:
    """``CASE`` over the lead's ``variant`` column: ``pick(x)`` for the arm whose names include
    it; the arm named None is the default (also for unknown names)."""
    if len(arms) == 1 and None in arms[0][0]:
        return pick(arms[0][1])  # one arm for everyone: no CASE
    whens, fallback = [], default
    for names, x in arms:
        named = [n for n in names if n is not None]
        if None in names:
            fallback = pick(x)
        if named:
            whens.append(f"WHEN {variant} IN ({', '.join(_lit(n) for n in named)}) THEN {pick(x)}")
    return f"CASE {' '.join(whens)} ELSE {fallback} END" if whens else fallback
