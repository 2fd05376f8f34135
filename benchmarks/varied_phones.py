"""Varied phone strings for checking agreement with libphonenumber (deterministic).

Mutated example numbers of every region in E.164 / international / national / ``00`` forms,
random digit runs behind ``+``, ``00``, IDD and trunk prefixes and real calling codes, odd
punctuation, ``whatsapp:`` / ``tel:`` prefixes, letters, non-ASCII digits and white space,
each group read with one of 60 default regions (or none).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import phonenumbers
from phonenumbers import phonenumberutil as pnu

_TYPES = [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE,
          phonenumbers.PhoneNumberType.TOLL_FREE, phonenumbers.PhoneNumberType.PREMIUM_RATE,
          phonenumbers.PhoneNumberType.VOIP, phonenumbers.PhoneNumberType.UAN]
_PUNCT = [" ", "-", ".", "(", ")", "", "", "/", "\u00a0"]
_PREFIXES = ["+", "00", "", "", "whatsapp:", " tel: ", "WhatsApp: +", "sms:", "011", "810", "0011", "1", "8", "0"]
_ODD = "0123456789+-(). x#*/abcSMSwhatsapp:\t٣٤５"


def _examples() -> list[tuple[int, str]]:
    found = []
    for region in sorted(pnu.SUPPORTED_REGIONS):
        for kind in _TYPES:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                found.append((number.country_code, str(number.national_number)))
    for cc in sorted(pnu.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        number = phonenumbers.example_number_for_non_geo_entity(cc)
        if number is not None:
            found.append((cc, str(number.national_number)))
    return found


def _punctuate(rng: random.Random, digits: str, rate: float) -> str:
    return "".join((rng.choice(_PUNCT) if rng.random() < rate else "") + d for d in digits)


def _one(rng: random.Random, examples: list[tuple[int, str]], codes: list[int]) -> str:
    r = rng.random()
    if r < 0.45:  # a mutated real number
        cc, national = rng.choice(examples)
        keep = len(national) - rng.randint(0, min(5, len(national)))
        national = national[:keep] + "".join(rng.choice("0123456789") for _ in range(len(national) - keep))
        if rng.random() < 0.15:
            national = national[:-1] if rng.random() < 0.5 else national + rng.choice("0123456789")
        shape = rng.random()
        if shape < 0.35:
            return _punctuate(rng, f"+{cc}{national}", 0.2)
        if shape < 0.45:
            return _punctuate(rng, f"00{cc}{national}", 0.2)
        if shape < 0.6:
            try:
                parsed = phonenumbers.parse(f"+{cc}{national}")
                kind = rng.choice([phonenumbers.PhoneNumberFormat.NATIONAL, phonenumbers.PhoneNumberFormat.INTERNATIONAL])
                return phonenumbers.format_number(parsed, kind)
            except phonenumbers.NumberParseException:
                return national
        if shape < 0.75:
            return _punctuate(rng, f"{cc}{national}", 0.2)
        return _punctuate(rng, ("0" if rng.random() < 0.5 else "") + national, 0.2)
    if r < 0.85:  # digit runs behind prefixes and calling codes
        body = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 19)))
        head = rng.choice(_PREFIXES) + (str(rng.choice(codes)) if rng.random() < 0.5 else "")
        return _punctuate(rng, head + body, 0.15)
    return "".join(rng.choice(_ODD) for _ in range(rng.randint(0, 18)))  # anything goes


def varied_phone_strings(total: int, *, seed: int = 17, groups: int = 60) -> Iterator[tuple[str | None, list[str]]]:
    """``groups`` batches of about ``total / groups`` strings, each with its default region."""
    rng = random.Random(seed)
    examples = _examples()
    codes = sorted(pnu.COUNTRY_CODE_TO_REGION_CODE)
    regions: list[str | None] = [None, "US", "GB", "AR", "BR", "JP", "AG", "CA", "RU", "KZ", "IT", "DE", "MX", "IN"]
    regions += rng.sample(sorted(pnu.SUPPORTED_REGIONS - set(regions)), groups - len(regions))
    for i, region in enumerate(regions):
        size = total // groups + (1 if i < total % groups else 0)
        yield region, [_one(rng, examples, codes) for _ in range(size)]
