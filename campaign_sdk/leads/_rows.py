"""One chunk of input rows -> rows to stage and rejected rows, computed column-wise."""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from campaign_sdk.facts.errors import Code
from campaign_sdk.leads._input import Chunk
from campaign_sdk.phones import normalize_phones
from campaign_sdk.leads._report import REJECTED_COLUMNS, ZONE_COLUMNS

#: The lead variable that names the recipient's time zone (an IANA name), overriding the one
#: libphonenumber gives the number; delivery's plan reads it.
TIMEZONE_VARIABLE = "timezone"

_NOT_PADDED = r"(?s)^[!-~](?:.*[!-~])?$"  # no white space (or anything str.strip removes) at the ends
_JSON_PLAIN = r"^[ !#-\[\]-~]*$"  # printable ASCII without '"' or '\': json.dumps only adds quotes
_USER_ID = r"^\+?[0-9]{1,18}(?:\.0*)?$"


@dataclass(frozen=True)
class Plan:
    """How to read each row: the identity columns present in the input, the variable columns,
    the variables the template needs, the default region and whether lacking ones reject."""

    phone_column: str | None
    user_id_column: str | None
    variables: tuple[str, ...]
    needed: tuple[str, ...]
    region: str | None
    strict: bool

    @property
    def identity_column(self) -> str:
        return self.phone_column or self.user_id_column or "phone_number"


def prepare(chunk: Chunk, offset: int, plan: Plan) -> tuple[pa.Table, pd.DataFrame, pd.DataFrame]:
    """The rows to stage (``row_no, phone, user_id, variables, missing``), the rejections and
    the kept rows whose ``timezone`` is not an IANA zone name (``row, phone_number, value``)."""
    n = len(next(iter(chunk.values()))) if chunk else 0
    rejected = _Rejections(offset)
    keep = np.ones(n, dtype=bool)
    user_ids = np.zeros(n, dtype=np.int64)
    by_id = np.zeros(n, dtype=bool)
    if plan.user_id_column is not None:
        by_id, user_ids, bad = _user_ids(chunk[plan.user_id_column])
        rejected.add(np.flatnonzero(bad), plan.user_id_column, chunk[plan.user_id_column], "invalid_user_id",
                     "a conversation user id is a positive whole number")
        keep &= ~bad
    phones = pa.nulls(n, pa.string())
    by_phone = np.flatnonzero(~by_id)
    if by_phone.size:
        raw = chunk[plan.phone_column] if plan.phone_column else pa.nulls(n, pa.string())
        raw_phones = raw.take(pa.array(by_phone))
        verdicts = normalize_phones(raw_phones, plan.region)
        bad = np.flatnonzero(verdicts.reason != 0)
        values = raw_phones.take(pa.array(bad)).to_pylist()
        rejected.rows(by_phone[bad], plan.identity_column, values, verdicts.codes()[bad].tolist(),
                      verdicts.messages(values, bad))
        keep[by_phone[bad]] = False
        phones = _scatter(phones, by_phone, verdicts.e164)
    values = {name: clean_text(chunk[name]) for name in plan.variables}  # each column cleaned once
    variables, missing = _variables(values, plan, n)
    if plan.strict and plan.needed:
        lacking = keep & (missing != 0)
        for mask in np.unique(missing[lacking]):  # one group per combination of absent variables
            names = [v for k, v in enumerate(plan.needed) if int(mask) >> k & 1]
            rows = np.flatnonzero(lacking & (missing == mask))
            message = (f"the template needs {', '.join(names)}; a send would fail with Twilio error "
                       f"{int(Code.CONTENT_VARIABLES_INVALID)}")
            rejected.rows(rows, ",".join(names), [None] * rows.size, ["missing_variables"] * rows.size,
                          [message] * rows.size)
        keep &= ~lacking
    sel = pa.array(np.flatnonzero(keep))
    staged = pa.table({
        "row_no": pa.array(np.flatnonzero(keep) + offset, pa.int64()),
        "phone": phones.take(sel),
        "user_id": pa.array(user_ids, pa.int64(), mask=~by_id).take(sel),
        "variables": variables.take(sel),
        "missing": pa.array(missing, pa.int64()).take(sel),
    })
    return staged, rejected.frame(), _bad_zones(values, keep, phones, offset)


