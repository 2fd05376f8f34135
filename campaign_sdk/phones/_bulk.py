"""Set-wise phone normalisation with exactly libphonenumber's verdicts.

``phonenumbers.parse`` + ``is_valid_number`` cost about 58 us per number. Here the same steps run
over whole Arrow arrays with RE2 (pyarrow.compute), using the library's own metadata:

1. cheap canonicalisation: the ``whatsapp:`` / ``sms:`` / ``tel:`` prefix, outer white space and a
   leading ``00`` are handled exactly as :func:`campaign_sdk.phones.normalize_phone` does (with the
   same pattern, :data:`~campaign_sdk.phones._scalar.PREFIX_PATTERN`); a value
   made only of digits and `` ().-/`` (after an optional ``+``) is reduced to its digits, which is
   all ``parse`` looks at for such a value;
2. those digit strings go through ``parse``'s own steps set-wise: the region's international
   prefix (IDD), the calling code, the "number starts with the country code" rule, national-prefix
   stripping and the length tests, then validity as ``is_valid_number`` decides it (general pattern
   and possible lengths, then any number type's pattern and lengths, choosing the region among
   those sharing the calling code by leading digits);
3. anything else (letters, other punctuation, non-ASCII text, very short digit runs) and the few
   regions whose national prefix rewrites digits go to the library itself, once per distinct value.

Steps 1-2 reuse a few private helpers of ``phonenumbers`` (see :mod:`campaign_sdk.phones._private`);
when the import-time check of those finds a change, every value takes step 3's path instead.
The agreement with the library is tested on hypothesis-generated strings and measured on a
million varied numbers in ``benchmarks/bench_leads.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from phonenumbers import NumberParseException

from campaign_sdk.phones import _private
from campaign_sdk.phones._metadata import (
    COUNTRY_CODES,
    KEEP_PREFIX,
    MAX_LENGTH,
    TOO_LONG,
    Rules,
    length_mask,
    main_rules,
    region_rules,
    validity_rules,
)
from campaign_sdk.phones._private import (
    MAX_INPUT_STRING_LENGTH,
    MAX_LENGTH_FOR_NSN,
    MIN_LENGTH_FOR_NSN,
    strip_national_prefix,
)
from campaign_sdk.phones._scalar import (
    E164_MAX_DIGITS,
    PREFIX_PATTERN,
    WHITESPACE,
    check_region,
    phone_message,
    phone_verdict,
)

REASONS = ("", "missing_phone", "no_region", "unparseable_phone", "invalid_phone", "phone_too_long")
OK, MISSING, NO_REGION, UNPARSEABLE, INVALID, TOO_LONG_FOR_E164 = range(6)
_CODE = {name: i for i, name in enumerate(REASONS) if name}
NO_DETAIL = -1

_SHAPE_RE = r"^(?:\+|00)?[0-9 ().\-/]*$"  # punctuation parse ignores (no extension, no letters)
_PLAIN_RE = r"^\+?[0-9]+$"
_MIN_FAST_DIGITS = 4  # shorter digit runs take the library's path (its 2-digit viability rule)
_MAX_FAST_TEXT = 100  # parse refuses input over 250 characters; stay far below


@dataclass(frozen=True)
class PhoneVerdicts:
    """The outcome for every input value, aligned with the input.

    ``e164`` holds the E.164 number or null; ``reason`` indexes :data:`REASONS` (0: accepted);
    ``detail`` is libphonenumber's parse error type for ``unparseable_phone`` (else -1);
    ``fallback`` counts the distinct values that went through the library one by one.
    """

    e164: pa.Array
    reason: np.ndarray
    detail: np.ndarray
    fallback: int

    def codes(self) -> np.ndarray:
        """The reason code of every value (``''`` when accepted)."""
        return np.asarray(REASONS, dtype=object)[self.reason]

    def messages(self, raw: Sequence[Any], positions: Sequence[int] | np.ndarray) -> list[str]:
        """The rejection message of the values at ``positions`` (``raw`` are the input values)."""
        return [
            phone_message(REASONS[self.reason[i]], raw[k], None if self.detail[i] < 0 else int(self.detail[i]))
            for k, i in enumerate(positions)
        ]


def as_text(values: Any) -> pa.Array:
    """Input values as an Arrow string array; None, NaN, NA and NaT become null, anything
    else that is not a string becomes ``str(value)``."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array) and pa.types.is_null(values.type):
        return pa.nulls(len(values), pa.string())
    if isinstance(values, pa.Array) and (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return values.cast(pa.string())
    if isinstance(values, pa.Array):
        values = values.to_pandas()
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.StringDtype):
        return as_text(pa.array(values, from_pandas=True))
    return pa.array([_text(v) for v in (values.tolist() if hasattr(values, "tolist") else values)], pa.string())


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    return str(value)


