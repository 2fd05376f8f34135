"""The private parts of ``phonenumbers`` that the set-wise path reuses, in one place, checked at import.

The set-wise validator (:mod:`campaign_sdk.phones._bulk`) repeats ``parse``'s own steps, so it needs
a few of the library's private helpers and constants. They are not a public API: pyproject.toml pins
the range of releases the agreement tests ran on, and :func:`check_internals` verifies at import
that each still exists and answers known inputs as expected. If any does not,
:data:`SET_WISE` says so and ``normalize_phones`` takes the library's path for every value: the
same verdicts, only slower.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from phonenumbers import phonenumberutil as pnu
from phonenumbers.phonemetadata import PhoneMetadata

# phonenumberutil's length rules for a national significant number, and parse's input limit.
MIN_LENGTH_FOR_NSN: int = getattr(pnu, "_MIN_LENGTH_FOR_NSN", 2)
MAX_LENGTH_FOR_NSN: int = getattr(pnu, "_MAX_LENGTH_FOR_NSN", 17)
MAX_INPUT_STRING_LENGTH: int = getattr(pnu, "_MAX_INPUT_STRING_LENGTH", 250)


@dataclass(frozen=True)
class InternalsCheck:
    """Whether the set-wise path may run (``ok``), and if not, which internal failed and how."""

    ok: bool
    problem: str | None = None


def length_result(number: str, metadata: PhoneMetadata) -> Any:
    """libphonenumber's ``_test_number_length``: a ``ValidationResult`` for a number's length."""
    return pnu._test_number_length(number, metadata)


def strip_national_prefix(number: str, metadata: PhoneMetadata) -> str:
    """The number ``_maybe_strip_national_prefix_carrier_code`` leaves (prefix and carrier gone)."""
    return str(pnu._maybe_strip_national_prefix_carrier_code(number, metadata)[1])


def _expect(label: str, call: Callable[[], object], expected: object) -> str | None:
    try:
        got = call()
    except Exception as exc:  # noqa: BLE001 - any failure of a private helper means: do not use it
        return f"{label} raised {type(exc).__name__}: {exc}"
    return None if got == expected else f"{label} returned {got!r}, expected {expected!r}"


def check_internals() -> InternalsCheck:
    """Check every private name the set-wise path uses against answers known from the library."""
    for name, value in (("_MIN_LENGTH_FOR_NSN", 2), ("_MAX_LENGTH_FOR_NSN", 17), ("_MAX_INPUT_STRING_LENGTH", 250)):
        if getattr(pnu, name, None) != value:
            return InternalsCheck(False, f"phonenumbers.phonenumberutil.{name} is {getattr(pnu, name, None)!r}, "
                                         f"expected {value}")
    us, gb, ar = (PhoneMetadata.metadata_for_region(r, None) for r in ("US", "GB", "AR"))  # AR rewrites digits
    if us is None or gb is None or ar is None:
        return InternalsCheck(False, "phonenumbers has no metadata for US, GB or AR")
    checks = (
        ("_test_number_length('2015550123', US)", lambda: length_result("2015550123", us),
         pnu.ValidationResult.IS_POSSIBLE),
        ("_test_number_length('2' * 20, US)", lambda: length_result("2" * 20, us), pnu.ValidationResult.TOO_LONG),
        ("_test_number_length('201', US)", lambda: length_result("201", us), pnu.ValidationResult.TOO_SHORT),
        ("_maybe_strip_national_prefix_carrier_code('02079460958', GB)",
         lambda: strip_national_prefix("02079460958", gb), "2079460958"),
        ("_maybe_strip_national_prefix_carrier_code('2079460958', GB)",
         lambda: strip_national_prefix("2079460958", gb), "2079460958"),
        ("_maybe_strip_national_prefix_carrier_code('0111515555555', AR)",
         lambda: strip_national_prefix("0111515555555", ar), "91115555555"),
    )
    for label, call, expected in checks:
        problem = _expect(label, call, expected)
        if problem is not None:
            return InternalsCheck(False, problem)
    return InternalsCheck(True)


SET_WISE = check_internals()
if not SET_WISE.ok:
    logging.getLogger("campaign_sdk.phones").warning(
        "phonenumbers' internals changed (%s): phone numbers are checked one by one (same verdicts, slower)",
        SET_WISE.problem,
    )