@cache
def zone_names() -> frozenset[str]:
    """Every IANA zone name this machine knows (the system's database and the ``tzdata``
    package), without ``localtime`` and ``posixrules``: files that are this machine's own zone,
    not a place."""
    return frozenset(available_timezones()) - {"localtime", "posixrules"}


@lru_cache(maxsize=4096)
def iana_zone(name: str) -> ZoneInfo | None:
    """The IANA time zone ``name`` (exactly as written, e.g. ``"America/New_York"``), or None
    when it names none. The name must be one of :func:`zone_names`, so that a differently cased
    one (``"europe/paris"``) is refused everywhere, also where the file system would find its
    file (macOS, Windows): see :func:`zone_suggestion`.

    >>> iana_zone("Europe/Paris").key, iana_zone("Mars/Base"), iana_zone(" UTC"), iana_zone("europe/paris")
    ('Europe/Paris', None, None, None)
    """
    if not name or name not in zone_names():
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


@cache
def _folded_zone_names() -> dict[str, str]:
    """:func:`zone_names` by their case-folded spelling (made once, not per wrong value)."""
    return {z.casefold(): z for z in zone_names()}


@lru_cache(maxsize=4096)
def zone_suggestion(name: str) -> str | None:
    """The zone a wrong ``timezone`` value probably means: the one it names in other case or
    with other spaces, else the closest name (difflib, similarity 0.8 or more), else None.

    >>> zone_suggestion("europe/paris"), zone_suggestion("Europe/Berlni"), zone_suggestion("Mars/Base")
    ('Europe/Paris', 'Europe/Berlin', None)
    """
    folded = _folded_zone_names()
    key = "_".join(name.split()).casefold()
    if key in folded:
        return folded[key]
    close = difflib.get_close_matches(key, list(folded), n=1, cutoff=0.8)
    return folded[close[0]] if close else None


def _bad_zones(values: dict[str, pa.Array], keep: np.ndarray, phones: pa.Array, offset: int) -> pd.DataFrame:
    if TIMEZONE_VARIABLE not in values:
        return pd.DataFrame(columns=ZONE_COLUMNS)
    names = values[TIMEZONE_VARIABLE].dictionary_encode()  # a few distinct names: check each once
    valid = np.array([iana_zone(v) is not None for v in names.dictionary.to_pylist()] + [True], dtype=bool)
    codes = np.asarray(names.indices.fill_null(len(names.dictionary)).to_numpy(zero_copy_only=False))
    rows = np.flatnonzero(keep & ~valid[codes])
    values_ = names.take(pa.array(rows)).to_pylist()
    return pd.DataFrame({
        "row": rows + offset, "phone_number": pd.Series(phones.take(pa.array(rows)).to_pylist(), dtype=object),
        "value": pd.Series(values_, dtype=object),
        "suggestion": pd.Series([zone_suggestion(v) for v in values_], dtype=object),
    }, columns=ZONE_COLUMNS)


class _Rejections:
    def __init__(self, offset: int) -> None:
        self.offset = offset
        self.parts: list[pd.DataFrame] = []

    def add(self, positions: np.ndarray, column: str, raw: pa.Array, reason: str, message: str) -> None:
        if positions.size:
            values = raw.take(pa.array(positions)).to_pylist()
            self.rows(positions, column, values, [reason] * positions.size, [message] * positions.size)

    def rows(self, positions: np.ndarray, column: str, values: Sequence[object], reasons: Sequence[str],
             messages: Sequence[str]) -> None:
        if len(positions):
            self.parts.append(pd.DataFrame({
                "row": positions + self.offset, "column": column, "value": pd.Series(list(values), dtype=object),
                "reason": pd.Series(list(reasons), dtype=object), "message": pd.Series(list(messages), dtype=object),
            }))

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in REJECTED_COLUMNS})
        return pd.concat(self.parts, ignore_index=True)[REJECTED_COLUMNS]


