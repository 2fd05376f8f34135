"""SMS segments: GSM-7 160/153, UCS-2 70/67, extension characters count two, nothing straddles."""

from __future__ import annotations

import functools

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaign_sdk.delivery import sms_segments
from campaign_sdk.delivery._render import (
    LeadTemplate,
    features_sql,
    literal_size,
    segments_sql,
    size_sql,
)


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),  # 2 x 153
        ("a" * 307, "GSM-7", 307, 3),
        ("ж" * 70, "UCS-2", 70, 1),
        ("ж" * 71, "UCS-2", 71, 2),
        ("ж" * 134, "UCS-2", 134, 2),  # 2 x 67
        ("ж" * 135, "UCS-2", 135, 3),
        ("€" * 80, "GSM-7", 160, 1),  # extension characters take two septets
        ("€" * 80 + "a", "GSM-7", 161, 2),
        ("{}[]~^|\\" * 10, "GSM-7", 160, 1),
        ("a" * 159 + "€", "GSM-7", 161, 2),
        ("éàüñ" * 40, "GSM-7", 160, 1),  # accented letters of the GSM table
        ("ç" * 70, "UCS-2", 70, 1),  # only the capital Ç is in the GSM table
        ("😀" * 35, "UCS-2", 70, 1),  # beyond the BMP: two UTF-16 units each
        ("😀" * 35 + "a", "UCS-2", 71, 2),
        ("", "GSM-7", 0, 1),
    ],
)
def test_segments_at_the_limits(text: str, encoding: str, units: int, segments: int) -> None:
    assert sms_segments(text) == (encoding, units, segments)


def test_a_two_septet_character_never_straddles_two_segments() -> None:
    # 152 + 2 + 152 = 306 septets fit 2 x 153 on paper, but the euro cannot be split: 3 segments
    assert sms_segments("a" * 152 + "€" + "a" * 152).segments == 3
    # a surrogate pair is not split either: 66 + 2 + 66 = 134 units, 3 segments of 67
    assert sms_segments("ж" * 66 + "😀" + "ж" * 66).segments == 3


@functools.cache
def _duckdb() -> duckdb.DuckDBPyConnection:
    """One in-memory database for the module (opening one costs ~20 ms of CPU, which the hypothesis
    test paid per example); each query registers its own ``one`` again."""
    return duckdb.connect()


def _sql_segments(text: str, split: int) -> tuple[str, int, int, bool]:
    """The plan's SQL count of ``text`` rendered from a template literal / value / literal,
    the value being ``text[split:split + 20]``."""
    value = text[split:split + 20]
    template = LeadTemplate((text[:split], text[split + 20:]), ("v",), ("v",), None, (), 1024)
    con = _duckdb()
    con.register("one", pd.DataFrame({"v": [value]}))
    lit = [str(x).lower() for x in literal_size(template)]
    is_gsm, chars, doubles = size_sql("vv", *lit)
    encoding, segments, exact = segments_sql("is_gsm", "chars", "doubles")
    query = (f"SELECT {encoding}, chars + doubles, {segments}, {exact} FROM (SELECT *, {is_gsm} AS is_gsm, "
             f"{chars} AS chars, {doubles} AS doubles FROM (SELECT *, {features_sql('vv')} FROM "
             f"(SELECT v AS vv FROM one)))")
    [row] = con.execute(query).fetchall()  # fetched to the end: the connection serves the next query
    return row


_ALPHABET = st.sampled_from(list("abc XYZ019.,!?@£$¥èéùìòÇØøÅåΔΦΓ") + list("€[]{}^~|\\") + ["ж", "中", "😀", "ç"])


@settings(max_examples=120, deadline=None)
@given(text=st.lists(_ALPHABET, min_size=0, max_size=400).map("".join), split=st.integers(0, 60))
def test_the_plans_sql_count_agrees_with_the_python_count(text: str, split: int) -> None:
    expected = sms_segments(text)
    encoding, units, segments, exact = _sql_segments(text, min(split, len(text)))
    assert (encoding, units) == (expected.encoding, expected.units)
    if exact:
        assert segments == expected.segments
    else:  # the plan recounts these with sms_segments
        assert segments <= expected.segments


def test_the_gsm_tables_are_every_character_the_codec_encodes_in_one_or_two_septets() -> None:
    import gsm0338  # noqa: F401  (the codec)

    from campaign_sdk.delivery._segments import CODEC, gsm_tables

    basic, extension = [], []
    for code in range(0x2100):  # every GSM character is below U+2100
        char = chr(code)
        try:
            encoded = char.encode(CODEC)
        except UnicodeEncodeError:
            continue
        if char != "\x1b":
            (basic if len(encoded) == 1 else extension).append(char)
    assert gsm_tables() == ("".join(basic), "".join(extension))
    assert extension == list("\x0c[\\]^{|}~€") and len(basic) == 127
