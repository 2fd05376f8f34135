"""Recipient time zones, computed set-wise: libphonenumber's zones for each phone number, unless
the lead's ``timezone`` variable names one (an IANA name).

Each lead's zones and region are exactly :func:`number_zones` of its phone (:func:`_lookup`:
``phonenumbers.parse``, ``timezone.time_zones_for_number`` and ``region_code_for_number``),
whatever other numbers the source holds. DuckDB finds the distinct numbers and joins each lead to
its number's place. To save Python calls, numbers are looked up once per *signature*, all that
libphonenumber's answer reads (:mod:`._zone_blocks`: the calling code, the length, which of the
patterns it consults match, the zones of the longest time-zone prefix), found for blocks of numbers
of one length sharing a prefix when it is proven that every one of them has it (each pattern, as
an automaton, matches all of the block's numbers or none, and no longer time-zone prefix starts
inside it); any other number is looked up on its own. (A block is never judged by its ends: a
Guernsey mobile, +44 7781, lies between two UK ones, +44 7780 and 7782.)

libphonenumber gives a number that is not geographic for its calling code every zone of that
code: a Jamaican (+1 876) or Bahamian mobile gets all 42 zones of +1, Guam to Pago Pago; a UK
mobile London, Guernsey, Jersey and the Isle of Man. When the number's region is known, its zones
are narrowed to those the IANA database (``zone.tab`` of the ``tzdata`` package) lists for that
region (Jamaica: America/Jamaica; GB: Europe/London); when none of them is in libphonenumber's
list, a region of one zone gets that zone (Ireland: Europe/Dublin, where libphonenumber says
London, Guernsey and the Isle of Man) and any other keeps the list. This combines the two
sources (an inference of the SDK's, not a rule of either); a multi-zone region (AU, US, RU, BR,
...) keeps its own several zones. A number is ``ambiguous`` when its zones keep more than one
clock (UTC offsets that differ at some time of the year).
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
from functools import cache, lru_cache
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import phonenumbers
from phonenumbers import timezone as pn_timezone
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from campaign_sdk.delivery._windows import zone
from campaign_sdk.delivery._zone_blocks import Signature, blocks

UNKNOWN_ZONE = "Etc/Unknown"  # libphonenumber's answer when it knows no zone


@cache
def region_zones() -> dict[str, frozenset[str]]:
    """Each region's zones as the IANA database lists them (``zone.tab``: ISO code -> zones)."""
    found: dict[str, set[str]] = {}
    text = importlib.resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            fields = line.split("\t")
            found.setdefault(fields[0], set()).add(fields[2])
    return {region: frozenset(zones) for region, zones in found.items()}


@lru_cache(maxsize=1 << 16)
def _lookup(digits: str) -> tuple[str, str | None]:
    """The zones (comma-joined, sorted) and region of the E.164 digits ``digits``:
    libphonenumber's, narrowed to the region's own zones (the module's docstring)."""
    try:
        number = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return UNKNOWN_ZONE, None
    zones = sorted(pn_timezone.time_zones_for_number(number))
    regions = COUNTRY_CODE_TO_REGION_CODE.get(number.country_code or 0, ())
    region = regions[0] if len(regions) == 1 else phonenumbers.region_code_for_number(number)
    region = None if region in (None, "001", "ZZ") else region
    listed = region_zones().get(region or "", frozenset())
    own = [z for z in zones if z in listed]
    if not own and len(listed) == 1 and zones != [UNKNOWN_ZONE]:
        own = sorted(listed)  # e.g. Ireland: libphonenumber says London, Guernsey, Isle of Man
    return ",".join(own or zones), region


def number_zones(phone: str) -> tuple[tuple[str, ...], str | None]:
    """The zones (sorted; ``(UNKNOWN_ZONE,)`` when none is known) and region of one E.164
    ``phone``, as the plan finds them (:func:`_lookup`: narrowed to the region's own zones).

    >>> number_zones("+18765551234")  # a Jamaican number: not all 42 zones of +1
    (('America/Jamaica',), 'JM')
    """
    zones, region = _lookup(phone.lstrip("+"))
    return tuple(zones.split(",")), region