def normalize_phones(values: Any, default_region: str | None = None) -> PhoneVerdicts:
    """Normalise many phone numbers at once, with libphonenumber's verdict for each (and, like
    :func:`~campaign_sdk.phones.normalize_phone`, ``phone_too_long`` past 15 digits).

    >>> v = normalize_phones(["+1 415 555 2671", "(415) 555-2672", "12", None], "US")
    >>> v.e164.to_pylist(), list(v.codes())
    (['+14155552671', '+14155552672', None, None], ['', '', 'invalid_phone', 'missing_phone'])
    """
    region = check_region(default_region)
    text = as_text(values)
    out = _Out(len(text))
    present = _np(text.is_valid())
    out.fail(np.flatnonzero(~present), MISSING)
    ascii_ = present & _np(pc.fill_null(pc.string_is_ascii(text), False))
    if not _private.SET_WISE.ok:  # phonenumbers' internals changed: the library decides every value
        ascii_[:] = False
    library = list(np.flatnonzero(present & ~ascii_))
    idx = np.flatnonzero(ascii_)
    if idx.size:
        library.extend(_ascii(out, idx, text.take(pa.array(idx)), region))
    out.fallback = _library(out, np.asarray(library, dtype=np.int64), text, region)
    return out.result()


class _Out:
    """Collects the verdicts of subsets of the input, then assembles aligned arrays."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.reason = np.zeros(n, dtype=np.int8)
        self.detail = np.full(n, NO_DETAIL, dtype=np.int8)
        self.positions: list[np.ndarray] = []
        self.numbers: list[pa.Array] = []
        self.fallback = 0

    def fail(self, idx: np.ndarray, reason: int, detail: int = NO_DETAIL) -> None:
        self.reason[idx] = reason
        self.detail[idx] = detail

    def accept(self, idx: np.ndarray, e164: pa.Array) -> None:
        if idx.size:
            self.positions.append(idx)
            self.numbers.append(e164.cast(pa.string()))

    def result(self) -> PhoneVerdicts:
        where = np.full(self.n, -1, dtype=np.int64)
        if self.positions:
            order = np.concatenate(self.positions)
            where[order] = np.arange(order.size)
            values = pa.concat_arrays(self.numbers)
        else:
            values = pa.array([], pa.string())
        e164 = values.take(pa.array(where, mask=where < 0))
        too_long = _np(pc.fill_null(pc.greater(pc.binary_length(e164), E164_MAX_DIGITS + 1), False))
        if too_long.any():
            self.reason[too_long] = TOO_LONG_FOR_E164
            e164 = pc.if_else(pa.array(too_long), pa.scalar(None, pa.string()), e164)
        return PhoneVerdicts(e164, self.reason, self.detail, self.fallback)


def _np(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(array.to_numpy(zero_copy_only=False))


def _len(array: pa.Array) -> np.ndarray:
    return _np(pc.binary_length(array)).astype(np.int64)


def _take(array: pa.Array, idx: np.ndarray) -> pa.Array:
    return array.take(pa.array(idx, pa.int64()))


def _full(array: pa.Array, pattern: str) -> np.ndarray:
    return _np(pc.match_substring_regex(array, f"^(?:{pattern})$"))


def _ascii(out: _Out, idx: np.ndarray, raw: pa.Array, region: str | None) -> np.ndarray:
    """Verdicts for ASCII values; returns the positions left for the library."""
    left = []
    plain = _np(pc.match_substring_regex(raw, _PLAIN_RE))  # most exports: +digits or digits
    for mask, is_plain in ((plain, True), (~plain, False)):
        sel = np.flatnonzero(mask)
        if sel.size:
            left.append(_ascii_part(out, idx[sel], _take(raw, sel), region, is_plain))
    return np.concatenate(left) if left else idx[:0]


def _ascii_part(out: _Out, idx: np.ndarray, text: pa.Array, region: str | None, plain: bool) -> np.ndarray:
    if not plain:  # normalize_phone's prefix removal and str.strip()
        text = pc.replace_substring_regex(text, PREFIX_PATTERN, "", max_replacements=1)
        text = pc.replace_substring_regex(text, rf"^{WHITESPACE}+|{WHITESPACE}+$", "")
    length = _len(text)
    plus = _np(pc.starts_with(text, "+"))
    zeros = _np(pc.starts_with(text, "00"))
    international = plus | zeros
    empty = length == 0
    out.fail(idx[empty], MISSING)
    todo = ~empty
    if region is None:
        out.fail(idx[todo & ~international], NO_REGION)
        todo &= international
    if plain:
        digits = pc.utf8_ltrim(text, "+")
        shaped = np.ones(len(text), dtype=bool)
    else:
        digits = pc.replace_substring_regex(text, "[^0-9]+", "")
        shaped = _np(pc.match_substring_regex(text, _SHAPE_RE))
    count = _len(digits) - np.where(zeros, 2, 0)
    parse_length = length - np.where(zeros, 1, 0)
    no_digits = todo & (count == 0) & (parse_length <= MAX_INPUT_STRING_LENGTH)
    out.fail(idx[no_digits], UNPARSEABLE, NumberParseException.NOT_A_NUMBER)
    fast = todo & shaped & (count >= _MIN_FAST_DIGITS) & (length <= _MAX_FAST_TEXT)
    for mask, intl in ((fast & international, True), (fast & ~international, False)):
        sel = np.flatnonzero(mask)
        if not sel.size:
            continue
        number = _take(digits, sel)
        if intl:
            if zeros[sel].any():
                number = pc.if_else(pa.array(zeros[sel]), pc.utf8_slice_codeunits(number, 2), number)
            _international(out, idx[sel], number)
        else:
            assert region is not None
            _national(out, idx[sel], number, region_rules(region))
    return idx[todo & ~fast & ~no_digits]


def _international(out: _Out, idx: np.ndarray, digits: pa.Array) -> None:
    """``+`` + digits (or digits after an international prefix): calling code, then the rest."""
    length = _len(digits)
    short = length <= MIN_LENGTH_FOR_NSN
    out.fail(idx[short], UNPARSEABLE, NumberParseException.TOO_SHORT_AFTER_IDD)
    keep = np.flatnonzero(~short)
    if not keep.size:
        return
    digits, idx = _take(digits, keep), idx[keep]
    code = _country_codes(digits)
    out.fail(idx[code == 0], UNPARSEABLE, NumberParseException.INVALID_COUNTRY_CODE)
    for cc in np.unique(code[code > 0]):
        sel = np.flatnonzero(code == cc)
        rest = pc.utf8_slice_codeunits(_take(digits, sel), len(str(cc)))
        _tail(out, idx[sel], rest, int(cc), main_rules(int(cc)))


def _country_codes(digits: pa.Array) -> np.ndarray:
    """libphonenumber's _extract_country_code on digit strings of 3+ digits (0: none)."""
    head = _np(pc.cast(pc.utf8_slice_codeunits(digits, 0, 3), pa.int64()))
    found = np.zeros(len(digits), dtype=np.int64)
    undecided = head >= 100  # a leading 0 is never a calling code
    for prefix in (head // 100, head // 10, head):
        hit = undecided & np.isin(prefix, COUNTRY_CODES)
        found[hit] = prefix[hit]
        undecided &= ~hit
    return found


def _national(out: _Out, idx: np.ndarray, digits: pa.Array, rules: Rules) -> None:
    """Digits written without ``+`` read for the default region, as ``parse`` does."""
    if rules.idd is not None:
        matched = _np(pc.match_substring_regex(digits, f"^(?:{rules.idd})"))
        after = pc.replace_substring_regex(digits, f"^(?:{rules.idd})", "", max_replacements=1)
        idd = matched & ~_np(pc.starts_with(after, "0"))
        sel = np.flatnonzero(idd)
        if sel.size:
            _international(out, idx[sel], _take(after, sel))
        keep = np.flatnonzero(~idd)
        digits, idx = _take(digits, keep), idx[keep]
    cc = rules.country_code
    starts = np.flatnonzero(_np(pc.starts_with(digits, str(cc))))
    own = np.ones(len(digits), dtype=bool)
    if starts.size:
        full = _take(digits, starts)
        rest = _strip_national_prefix(pc.utf8_slice_codeunits(full, len(str(cc))), rules)
        general = rules.general_pattern
        before_ok = _full(full, general) if general else np.zeros(len(full), bool)
        after_ok = _full(rest, general) if general else np.zeros(len(full), bool)
        too_long = rules.length_verdicts[np.minimum(_len(full), MAX_LENGTH)] == TOO_LONG
        strip = (~before_ok & after_ok) | too_long
        sel = np.flatnonzero(strip)
        if sel.size:
            main = main_rules(cc)
            tail_rules = rules if main.region == rules.region else main
            _tail(out, idx[starts[sel]], _take(rest, sel), cc, tail_rules)
        own[starts[sel]] = False
    sel = np.flatnonzero(own)
    if sel.size:
        _tail(out, idx[sel], _take(digits, sel), cc, rules)


def _tail(out: _Out, idx: np.ndarray, national: pa.Array, cc: int, rules: Rules) -> None:
    """The rest of ``parse`` (national prefix, lengths) and then ``is_valid_number``."""
    length = _len(national)
    short = length < MIN_LENGTH_FOR_NSN
    out.fail(idx[short], UNPARSEABLE, NumberParseException.TOO_SHORT_NSN)
    keep = np.flatnonzero(~short)
    national, idx = _take(national, keep), idx[keep]
    stripped = _strip_national_prefix(national, rules)
    verdict = rules.length_verdicts[np.minimum(_len(stripped), MAX_LENGTH)]
    national = pc.if_else(pa.array(~np.isin(verdict, KEEP_PREFIX)), stripped, national)
    length = _len(national)
    out.fail(idx[length < MIN_LENGTH_FOR_NSN], UNPARSEABLE, NumberParseException.TOO_SHORT_NSN)
    out.fail(idx[length > MAX_LENGTH_FOR_NSN], UNPARSEABLE, NumberParseException.TOO_LONG)
    fits = np.flatnonzero((length >= MIN_LENGTH_FOR_NSN) & (length <= MAX_LENGTH_FOR_NSN))
    national, idx = _take(national, fits), idx[fits]
    valid = _valid(national, cc)
    out.fail(idx[~valid], INVALID)
    sel = np.flatnonzero(valid)
    if sel.size:
        out.accept(idx[sel], pc.binary_join_element_wise(pa.scalar(f"+{cc}"), _take(national, sel), ""))


def _strip_national_prefix(numbers: pa.Array, rules: Rules) -> pa.Array:
    """libphonenumber's _maybe_strip_national_prefix_carrier_code (the number it returns)."""
    prefix = rules.national_prefix
    if prefix is None or not len(numbers):
        return numbers
    if rules.transform is not None:  # a few regions rewrite digits: let the library do it
        return pa.array([strip_national_prefix(n, rules.metadata) for n in numbers.to_pylist()], pa.string())
    if prefix.isdigit():  # a plain trunk prefix such as "0" or "1"
        matched = _np(pc.starts_with(numbers, prefix))
        if not matched.any():
            return numbers
        rest = pc.utf8_slice_codeunits(numbers, len(prefix))
    else:
        rest = pc.replace_substring_regex(numbers, f"^(?:{prefix})", "", max_replacements=1)
        matched = _len(rest) < _len(numbers)
    if not matched.any():
        return numbers
    general = rules.general_pattern
    if general:
        # keep the prefix when the number fits the general pattern only with it
        matched &= ~(_full(numbers, general) & ~_full(rest, general))
    return pc.if_else(pa.array(matched), rest, numbers)


def _valid(national: pa.Array, cc: int) -> np.ndarray:
    """``is_valid_number`` for national significant numbers of calling code ``cc``."""
    single, candidates = validity_rules(cc)
    valid = np.zeros(len(national), dtype=bool)
    if single:
        if candidates:
            valid = _known_type(national, candidates[0])
        return valid
    undecided = np.ones(len(national), dtype=bool)
    for rules in candidates:
        sel = np.flatnonzero(undecided)
        if not sel.size:
            break
        numbers = _take(national, sel)
        if rules.leading_digits is not None:
            hit = sel[_np(pc.match_substring_regex(numbers, f"^(?:{rules.leading_digits})"))]
            valid[hit] = _known_type(_take(national, hit), rules)
            undecided[hit] = False
        else:
            ok = sel[_known_type(numbers, rules)]
            valid[ok] = True
            undecided[ok] = False
    return valid


def _known_type(national: pa.Array, rules: Rules) -> np.ndarray:
    """``_number_type_helper(...) != UNKNOWN``: the general description matches, and so does
    the description of at least one number type."""
    length = _len(national)
    ok = _matches(national, length, rules.general, np.ones(len(national), dtype=bool))
    typed = np.zeros(len(national), dtype=bool)
    for desc in rules.types:
        typed |= _matches(national, length, desc, ok & ~typed)
    return ok & typed


def _matches(national: pa.Array, length: np.ndarray, desc: Any, among: np.ndarray) -> np.ndarray:
    hit = np.zeros(len(national), dtype=bool)
    if desc is None:
        return hit
    if desc.lengths:
        among = among & length_mask(desc.lengths)[np.minimum(length, MAX_LENGTH)]
    sel = np.flatnonzero(among)
    if sel.size:
        hit[sel] = _full(_take(national, sel), desc.pattern)
    return hit


def _library(out: _Out, idx: np.ndarray, text: pa.Array, region: str | None) -> int:
    """The library's own verdict, once per distinct value."""
    if not idx.size:
        return 0
    values = _take(text, idx).to_pylist()
    verdicts = {v: phone_verdict(v, region) for v in dict.fromkeys(values)}
    accepted, numbers = [], []
    for position, value in zip(idx.tolist(), values):
        e164, code, detail = verdicts[value]
        if code is None:
            accepted.append(position)
            numbers.append(e164)
        else:
            out.fail(np.array([position]), _CODE[code], NO_DETAIL if detail is None else detail)
    out.accept(np.asarray(accepted, dtype=np.int64), pa.array(numbers, pa.string()))
    return len(verdicts)
