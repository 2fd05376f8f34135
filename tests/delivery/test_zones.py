"""Zones from phone numbers, set-wise, agree with libphonenumber's own per-number answer, narrowed
to the zones the IANA database lists for the number's region (``zone.tab``)."""

from __future__ import annotations

import duckdb
import pandas as pd
import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType
from phonenumbers import timezone as pn_timezone
from phonenumbers.phonenumberutil import SUPPORTED_REGIONS

from campaign_sdk.delivery._zones import region_zones, resolve_zones


def _zones(phones: list[str], overrides: list[str | None] | None = None) -> pd.DataFrame:
    con = duckdb.connect()
    source = pd.DataFrame({"lead_id": range(len(phones)), "phone": phones,
                           "tz_override": overrides or [None] * len(phones)})
    con.register("source", source)
    keys = resolve_zones(con, "source")
    leads = con.execute("SELECT lead_id, zkey FROM plan_zones").df()
    return source.merge(leads, on="lead_id", how="left").merge(keys, on="zkey", how="left").sort_values("lead_id")


def _expected(phone: str) -> tuple[str | None, str | None]:
    number = phonenumbers.parse(phone)
    region = phonenumbers.region_code_for_number(number)
    every = sorted(pn_timezone.time_zones_for_number(number))
    listed = region_zones().get(region or "", frozenset())
    own = [z for z in every if z in listed] or (sorted(listed) if len(listed) == 1 and every != ["Etc/Unknown"] else [])
    zones = ",".join(own or every)
    return (None if zones == "Etc/Unknown" else zones), region


def _examples() -> list[str]:
    found = []
    for region in sorted(SUPPORTED_REGIONS):
        for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.TOLL_FREE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
                found += [e164, e164[:-1] + str((int(e164[-1]) + 3) % 10)]
    return list(dict.fromkeys(found))


def test_every_regions_example_numbers_get_libphonenumbers_zones_and_region() -> None:
    phones = _examples()
    frame = _zones(phones)
    got = list(zip(frame["zones"].where(frame["zones"].notna(), None), frame["country"].where(frame["country"].notna(), None)))
    expected = [_expected(p) for p in phones]
    wrong = [(p, g, e) for p, g, e in zip(phones, got, expected) if (g[0], g[1] if g[0] else None) != (e[0], e[1] if e[0] else None)]
    assert not wrong, wrong[:5]
    assert len(phones) > 500


@pytest.mark.parametrize(
    ("phone", "zones", "country", "ambiguous"),
    [
        ("+12125551234", "America/New_York", "US", False),
        ("+14155552671", "America/Los_Angeles", "US", False),
        ("+61298765432", "Australia/Sydney", "AU", False),
        ("+5511987654321", "America/Sao_Paulo", "BR", False),
        ("+5592912345678", "America/Manaus", "BR", False),
        ("+12505551234", "America/Vancouver", "CA", False),
    ],
)
def test_one_zone_numbers(phone: str, zones: str, country: str, ambiguous: bool) -> None:
    row = _zones([phone]).iloc[0]
    assert (row["zones"], row["country"], bool(row["ambiguous"])) == (zones, country, ambiguous)


@pytest.mark.parametrize(("phone", "country", "includes"), [
    ("+61412345678", "AU", {"Australia/Perth", "Australia/Sydney", "Australia/Lord_Howe"}),  # AU mobile
    ("+79161234567", "RU", {"Europe/Moscow", "Asia/Vladivostok", "Asia/Kamchatka"}),  # RU mobile
    ("+18005551234", "US", {"America/New_York", "Pacific/Honolulu"}),  # US toll free
])
def test_numbers_spanning_several_zones_are_ambiguous(phone: str, country: str, includes: set[str]) -> None:
    row = _zones([phone]).iloc[0]
    assert row["ambiguous"] and row["country"] == country and includes <= set(row["zones"].split(","))


def test_a_group_mixing_kinds_of_numbers_is_resolved_number_by_number() -> None:
    # +44 778: Guernsey's mobiles (+44 7781) among Great Britain's, in one group of numbers
    guernsey = phonenumbers.format_number(phonenumbers.example_number_for_type("GG", PhoneNumberType.MOBILE), PhoneNumberFormat.E164)
    frame = _zones([guernsey, "+447780123456"])
    assert [tuple(_expected(p)) for p in (guernsey, "+447780123456")] == list(zip(frame["zones"], frame["country"]))
    assert frame["zones"].tolist() == ["Europe/Guernsey", "Europe/London"]


