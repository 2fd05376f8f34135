"""Regenerate data/sample_leads.csv (deterministic): `python data/make_sample_leads.py`.

About 3,000 rows of US leads in the formats real exports contain (E.164, national with
punctuation, 00-prefixed, whatsapp: prefixed), a few UK and Mexican numbers, a few duplicates
and a few bad rows (too short, letters, empty, invalid area code).
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import phonenumbers

OUT = Path(__file__).with_name("sample_leads.csv")
NAMES = ["Ana", "Ben", "Chloe", "Diego", "Emma", "Farah", "Gus", "Hana", "Ivan", "Jade", "Kofi", "Lena"]
CITIES = ["Austin", "Boston", "Chicago", "Denver", "Miami", "Seattle"]
US_AREAS = ["212", "305", "312", "415", "512", "617", "720", "206"]


def _valid(region: str, make) -> str:
    while True:
        number = make()
        if phonenumbers.is_valid_number(phonenumbers.parse(number, region)):
            return number


def main(rows: int = 3000, seed: int = 7) -> None:
    rng = random.Random(seed)
    records = []
    for i in range(rows):
        digits = _valid("US", lambda: f"+1{rng.choice(US_AREAS)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}")
        national = digits[2:]
        shape = rng.random()
        if shape < 0.6:
            phone = digits
        elif shape < 0.75:
            phone = f"({national[:3]}) {national[3:6]}-{national[6:]}"
        elif shape < 0.85:
            phone = f"{national[:3]}.{national[3:6]}.{national[6:]}"
        elif shape < 0.9:
            phone = f"whatsapp:{digits}"
        elif shape < 0.95:
            phone = "00" + digits[1:]
        elif shape < 0.975:
            phone = _valid("GB", lambda: f"+447{rng.randint(100000000, 999999999)}")
        else:
            phone = _valid("MX", lambda: f"+5255{rng.randint(10000000, 99999999)}")
        records.append(
            {
                "phone_number": phone,
                "lead_name": rng.choice(NAMES),
                "city": rng.choice(CITIES),
                "order_id": f"A{10000 + i}",
                "variant": rng.choice(["A", "B"]),
            }
        )
    for i in rng.sample(range(rows), 30):  # duplicates of earlier leads with newer variables
        records.append({**records[i], "order_id": f"A{20000 + i}"})
    bad = ["12345", "call me", "", "+1 000 555 0100", "(999) 123-4567", "+44 20", "++1415"]
    for i, phone in enumerate(bad * 2):
        records.append({"phone_number": phone, "lead_name": "Bad", "city": "Nowhere",
                        "order_id": f"X{i}", "variant": "A"})
    rng.shuffle(records)
    with OUT.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    print(f"wrote {len(records)} rows to {OUT}")


if __name__ == "__main__":
    main()
