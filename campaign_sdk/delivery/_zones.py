"""Recipient time zones, computed set-wise: libphonenumber's zones for each phone number, unless
the lead's ``timezone`` variable names one (an IANA name).

libphonenumber keys its time-zone data by number prefix (up to nine digits). Numbers are grouped
in DuckDB by their calling code and first three national digits; where a longer zone prefix
exists inside a group (e.g. US area codes split between zones by exchange), its numbers are
regrouped by their longest zone prefix (one join per prefix length, on those numbers only).
``phonenumbers.timezone.time_zones_for_number`` and ``region_code_for_number`` then run on the
lowest and on the highest number of each group; a group whose two ends disagree (its numbers are
not all of one kind) is resolved number by number. Python work is per group, not per lead.

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
import pandas as pd
import phonenumbers
from phonenumbers import timezone as pn_timezone
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

from campaign_sdk.delivery._windows import zone

UNKNOWN_ZONE = "Etc/Unknown"  # libphonenumber's answer when it knows no zone
_PREFIXES = pd.DataFrame({"prefix": list(TIMEZONE_DATA), "n": [len(p) for p in TIMEZONE_DATA]})
# group keys that some longer zone prefix starts with: their numbers need the prefix join
_DEEP = frozenset(k[:i] for k in TIMEZONE_DATA for i in range(1, len(k)))


def _cc_length(first3: str) -> int:
    """The length of the calling code starting ``first3`` (codes are prefix-free); 0: none."""
    return next((n for n in (1, 2, 3) if int(first3[:n]) in COUNTRY_CODE_TO_REGION_CODE), 0)


_CC_LEN = pd.DataFrame({"l3": [f"{i:03d}" for i in range(1000)], "n": [_cc_length(f"{i:03d}") for i in range(1000)]})


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


class _Places:
    """Locations (zones, region) by id, one per group of numbers whose lowest and highest agree.

    A group whose ends disagree (e.g. Jamaica's +1 876: fixed lines are in America/Jamaica, but
    mobiles are not geographic for libphonenumber and get every +1 zone) is split by the next two
    digits, again and again; its numbers are then mapped to their sub-group's location one by one
    (``numbers``), with libphonenumber called per sub-group, not per number.
    """

    def __init__(self) -> None:
        self.places: list[tuple[str, str | None]] = []
        self.numbers: list[tuple[str, int]] = []

    def group(self, con: duckdb.DuckDBPyConnection, lo: str, hi: str, members: str, params: list[Any]) -> int:
        low, high = _lookup(lo), (_lookup(hi) if hi != lo else None)
        self.places.append(low)
        first = len(self.places) - 1
        if high is not None and low != high:
            digits = [d for (d,) in con.execute(
                f"SELECT DISTINCT digits FROM _plan_phone WHERE {members} ORDER BY 1", params).fetchall()]
            self._split(digits, len(_common(lo, hi)) + 1)
        return first

    def _split(self, digits: list[str], length: int) -> None:
        """Map each of the sorted ``digits`` to a location, splitting by the first ``length``
        digits while a part's lowest and highest numbers disagree."""
        start = 0
        while start < len(digits):
            key = digits[start][:length]
            end = start
            while end < len(digits) and digits[end][:length] == key:
                end += 1
            part = digits[start:end]
            low = _lookup(part[0])
            if len(part) > 1 and _lookup(part[-1]) != low:
                if all(len(d) > length for d in part):
                    self._split(part, length + 1)
                else:
                    for d in part:
                        self.numbers.append((d, len(self.places)))
                        self.places.append(_lookup(d))
            else:
                self.places.append(low)
                self.numbers += [(d, len(self.places) - 1) for d in part]
            start = end


