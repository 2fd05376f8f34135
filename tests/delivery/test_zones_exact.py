"""A number's zones and region are libphonenumber's for that number alone (:func:`number_zones`),
whatever other numbers the store holds: a Guernsey mobile sorted between two UK mobiles is still
in Guernsey, an invalid number between two valid ones of its area code still has no zone."""

from __future__ import annotations

import datetime as dt
from functools import cache

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaign_sdk import TwilioTextContext
from campaign_sdk.delivery import number_zones
from campaign_sdk.delivery._zones import resolve_zones

NOW = dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC)

# (neighbour below, the number, neighbour above), all valid: the neighbours are not like it
SANDWICHES = [
    ("+447780123456", "+447781123456", "+447782123456"),  # Guernsey mobile among UK mobiles
    ("+447796123456", "+447797123456", "+447798123456"),  # Jersey mobile
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
@given(st.sampled_from(_PREFIXES), st.lists(st.text("0123456789", min_size=6, max_size=8), min_size=2, max_size=60))
def test_a_block_of_numbers_sharing_a_prefix_gets_each_its_own_zones(prefix: str, tails: list[str]) -> None:
    phones = list(dict.fromkeys("+" + (prefix + t)[:15] for t in tails))
    assert _resolved(phones) == [_expected(p) for p in phones]
