"""SMS segments: GSM-7 160/153, UCS-2 70/67, extension characters count two, nothing straddles."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaign_sdk.delivery import sms_segments
from campaign_sdk.delivery._render import features_sql, segments_sql, size_sql


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


def _sql_segments(texts: list[str], split: int) -> list[tuple[str, int, int, bool]]:
    """The plan's SQL count over ``texts`` cut into literal / value / literal at ``split``."""
    con = duckdb.connect()
    rows = pd.DataFrame({"v0": [t[split:split + 20] for t in texts]})
    literals = [[t[:split], t[split + 20:]] for t in texts]
    out = []
    for (head, tail), value in zip(literals, rows["v0"]):
        con.register("one", pd.DataFrame({"v0": [value]}))
        is_gsm, units, doubles = size_sql([head, tail])
        encoding, segments, exact = segments_sql("is_gsm", "units", "doubles")
        query = (f"SELECT {encoding}, units, {segments}, {exact} FROM (SELECT *, {is_gsm} AS is_gsm, "
                 f"{units} AS units, {doubles} AS doubles FROM (SELECT *, {features_sql('v0')} FROM one))")
        out.append(con.execute(query).fetchone())
    return out


_ALPHABET = st.sampled_from(list("abc XYZ019.,!?@£$¥èéùìòÇØøÅåΔΦΓ") + list("€[]{}^~|\\") + ["ж", "中", "😀", "ç"])


@settings(max_examples=120, deadline=None)
@given(text=st.lists(_ALPHABET, min_size=0, max_size=400).map("".join), split=st.integers(0, 60))
def test_the_plans_sql_count_agrees_with_the_python_count(text: str, split: int) -> None:
    expected = sms_segments(text)
    encoding, units, segments, exact = _sql_segments([text], min(split, len(text)))[0]
    assert (encoding, units) == (expected.encoding, expected.units)
    if exact:
        assert segments == expected.segments
    else:  # the plan recounts these with sms_segments
        assert segments <= expected.segments