@pytest.mark.parametrize("region", ["JM", "BS", "TT", "BB", "KY", "BM", "AG"])
def test_caribbean_mobiles_get_their_islands_zone_not_every_plus_one_zone(region: str) -> None:
    """libphonenumber gives a +1 Caribbean mobile all 42 zones of +1 (Guam to Pago Pago), which
    would leave it a half-hour window a day: the region's own zone (IANA zone.tab) is kept."""
    number = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    assert len(pn_timezone.time_zones_for_number(number)) > 40  # what libphonenumber says
    row = _zones([phonenumbers.format_number(number, PhoneNumberFormat.E164)]).iloc[0]
    assert row["country"] == region and not row["ambiguous"]
    assert row["zones"] in region_zones()[region] and "," not in row["zones"]


def test_a_uk_mobile_is_in_london_alone() -> None:
    row = _zones(["+447400123456"]).iloc[0]  # libphonenumber: London, Guernsey, Jersey, Isle of Man
    assert (row["zones"], row["country"], bool(row["ambiguous"])) == ("Europe/London", "GB", False)


def test_a_timezone_variable_overrides_the_number_and_a_bad_one_is_reported() -> None:
    frame = _zones(["+12125551234", "+12125551235", "+12125551236"], ["Europe/Lisbon", "Mars/Base", None])
    assert frame["zones"].tolist()[0] == "Europe/Lisbon" and not frame["ambiguous"].iloc[0]
    assert frame["zone_problem"].tolist()[1] == "invalid_timezone" and pd.isna(frame["zones"].iloc[1])
    assert frame["zones"].tolist()[2] == "America/New_York"


def test_a_number_without_a_known_zone_says_so() -> None:
    frame = _zones(["+447700900123"])  # Ofcom's drama range: not a valid number, no zone
    assert frame["zone_problem"].iloc[0] == "unknown_timezone"


def test_the_plan_resolves_each_persons_zones_once_and_again_after_a_number_change(client) -> None:
    import datetime as dt

    from campaign_sdk import TwilioTextContext
    from campaign_sdk.delivery import _zone_cache
    from campaign_sdk.models import ConversationUser

    now = dt.datetime(2026, 7, 1, 2, 0, tzinfo=dt.UTC)
    campaign = client.create_campaign("Zones", content=TwilioTextContext(body="Hi {{lead_name}} there"))
    campaign.add_leads(pd.DataFrame({"phone_number": ["+12125550100", "+61412345678", "+4915112345678"],
                                     "lead_name": "Ana"}))
    before = _zone_cache.STATS["resolved"]
    first = campaign.plan(now=now).set_index("lead_id")
    assert _zone_cache.STATS["resolved"] - before == 3
    second = campaign.plan(now=now).set_index("lead_id")
    assert _zone_cache.STATS["resolved"] - before == 3  # nothing resolved again
    pd.testing.assert_frame_equal(pd.DataFrame(first), pd.DataFrame(second))
    with client.transaction() as session:  # the New York person's number changes to Los Angeles
        session.query(ConversationUser).filter_by(phone_number="+12125550100").update({"phone_number": "+14155550100"})
    third = campaign.plan(now=now).set_index("phone_number")
    assert _zone_cache.STATS["resolved"] - before == 4
    assert third.loc["+14155550100", "zones"] == "America/Los_Angeles"
    assert set(third["zones"].astype(str)) >= {"America/Los_Angeles"} and "+12125550100" not in third.index


def test_an_irish_number_is_in_dublin_and_one_clock_is_not_ambiguous() -> None:
    # libphonenumber: London, Guernsey, Isle of Man (none of them Irish); Ireland has one zone
    rows = _zones(["+353850123456", "+35312345678"])
    assert rows["zones"].tolist() == ["Europe/Dublin"] * 2 and not rows["ambiguous"].any()
    assert rows["country"].tolist() == ["IE", "IE"]


def test_ambiguous_means_more_than_one_clock() -> None:
    from campaign_sdk.delivery._zones import _clocks

    assert _clocks("Europe/London,Europe/Dublin") == 1  # two zones, one clock all year
    assert _clocks("Australia/Brisbane,Australia/Sydney") == 2  # Sydney keeps summer time, Brisbane not
    assert _clocks("America/New_York") == 1
