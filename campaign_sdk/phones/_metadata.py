"""libphonenumber's metadata as the tables the set-wise validator applies (compiled once per region).

Everything here is read from the ``phonenumbers`` package itself (patterns, possible lengths,
prefixes, the regions sharing a calling code), so a new release of the package brings its new
rules with it. Length verdicts are computed by calling the library's own length test.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from phonenumbers import phonenumberutil as pnu
from phonenumbers.phonemetadata import PhoneMetadata

from campaign_sdk.phones._private import length_result

# The number types whose patterns make a number valid (libphonenumber's _number_type_helper).
_TYPES = (
    "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
    "voicemail", "fixed_line", "mobile",
)
MAX_LENGTH = 64  # longer digit strings get the verdict of this length (all far beyond any plan)
COUNTRY_CODES = np.array(sorted(pnu.COUNTRY_CODE_TO_REGION_CODE), dtype=np.int64)

# length_result results under which parse keeps the number with its national prefix.
KEEP_PREFIX = np.array(
    [pnu.ValidationResult.TOO_SHORT, pnu.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
     pnu.ValidationResult.INVALID_LENGTH]
)
TOO_LONG = pnu.ValidationResult.TOO_LONG


@dataclass(frozen=True)
class Desc:
    """One number description: a full-match pattern and the lengths it allows (empty: any)."""

    pattern: str
    lengths: tuple[int, ...]


@dataclass(frozen=True)
class Rules:
    """What parsing and validation need from one region's metadata."""

    region: str
    country_code: int
    metadata: PhoneMetadata
    general: Desc | None
    types: tuple[Desc, ...]
    general_pattern: str | None
    national_prefix: str | None
    transform: str | None
    idd: str | None
    leading_digits: str | None
    length_verdicts: np.ndarray  # length_result(number of that length), index 0..MAX_LENGTH


@cache
def length_mask(lengths: tuple[int, ...]) -> np.ndarray:
    """A lookup table: ``mask[n]`` says whether ``n`` is one of ``lengths`` (n up to MAX_LENGTH)."""
    mask = np.zeros(MAX_LENGTH + 1, dtype=bool)
    mask[[n for n in lengths if 0 <= n <= MAX_LENGTH]] = True
    return mask


def _desc(desc: object) -> Desc | None:
    pattern = getattr(desc, "national_number_pattern", None)
    if not pattern:
        return None
    return Desc(pattern, tuple(getattr(desc, "possible_length", ()) or ()))


def _rules(metadata: PhoneMetadata, region: str) -> Rules:
    types = []
    for name in _TYPES:
        desc = _desc(getattr(metadata, name))
        if desc is not None and desc not in types:
            types.append(desc)
    verdicts = np.array(
        [length_result("5" * n, metadata) for n in range(MAX_LENGTH + 1)], dtype=np.int64
    )
    return Rules(
        region=region,
        country_code=int(metadata.country_code or 0),
        metadata=metadata,
        general=_desc(metadata.general_desc),
        types=tuple(types),
        general_pattern=getattr(metadata.general_desc, "national_number_pattern", None) or None,
        national_prefix=metadata.national_prefix_for_parsing or None,
        transform=metadata.national_prefix_transform_rule or None,
        idd=metadata.international_prefix or None,
        leading_digits=metadata.leading_digits,
        length_verdicts=verdicts,
    )


@cache
def region_rules(region: str) -> Rules:
    """The rules of a supported (geographic) region, for national input."""
    metadata = PhoneMetadata.metadata_for_region(region, None)
    assert metadata is not None, region
    return _rules(metadata, region)


@cache
def main_rules(country_code: int) -> Rules:
    """The rules parse uses for a number whose calling code is ``country_code``."""
    region = pnu.region_code_for_country_code(country_code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    assert metadata is not None, country_code
    return _rules(metadata, region)


@cache
def validity_rules(country_code: int) -> tuple[bool, tuple[Rules, ...]]:
    """The regions ``is_valid_number`` tries for a calling code, in its order. The flag is True
    when the code has one region (then it is used without a leading-digits check)."""
    regions = pnu.COUNTRY_CODE_TO_REGION_CODE[country_code]
    if len(regions) == 1:
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, regions[0].upper())
        return True, (() if metadata is None else (_rules(metadata, regions[0]),))
    found = []
    for region in regions:
        metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
        if metadata is not None:
            found.append(_rules(metadata, region))
    return False, tuple(found)