def _places(con: duckdb.DuckDBPyConnection) -> tuple[list[str], np.ndarray, list[tuple[str, str | None]]]:
    """The distinct numbers of ``_plan_phone`` (sorted by length, then digits), each one's place
    id and the places (zones, region): one lookup per signature of the blocks of numbers proven
    alike (:func:`._zone_blocks.blocks`), per block of none, per number where the digits are not
    all 0-9."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _zone_digits AS
        SELECT digits, regexp_full_match(digits, '[0-9]+') AS pure, length(digits) AS n, left(digits, 3) AS head
        FROM (SELECT DISTINCT digits FROM _plan_phone)
    """)
    digits = [d for (d,) in con.execute("SELECT digits FROM _zone_digits ORDER BY NOT pure, n, digits").fetchall()]
    groups = con.execute("SELECT pure, count(*) FROM _zone_digits GROUP BY pure, n, head ORDER BY NOT pure, n, head").fetchall()
    con.execute("DROP TABLE _zone_digits")
    ids: dict[tuple[str, str | None], int] = {}
    signed: dict[Signature, int] = {}  # each signature's place id: its first run's lookup
    nids = np.empty(len(digits), dtype=np.int64)

    def emit(start: int, end: int, signature: Signature | None = None) -> None:
        if signature is None:
            place = ids.setdefault(_lookup(digits[start]), len(ids))
        elif (place := signed.get(signature, -1)) < 0:
            place = signed[signature] = ids.setdefault(_lookup(digits[start]), len(ids))
        nids[start:end] = place

    lo = 0
    for pure, count in groups:  # the (length, first three digits) runs of ``digits``
        if pure:
            blocks(digits, lo, lo + count, emit)
        else:
            for i in range(lo, lo + count):
                emit(i, i + 1)
        lo += count
    return digits, nids, list(ids)


def resolve_zones(con: duckdb.DuckDBPyConnection, source: str) -> pd.DataFrame:
    """Create the temp table ``plan_zones(lead_id, zkey)`` for ``source(lead_id, phone, tz_override)``
    and return the zone keys: ``zkey, zones, country, ambiguous, zone_problem``.

    ``zones`` is a comma-joined sorted list of IANA names; ``zone_problem`` is ``invalid_timezone``
    (a ``timezone`` variable that is not an IANA name) or ``unknown_timezone`` (no zone known for
    the number), else None. Leads whose phone is not E.164 get no row.
    """
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _plan_phone AS
        SELECT lead_id, substr(phone, 2) AS digits, nullif(trim(tz_override), '') AS tz_override
        FROM {source} WHERE phone LIKE '+%'
    """)
    digits, nids, places = _places(con)
    names = [n for (n,) in con.execute(
        "SELECT DISTINCT tz_override FROM _plan_phone WHERE tz_override IS NOT NULL ORDER BY 1").fetchall()]
    con.register("_zone_numbers", pd.DataFrame({"digits": pd.Series(digits, dtype=object), "nid": nids}))
    con.register("_zone_overrides", pd.DataFrame({"name": names, "oid": range(1, len(names) + 1)}))
    width = len(names) + 1
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE plan_zones AS
        SELECT p.lead_id, n.nid * {width} + coalesce(o.oid, 0) AS zkey
        FROM _plan_phone p
        JOIN _zone_numbers n ON n.digits = p.digits
        LEFT JOIN _zone_overrides o ON o.name = p.tz_override
    """)
    for name in ("_zone_numbers", "_zone_overrides"):
        con.unregister(name)
    keys = [k for (k,) in con.execute("SELECT DISTINCT zkey FROM plan_zones ORDER BY 1").fetchall()]
    return pd.DataFrame([zone_key(k, width, places, names) for k in keys],
                        columns=["zkey", "zones", "country", "ambiguous", "zone_problem"])


def zone_key(zkey: int, width: int, places: Any, names: list[str]) -> tuple[Any, ...]:
    """The key row (zkey, zones, country, ambiguous, zone_problem) of ``zkey``: place
    ``zkey // width`` of ``places`` (``(zones, region)`` by index), with override name
    ``names[zkey % width - 1]`` (0: none)."""
    zones, country = places[zkey // width]
    oid = zkey % width
    if oid:
        name = names[oid - 1]
        valid = zone(name) is not None and name != UNKNOWN_ZONE
        return zkey, name if valid else None, country, False, None if valid else "invalid_timezone"
    if zones is None or zones == UNKNOWN_ZONE:
        return zkey, None, country, False, "unknown_timezone"
    return zkey, zones, country, _clocks(zones) > 1, None


@lru_cache(maxsize=4096)
def _clocks(zones: str) -> int:
    """How many different clocks the comma-joined ``zones`` keep: their UTC offsets compared at
    noon UTC on the 1st and 15th of every month of this year and the next (DST included)."""
    if "," not in zones:
        return 1
    year = dt.date.today().year
    moments = [dt.datetime(y, m, d, 12, tzinfo=dt.UTC) for y in (year, year + 1) for m in range(1, 13) for d in (1, 15)]
    tzs = [zone(name) for name in zones.split(",")]
    return len({tuple(m.astimezone(tz).utcoffset() for m in moments) if tz else None for tz in tzs})
