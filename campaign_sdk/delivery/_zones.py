"""Recipient time zones, computed set-wise: libphonenumber's zones for each phone number, unless
the lead's ``timezone`` variable names one (an IANA name).

libphonenumber keys its time-zone data by number prefix (up to nine digits). Each lead's longest
matching prefix and calling code are found in DuckDB (one join per prefix length); numbers are
then grouped by (prefix, calling code, first three national digits), and
``phonenumbers.timezone.time_zones_for_number`` and ``region_code_for_number`` run once on the
lowest and once on the highest number of each group. A group whose two ends disagree (its numbers
are not all of one kind) is resolved number by number. Python work is per group, not per lead.
"""

from __future__ import annotations

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
_CODES = pd.DataFrame({"cc": [str(c) for c in COUNTRY_CODE_TO_REGION_CODE]})


def _lookup(digits: str) -> tuple[str, str | None]:
    """libphonenumber's zones (comma-joined, sorted) and region for the E.164 digits ``digits``."""
    try:
        number = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return UNKNOWN_ZONE, None
    zones = sorted(pn_timezone.time_zones_for_number(number))
    return ",".join(zones), phonenumbers.region_code_for_number(number)


def _register(con: duckdb.DuckDBPyConnection) -> None:
    con.register("_tz_prefixes", _PREFIXES)
    con.register("_calling_codes", _CODES)


def resolve_zones(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Create the temp table ``plan_zones(lead_id, zones, country, ambiguous, zone_problem)`` from
    ``source(lead_id, phone, tz_override)``.

    ``zones`` is a comma-joined sorted list of IANA names; ``zone_problem`` is ``invalid_timezone``
    (a ``timezone`` variable that is not an IANA name) or ``unknown_timezone`` (no zone known for
    the number), else NULL.
    """
    _register(con)
    joins = "\n".join(
        f"LEFT JOIN (SELECT prefix FROM _tz_prefixes WHERE n = {k}) p{k} ON p{k}.prefix = left(s.digits, {k})"
        for k in range(TIMEZONE_LONGEST_PREFIX, 0, -1)
    )
    longest = ", ".join(f"p{k}.prefix" for k in range(TIMEZONE_LONGEST_PREFIX, 0, -1))
    codes = "\n".join(
        f"LEFT JOIN _calling_codes c{k} ON c{k}.cc = left(s.digits, {k})" for k in (3, 2, 1)
    )
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _plan_phone AS
        SELECT s.lead_id, s.digits, s.tz_override,
               coalesce({longest}, '') AS tzp, coalesce(c3.cc, c2.cc, c1.cc, '') AS cc
        FROM (SELECT lead_id, substr(phone, 2) AS digits, nullif(trim(tz_override), '') AS tz_override
              FROM {source} WHERE phone LIKE '+%') s
        {joins}
        {codes}
    """)
    groups = con.execute("""
        SELECT tzp, cc, substr(digits, length(cc) + 1, 3) AS nat, min(digits) AS lo, max(digits) AS hi
        FROM _plan_phone GROUP BY ALL
    """).df()
    rows, split = [], []
    for g in groups.itertuples(index=False):
        low, high = _lookup(g.lo), _lookup(g.hi)
        if low == high:
            rows.append((g.tzp, g.cc, g.nat, *low))
        else:
            split.append((g.tzp, g.cc, g.nat))
    table = pd.DataFrame(rows, columns=["tzp", "cc", "nat", "zones", "country"], dtype=object)
    con.register("_zone_groups", table)
    con.register("_zone_numbers", _by_number(con, split))
    overrides = _overrides(con)
    con.register("_zone_overrides", overrides)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE plan_zones AS
        SELECT p.lead_id,
               CASE WHEN p.tz_override IS NOT NULL THEN o.zone ELSE coalesce(n.zones, g.zones) END AS zones,
               coalesce(n.country, g.country) AS country,
               p.tz_override IS NULL AND coalesce(n.zones, g.zones) LIKE '%,%' AS ambiguous,
               CASE WHEN p.tz_override IS NOT NULL AND o.zone IS NULL THEN 'invalid_timezone'
                    WHEN p.tz_override IS NULL AND coalesce(n.zones, g.zones, '{UNKNOWN_ZONE}') = '{UNKNOWN_ZONE}'
                    THEN 'unknown_timezone' END AS zone_problem,
               p.tz_override
        FROM _plan_phone p
        LEFT JOIN _zone_groups g ON g.tzp = p.tzp AND g.cc = p.cc AND g.nat = substr(p.digits, length(p.cc) + 1, 3)
        LEFT JOIN _zone_numbers n ON n.digits = p.digits
        LEFT JOIN _zone_overrides o ON o.name = p.tz_override
    """)
    for name in ("_zone_groups", "_zone_numbers", "_zone_overrides", "_tz_prefixes", "_calling_codes"):
        con.unregister(name)


def _by_number(con: duckdb.DuckDBPyConnection, split: list[tuple[Any, ...]]) -> pd.DataFrame:
    """Zones and region of every distinct number in the groups whose two ends disagreed."""
    rows = []
    for tzp, cc, nat in split:
        digits = con.execute(
            "SELECT DISTINCT digits FROM _plan_phone WHERE tzp = ? AND cc = ? "
            "AND substr(digits, length(cc) + 1, 3) = ?", [tzp, cc, nat],
        ).fetchall()
        rows.extend((d, *_lookup(d)) for (d,) in digits)
    return pd.DataFrame(rows, columns=["digits", "zones", "country"], dtype=object)


def _overrides(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Each distinct ``timezone`` value, with its zone when it is a valid IANA name."""
    names = [n for (n,) in con.execute(
        "SELECT DISTINCT tz_override FROM _plan_phone WHERE tz_override IS NOT NULL").fetchall()]
    valid = [n if zone(n) is not None and n != UNKNOWN_ZONE else None for n in names]
    return pd.DataFrame({"name": names, "zone": valid}, dtype=object)
