"""``last_per_phone``: the in-memory deduplication of a load (integer keys for E.164 text)."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from campaign_sdk.service._leads import last_per_phone

# E.164 text as the validator writes it: '+', a non-zero digit, up to 15 digits in all. Short
# alphabets make shared prefixes, zero padding and repeats common.
e164 = st.builds(lambda first, rest: f"+{first}{rest}", st.sampled_from("129"),
                 st.text(alphabet="019", max_size=14))


@settings(max_examples=300, deadline=None)
@given(st.lists(e164, min_size=1, max_size=60), st.randoms(use_true_random=False))
def test_last_row_per_phone_in_text_order(phones: list[str], random) -> None:
    rows = list(range(len(phones)))
    random.shuffle(rows)  # input order is not row order in general
    table = pa.table({
        "row_no": pa.array(rows, pa.int64()), "phone": phones,
        "variables": [f'{{"row": "{r}"}}' for r in rows], "missing": pa.array([r % 3 for r in rows], pa.int64()),
    })
    winners, losers = last_per_phone(table)

    expected_last = {}
    for row, phone in zip(rows, phones):
        expected_last[phone] = max(row, expected_last.get(phone, -1))
    assert winners.column("phone").to_pylist() == sorted(expected_last)  # exactly the text order
    assert winners.column("row_no").to_pylist() == [expected_last[p] for p in sorted(expected_last)]
    assert winners.column("variables").to_pylist() == [f'{{"row": "{expected_last[p]}"}}' for p in sorted(expected_last)]
    assert winners.column("missing").to_pylist() == [expected_last[p] % 3 for p in sorted(expected_last)]
    assert sorted(losers) == sorted(
        (row, expected_last[phone], phone) for row, phone in zip(rows, phones) if row != expected_last[phone]
    )


def test_numbers_that_differ_only_by_trailing_zeros_stay_apart() -> None:
    phones = ["+1", "+10", "+100000000000000", "+10000000000000", "+2"]
    table = pa.table({"row_no": pa.array(range(5), pa.int64()), "phone": phones,
                      "variables": ["{}"] * 5, "missing": pa.array([0] * 5, pa.int64())})
    winners, losers = last_per_phone(table)
    assert winners.column("phone").to_pylist() == sorted(phones)
    assert losers == []
