"""A number's zones and region are libphonenumber's for that number alone (:func:`number_zones`),
whatever other numbers the store holds: a Guernsey mobile sorted between two UK mobiles is still
in Guernsey, an invalid number between two valid ones of its area code still has no zone; and
numbers looked up once per block (:mod:`campaign_sdk.delivery._zone_blocks`) get each its own."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable
from functools import cache
from typing import Any

import duckdb
import pandas as pd
import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneMetadata, PhoneNumberType

from campaign_sdk import TwilioTextContext
from campaign_sdk.delivery import number_zones
from campaign_sdk.delivery import _zones
from campaign_sdk.delivery._zone_blocks import _DESCS, _Matcher, blocks
from campaign_sdk.delivery._zones import _lookup, resolve_zones

NOW = dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC)

# (neighbour below, the number, neighbour above), all valid: the neighbours are not like it
SANDWICHES = [
    ("+447780123456", "+447781123456", "+447782123456"),  # Guernsey mobile among UK mobiles
    ("+447796123456", "+447797712345", "+447798123456"),  # Jersey mobile
    ("+447623123456", "+447624123456", "+447625123456"),  # Isle of Man mobile
    ("+447457100000", "+447457603437", "+447457800000"),  # Isle of Man, deeper in a UK range
    ("+590590081234", "+590590091234", "+590590101234"),  # Saint-Martin (MF) among Guadeloupe
    ("+590590261234", "+590590271234", "+590590281234"),  # Saint-Barthélemy (BL) among Guadeloupe
    ("+441530123456", "+441534123456", "+441535123456"),  # Jersey fixed line among UK ones
    ("+12125551234", "+12045607045", "+14155552671"),  # a Canadian number among US ones
    ("+12125551234", "+13405551234", "+14155552671"),  # +1 340 USVI among US numbers
    ("+12125551234", "+18762345678", "+14155552671"),  # +1 876 Jamaica among US numbers
    ("+73012345678", "+77012345678", "+79161234567"),  # +7: a Kazakh mobile among Russian numbers
    ("+61298765432", "+61412345678", "+61398765432"),  # an AU mobile (every AU zone) among fixed lines
]
# Unassigned numbers inside assigned ranges (add_leads refuses them, so resolve_zones directly)
UNASSIGNED = [
    ("+13402001218", "+13402110371", "+13409989665"),  # +1 340 USVI
    ("+18762015363", "+18762226312", "+18769996827"),  # +1 876 Jamaica
    ("+77102123456", "+77104512345", "+77105912345"),  # +7 710 Kazakhstan
]


def _expected(phone: str) -> tuple[str | None, str | None]:
    zones, region = number_zones(phone)
    return (None if zones == ("Etc/Unknown",) else ",".join(zones)), region


def _shown(value: object) -> str | None:
    return value if isinstance(value, str) else None


@pytest.mark.parametrize("sandwich", SANDWICHES, ids=lambda s: s[1])
def test_a_number_between_two_others_is_planned_as_alone(client, sandwich: tuple[str, str, str]) -> None:
    campaign = client.create_campaign("Zones", content=TwilioTextContext(body="Hi {{lead_name}}"))
    campaign.add_leads(pd.DataFrame({"phone_number": list(sandwich), "lead_name": "Ana"}))
    plan = campaign.plan(now=NOW).set_index("phone_number")
    low, middle, high = (_expected(p) for p in sandwich)
    assert low != middle and middle != high  # the case: neighbours that are not like it
    got = {p: (_shown(plan.loc[p, "zones"]), _shown(plan.loc[p, "country"])) for p in sandwich}
    assert got == {p: _expected(p) for p in sandwich}


@pytest.mark.parametrize("sandwich", UNASSIGNED, ids=lambda s: s[1])
def test_an_unassigned_number_between_two_assigned_ones_has_no_zone(sandwich: tuple[str, str, str]) -> None:
    got = _resolved(list(sandwich))
    assert got[1] == (None, number_zones(sandwich[1])[1]) and got[0][0] is not None
    assert got == [_expected(p) for p in sandwich]


@cache
def _connection() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()  # one for all examples: a new one costs some 40 ms


def _resolved(phones: list[str]) -> list[tuple[str | None, str | None]]:
    con = _connection()
    source = pd.DataFrame({"lead_id": range(len(phones)), "phone": phones, "tz_override": [None] * len(phones)})
    con.register("source", source)
    keys = resolve_zones(con, "source").set_index("zkey")
    zkeys = dict(con.execute("SELECT lead_id, zkey FROM plan_zones").fetchall())
    return [(_shown(keys.loc[zkeys[i], "zones"]), _shown(keys.loc[zkeys[i], "country"])) for i in range(len(phones))]


# Numbers of many countries, in ranges where the region or the kind of number changes from one
# block to the next: a drawn prefix gets random digits up to a length its country uses.
_PREFIXES = [
    "4477", "4478", "4479", "447624", "447781", "447797", "447839", "44153", "44148", "44162", "4420",
    "1340", "1876", "1787", "1284", "1441", "1671", "1212", "1204", "1800", "1905", "1242", "1649",
    "7701", "7710", "7727", "7301", "7336", "7916", "7495", "7800",
    "61", "614", "6189", "47", "4779", "358", "35818", "262", "2622", "590", "599", "5999",
    "33", "336", "34", "39", "3906", "49", "4915", "55", "5511", "5592", "91", "86", "81", "64", "27",
]
_phones = st.builds(
    lambda prefix, tail: "+" + prefix + tail,
    st.sampled_from(_PREFIXES),
    st.integers(min_value=5, max_value=9).flatmap(lambda n: st.text("0123456789", min_size=n, max_size=n)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_phones, min_size=1, max_size=80, unique=True))
def test_each_numbers_zones_are_its_own_whatever_the_others(phones: list[str]) -> None:
    phones = [p[:16] for p in phones]  # E.164: at most 15 digits
    phones = list(dict.fromkeys(phones))
    got = _resolved(phones)
    assert got == [_expected(p) for p in phones]


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(_PREFIXES), st.text("0123456789", min_size=2, max_size=6),
       st.lists(st.text("0123456789", min_size=1, max_size=3), min_size=2, max_size=80))
def test_a_block_of_numbers_sharing_a_prefix_gets_each_its_own_zones(prefix: str, stem: str, tails: list[str]) -> None:
    """Many numbers sharing long prefixes: the blocks that one lookup answers (_zone_blocks)."""
    phones = list(dict.fromkeys("+" + (prefix + stem + t)[:15] for t in tails))
    assert _resolved(phones) == [_expected(p) for p in phones]


def test_numbers_proven_alike_are_looked_up_once_per_block() -> None:
    phones = [f"+1212555{i:04d}" for i in range(0, 10000, 7)] + [f"+447400{i:06d}" for i in range(0, 10**6, 997)]
    _lookup.cache_clear()
    got = _resolved(phones)
    lookups = _lookup.cache_info().misses
    assert got == [_expected(p) for p in phones]
    assert lookups < 20 < len(phones)  # +1 212 555: New York; +44 7400: London (GB mobiles)


def test_blocks_of_one_signature_are_looked_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sparse numbers of New York's area codes and of UK mobiles: each area and each UK range is
    split into many blocks (single numbers among them), but libphonenumber reads the same of
    most of them (calling code, length, the patterns that match, the zones of the longest
    time-zone prefix), so a few lookups answer them all; and the numbers planted among them
    (a Guernsey or Jersey mobile, unassigned USVI numbers...) still get each their own."""
    runs: list[tuple[int, ...]] = []

    def counted(digits: list[str], lo: int, hi: int, emit: Callable[..., None]) -> None:
        def counting(*run: Any) -> None:
            runs.append(run[:2])
            emit(*run)
        blocks(digits, lo, hi, counting)

    monkeypatch.setattr(_zones, "blocks", counted)
    areas = [201, 212, 315, 347, 516, 518, 585, 607, 631, 646, 716, 718, 845, 914, 917]  # New York's
    planted = [p for trio in SANDWICHES + UNASSIGNED for p in trio]
    phones = list(dict.fromkeys([f"+1{a}{i:07d}" for a in areas for i in range(0, 10**7, 104729)]
                                + [f"+447{i:09d}" for i in range(0, 10**9, 1299709)] + planted))
    _lookup.cache_clear()
    got = _resolved(phones)
    lookups = _lookup.cache_info().misses
    assert got == [_expected(p) for p in phones]
    assert lookups < 50 < 350 < len(runs)  # some 400 runs; a lookup for each planted number


