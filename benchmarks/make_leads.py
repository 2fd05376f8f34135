"""Generate the lead-loading benchmark input (deterministic).

    python benchmarks/make_leads.py /tmp/leads.csv [--rows 1000000] [--parquet]

The mix the issue asks for: about 70% E.164 numbers for the default region (US; some with a
``whatsapp:`` prefix), 20% national US formats with punctuation and the trunk prefix, 5% other
countries' international formats (``+`` or ``00``), 3% invalid values and 2% duplicates of earlier
rows (same person, other variables: the last row wins), plus three custom variable columns
(``lead_name``, ``order_id``, ``city``) with a few missing and non-ASCII values.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import pandas as pd
import phonenumbers

REGION = "US"
NAMES = ["Ana", "Ben", "Chloé", "Diego", "Emma", "Farah", "Gus", "Hana", "Iván", "Jade", "Kofi", "Lena",
         "O'Brien", 'Zoë "Z"', "Łukasz", "Mia"]
CITIES = ["Austin", "Boston", "Chicago", "Denver", "Miami", "Seattle", "São Paulo", "Zürich"]
ABROAD = ["GB", "DE", "FR", "MX", "BR", "AR", "IN", "ES", "IT", "JP", "AU", "NG", "ZA", "PH", "CA", "NL"]
INVALID = ["12345", "555-0100", "+1 (123) 456-7890", "n/a", "unknown", "", "+999 12345678", "+44 1234",
           "0000000000", "+1 415 555 26711 123", "tel:", "415-555-CALL-ME", "+1 800 FLOWERS", "-"]


def us_area_codes() -> list[str]:
    """Area codes whose numbers libphonenumber accepts for any exchange (checked on a few)."""
    rng = random.Random(0)
    good = []
    for npa in range(200, 1000):
        probes = (f"+1{npa}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}" for _ in range(6))
        if all(phonenumbers.is_valid_number(phonenumbers.parse(p)) for p in probes):
            good.append(str(npa))
    return good


def abroad_pool(rng: random.Random, per_region: int = 3000) -> list[str]:
    """Distinct valid numbers of other countries, in international format (+ or 00)."""
    pool = []
    for region in ABROAD:
        example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        digits = str(example.national_number)
        seen: set[str] = set()
        for tail in rng.sample(range(10000), per_region):
            number = phonenumbers.parse(f"+{example.country_code}{digits[:-4]}{tail:04d}")
            if phonenumbers.is_valid_number(number) and str(number.national_number) not in seen:
                seen.add(str(number.national_number))
                text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
                pool.append(text if rng.random() < 0.7 else "00" + text[1:])
    rng.shuffle(pool)
    return pool


def _national(rng: random.Random, npa: str, nxx: int, line: int) -> str:
    shape = rng.randrange(6)
    if shape == 0:
        return f"({npa}) {nxx}-{line:04d}"
    if shape == 1:
        return f"{npa}.{nxx}.{line:04d}"
    if shape == 2:
        return f"{npa}-{nxx}-{line:04d}"
    if shape == 3:
        return f"1-{npa}-{nxx}-{line:04d}"
    if shape == 4:
        return f"1 ({npa}) {nxx} {line:04d}"
    return f"{npa} {nxx} {line:04d}"


def generate(rows: int = 1_000_000, seed: int = 11) -> pd.DataFrame:
    rng = random.Random(seed)
    areas = us_area_codes()
    abroad = abroad_pool(rng)
    phones: list[str] = []
    for _ in range(rows):
        r = rng.random()
        if r < 0.02 and phones:  # a duplicate of an earlier row
            phones.append(phones[rng.randrange(len(phones))])
            continue
        npa, nxx, line = rng.choice(areas), rng.randint(200, 999), rng.randint(0, 9999)
        if r < 0.72:
            e164 = f"+1{npa}{nxx}{line:04d}"
            phones.append(f"whatsapp:{e164}" if r < 0.06 else e164)
        elif r < 0.92:
            phones.append(_national(rng, npa, nxx, line))
        elif r < 0.97:
            phones.append(abroad.pop() if abroad else f"+44 7{rng.randint(100000000, 999999999)}")
        else:
            phones.append(rng.choice(INVALID))
    names = [None if rng.random() < 0.02 else rng.choice(NAMES) for _ in range(rows)]
    orders = [f"A{rng.randint(10000, 99999)}" if rng.random() > 0.01 else "" for _ in range(rows)]
    cities = [rng.choice(CITIES) if rng.random() > 0.05 else None for _ in range(rows)]
    return pd.DataFrame({"phone_number": phones, "lead_name": names, "order_id": orders, "city": cities})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--parquet", action="store_true", help="also write <path>.parquet")
    args = parser.parse_args()
    frame = generate(args.rows)
    frame.to_csv(args.path, index=False)
    if args.parquet:
        frame.to_parquet(args.path.with_suffix(".parquet"), index=False)
    print(f"wrote {len(frame):,} rows to {args.path}")


if __name__ == "__main__":
    main()
