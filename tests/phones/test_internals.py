"""The private phonenumbers helpers behind the set-wise path are checked at import, and when they
do not behave as expected every value takes the library's path: the same verdicts, slower."""

from __future__ import annotations

import re
import sys

import pytest
from phonenumbers import phonenumberutil as pnu

from campaign_sdk.phones import _bulk, _private, normalize_phones, phone_text
from campaign_sdk.phones._private import InternalsCheck, check_internals
from campaign_sdk.phones._scalar import PREFIX_PATTERN, WHITESPACE

from .test_phones import assert_agrees

MIXED = ["+14155552671", "(415) 555-2672", "whatsapp:+44 20 7946 0958", "011 44 20 7946 0959", "12", "",
         None, "n/a", "+999 1234", "+4929141777631706", "0 11 15 1234 5678", "1-800-FLOWERS", "٤١٥٥٥٥٢٦٧١"]


def test_the_installed_phonenumbers_passes_the_check() -> None:
    assert _private.SET_WISE == InternalsCheck(True)
    assert normalize_phones(["+14155552671", "(415) 555-2672"], "US").fallback == 0


@pytest.mark.parametrize("name", ["_test_number_length", "_maybe_strip_national_prefix_carrier_code",
                                  "_MIN_LENGTH_FOR_NSN", "_MAX_LENGTH_FOR_NSN", "_MAX_INPUT_STRING_LENGTH"])
def test_a_missing_internal_fails_the_check(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.delattr(pnu, name)
    check = check_internals()
    assert not check.ok and name in (check.problem or "")


def test_an_internal_that_answers_differently_fails_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pnu, "_test_number_length", lambda number, metadata: pnu.ValidationResult.IS_POSSIBLE)
    check = check_internals()
    assert not check.ok and "returned" in (check.problem or "") and "expected" in (check.problem or "")
    monkeypatch.undo()
    monkeypatch.setattr(pnu, "_maybe_strip_national_prefix_carrier_code", lambda number, metadata: ("", number))
    assert not check_internals().ok


@pytest.mark.parametrize("region", [None, "US", "GB", "AR"])
def test_the_fallback_reaches_the_same_verdicts(monkeypatch: pytest.MonkeyPatch, region: str | None) -> None:
    fast = normalize_phones(MIXED, region)
    monkeypatch.setattr(_private, "SET_WISE", InternalsCheck(False, "forced by the test"))
    slow = normalize_phones(MIXED, region)
    assert slow.fallback == len({v for v in MIXED if v is not None})  # every value went to the library
    assert slow.e164.to_pylist() == fast.e164.to_pylist()
    assert list(slow.codes()) == list(fast.codes()) and slow.detail.tolist() == fast.detail.tolist()
    assert_agrees(MIXED, region)


def test_the_module_falls_back_at_import_when_the_check_fails(monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    import campaign_sdk.phones as package

    monkeypatch.delattr(pnu, "_test_number_length")
    monkeypatch.setattr(package, "_private", _private)  # restored afterwards, like sys.modules
    for name in [m for m in sys.modules if m.startswith("campaign_sdk.phones._private")]:
        monkeypatch.delitem(sys.modules, name)
    import campaign_sdk.phones._private as reloaded

    assert not reloaded.SET_WISE.ok and "one by one" in caplog.text
    assert reloaded is not _private and _bulk._private is _private  # the loaded package is untouched


def test_one_prefix_pattern_for_both_paths() -> None:
    everything = "".join(map(chr, range(sys.maxunicode + 1)))
    assert re.findall(WHITESPACE, everything) == [c for c in everything if c.isspace()] == re.findall(r"\s", everything)
    assert re.match(PREFIX_PATTERN, "\u00a0WhatsApp:\u2003+1").group() == "\u00a0WhatsApp:\u2003"
    assert phone_text(" Tel:\t0044 20 7946 0958") == ("+44 20 7946 0958", True)
    assert_agrees([" WHATSAPP: +14155552671", "\tsms:4155552671 ", "tel:+1 415 555 2671"], "US")
    assert "_PREFIX_RE" not in vars(_bulk) and "_WS" not in vars(_bulk)