def _common(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def resolve_zones(con: duckdb.DuckDBPyConnection, source: str) -> pd.DataFrame:
    """Create the temp table ``plan_zones(lead_id, zkey)`` for ``source(lead_id, phone, tz_override)``
    and return the zone keys: ``zkey, zones, country, ambiguous, zone_problem``.

    ``zones`` is a comma-joined sorted list of IANA names; ``zone_problem`` is ``invalid_timezone``
    (a ``timezone`` variable that is not an IANA name) or ``unknown_timezone`` (no zone known for
    the number), else None. Leads whose phone is not E.164 get no row.
    """
    con.register("_cc_len", _CC_LEN)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _plan_phone AS
        SELECT s.lead_id, s.digits, s.tz_override, left(s.digits, coalesce(c.n, 0) + 3) AS g
        FROM (SELECT lead_id, substr(phone, 2) AS digits, nullif(trim(tz_override), '') AS tz_override
              FROM {source} WHERE phone LIKE '+%') s
        LEFT JOIN _cc_len c ON c.l3 = left(s.digits, 3)
    """)
    con.unregister("_cc_len")
    places = _Places()
    groups, deep = [], []
    for g, lo, hi in con.execute("SELECT g, min(digits), max(digits) FROM _plan_phone GROUP BY g ORDER BY g").fetchall():
        if g in _DEEP:
            deep.append(g)
            groups.append((g, -1))
        else:
            groups.append((g, places.group(con, lo, hi, "g = ?", [g])))
    subgroups = _deep(con, deep, places)
    names = [n for (n,) in con.execute(
        "SELECT DISTINCT tz_override FROM _plan_phone WHERE tz_override IS NOT NULL ORDER BY 1").fetchall()]
    con.register("_zone_groups", pd.DataFrame(groups, columns=["g", "gid"]))
    con.register("_zone_numbers", pd.DataFrame(places.numbers, columns=["digits", "nid"]))
    con.register("_zone_overrides", pd.DataFrame({"name": names, "oid": range(1, len(names) + 1)}))
    width = len(names) + 1
    deep_join = "LEFT JOIN _plan_deep d ON d.lead_id = p.lead_id" if subgroups else ""
    deep_id = "d.sid, " if subgroups else ""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE plan_zones AS
        SELECT p.lead_id, coalesce(n.nid, {deep_id}g.gid) * {width} + coalesce(o.oid, 0) AS zkey
        FROM _plan_phone p
        JOIN _zone_groups g ON g.g = p.g
        {deep_join}
        LEFT JOIN _zone_numbers n ON n.digits = p.digits
        LEFT JOIN _zone_overrides o ON o.name = p.tz_override
    """)
    for name in ("_zone_groups", "_zone_numbers", "_zone_overrides"):
        con.unregister(name)
    con.execute("DROP TABLE IF EXISTS _plan_deep")
    keys = [k for (k,) in con.execute("SELECT DISTINCT zkey FROM plan_zones ORDER BY 1").fetchall()]
    return pd.DataFrame([zone_key(k, width, places.places, names) for k in keys],
                        columns=["zkey", "zones", "country", "ambiguous", "zone_problem"])


def _deep(con: duckdb.DuckDBPyConnection, deep: list[str], places: _Places) -> bool:
    """For the groups in ``deep`` (where zones change with later digits), each number's longest
    zone prefix by DuckDB joins, then one location per (group, prefix): ``_plan_deep(lead_id, sid)``."""
    if not deep:
        return False
    con.register("_tz_prefixes", _PREFIXES)
    joins = "\n".join(
        f"LEFT JOIN (SELECT prefix FROM _tz_prefixes WHERE n = {k}) p{k} ON p{k}.prefix = left(s.digits, {k})"
        for k in range(TIMEZONE_LONGEST_PREFIX, 0, -1)
    )
    longest = ", ".join(f"p{k}.prefix" for k in range(TIMEZONE_LONGEST_PREFIX, 0, -1))
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _plan_deep AS
        SELECT s.lead_id, s.digits, s.g, coalesce({longest}, '') AS tzp, NULL::BIGINT AS sid
        FROM (SELECT * FROM _plan_phone WHERE list_contains($deep, g)) s
        {joins}
    """, {"deep": deep})
    con.unregister("_tz_prefixes")
    ids = []
    for g, tzp, lo, hi in con.execute(
            "SELECT g, tzp, min(digits), max(digits) FROM _plan_deep GROUP BY g, tzp ORDER BY g, tzp").fetchall():
        members = "lead_id IN (SELECT lead_id FROM _plan_deep WHERE g = ? AND tzp = ?)"
        ids.append((g, tzp, places.group(con, lo, hi, members, [g, tzp])))
    con.register("_deep_ids", pd.DataFrame(ids, columns=["g", "tzp", "sid"]))
    con.execute("UPDATE _plan_deep SET sid = i.sid FROM _deep_ids i WHERE i.g = _plan_deep.g AND i.tzp = _plan_deep.tzp")
    con.unregister("_deep_ids")
    return True


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
