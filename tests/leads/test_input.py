"""Reading lead input: every column as text, missing values as None."""

from __future__ import annotations

import math

import pandas as pd

from campaign_sdk.leads import read_input


def test_csv_keeps_text_as_written_and_reads_na_markers_as_missing(tmp_path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text('phone_number,zip,note\n+14155552671,02134,NA\n004420,00501,"a, ""b"""\n,,\n')
    frame = read_input(str(path))
    assert frame.to_dict("records") == [
        {"phone_number": "+14155552671", "zip": "02134", "note": None},
        {"phone_number": "004420", "zip": "00501", "note": 'a, "b"'},
        {"phone_number": None, "zip": None, "note": None},
    ]


def test_frames_become_text_with_none_for_missing() -> None:
    frame = read_input(pd.DataFrame({"phone_number": ["+1", None], "n": [1.5, math.nan], "i": [7, 8]}))
    assert frame.to_dict("records") == [
        {"phone_number": "+1", "n": "1.5", "i": "7"},
        {"phone_number": None, "n": None, "i": "8"},
    ]