def _user_ids(raw: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which rows name a user id, the ids, and which of those are not positive whole numbers."""
    text = clean_text(raw)
    given = _np(text.is_valid())
    shaped = given & _np(pc.fill_null(pc.match_substring_regex(text, _USER_ID), False))
    ids = np.zeros(len(raw), dtype=np.int64)
    sel = np.flatnonzero(shaped)
    if sel.size:
        digits = pc.replace_substring_regex(text.take(pa.array(sel)), r"^\+|\.0*$", "")
        ids[sel] = _np(pc.cast(digits, pa.int64()))
    good = shaped & (ids > 0)
    return given, ids, given & ~good


def _variables(values: dict[str, pa.Array], plan: Plan, n: int) -> tuple[pa.Array, np.ndarray]:
    """Each row's custom variables as JSON object text (missing values left out, exactly as
    ``json.dumps`` writes the dict) and a bit mask of the template variables it lacks."""
    pieces, present = [], {}
    for name in plan.variables:
        value = values[name]
        present[name] = _np(value.is_valid())
        pieces.append(pc.binary_join_element_wise(pa.scalar(f", {json.dumps(name)}: "), json_text(value), ""))
    missing = np.zeros(n, dtype=np.int64)
    for bit, name in enumerate(plan.needed):
        lacks = ~present[name] if name in present else np.ones(n, dtype=bool)
        missing |= lacks.astype(np.int64) << bit
    if not pieces:
        return pa.array(["{}"] * n, pa.string()), missing
    body = pc.binary_join_element_wise(*pieces, "", null_handling="replace", null_replacement="")
    text = pc.binary_join_element_wise("{", pc.utf8_slice_codeunits(body, 2), "}", "")
    return text, missing


def clean_text(values: pa.Array) -> pa.Array:
    """``str.strip()`` of every value; empty results become null (missing)."""
    padded = np.flatnonzero(_np(values.is_valid()) & ~_np(pc.fill_null(pc.match_substring_regex(values, _NOT_PADDED), False)))
    if not padded.size:
        return values
    fixed = [v.strip() or None for v in values.take(pa.array(padded)).to_pylist()]
    return _scatter(values, padded, pa.array(fixed, pa.string()))


def json_text(values: pa.Array) -> pa.Array:
    """``json.dumps(value)`` of every string (null stays null)."""
    quoted = pc.binary_join_element_wise('"', values, '"', "")
    odd = np.flatnonzero(_np(values.is_valid()) & ~_np(pc.fill_null(pc.match_substring_regex(values, _JSON_PLAIN), False)))
    if not odd.size:
        return quoted
    encoded = values.take(pa.array(odd)).dictionary_encode()  # names and cities repeat: dump each once
    dumped = pa.array([json.dumps(v) for v in encoded.dictionary.to_pylist()], pa.string())
    return _scatter(quoted, odd, dumped.take(encoded.indices))


def _scatter(values: pa.Array, positions: np.ndarray, new: pa.Array) -> pa.Array:
    """``values`` with the entries at ``positions`` replaced by ``new``."""
    others = np.setdiff1d(np.arange(len(values)), positions, assume_unique=True)
    order = np.concatenate([others, positions])
    where = np.empty(len(values), dtype=np.int64)
    where[order] = np.arange(len(values))
    joined = pa.concat_arrays([values.take(pa.array(others)).cast(pa.string()), new.cast(pa.string())])
    return joined.take(pa.array(where))


def _np(array: pa.Array) -> np.ndarray:
    return np.asarray(array.to_numpy(zero_copy_only=False))