@pytest.mark.parametrize("head", ["44778", "44779", "447624", "5905900", "5905902", "1340", "77104", "6189164"])
def test_every_number_of_a_dense_range_gets_its_own_zones(head: str) -> None:
    """Ranges where the region changes inside (Guernsey, Jersey, Isle of Man, Saint-Martin and
    Saint-Barthélemy, USVI's unassigned blocks, Kazakhstan, Christmas Island): a spread of their
    numbers, looked up per proven block, each equal to its own lookup."""
    width = {"1": 11, "7": 11, "6": 11}.get(head[0], 12) - len(head)
    phones = [f"+{head}{i:0{width}d}" for i in range(0, 10**width, max(1, 10**width // 3000) + 3)]
    assert _resolved(phones) == [_expected(p) for p in phones]


_REGIONS = ["GB", "GG", "JE", "IM", "US", "JM", "KZ", "RU", "MF", "JP", "AX", "CX"]


def _patterns(region: str) -> list[tuple[str, bool]]:
    meta = PhoneMetadata.metadata_for_region(region)
    found = [(getattr(meta, d).national_number_pattern, False) for d in _DESCS
             if getattr(meta, d) is not None and getattr(meta, d).national_number_pattern]
    return found + [(p, True) for p in (meta.leading_digits, meta.national_prefix_for_parsing) if p]


@pytest.mark.parametrize("region", _REGIONS)
def test_the_automaton_decides_some_and_all_completions_as_re_does(region: str) -> None:
    """For each pattern (re.match for leading digits and national prefix, fullmatch for types):
    from each start of the region's example numbers, whether some and whether all completions of
    one to three digits match, by brute force with re, equals the automaton's answer."""
    nationals = {str(n.national_number) for t in PhoneNumberType.values()
                 if (n := phonenumbers.example_number_for_type(region, t)) is not None}
    for pattern, prefix in _patterns(region):
        matcher, regex = _Matcher(pattern, prefix), re.compile(pattern)
        test = regex.match if prefix else regex.fullmatch
        for national in sorted(nationals):
            for k in (1, 2, 3):
                head = national[:-k]
                hits = [bool(test(head + "".join(t))) for t in itertools.product("0123456789", repeat=k)]
                state = matcher.start
                for ch in head:
                    state = matcher.step(state, int(ch))
                assert matcher.outcomes(state, k) == (any(hits), not all(hits)), (pattern, head, k)
