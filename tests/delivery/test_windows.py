"""Send windows in real zones: boundaries, DST days, several zones at once, local-time targets."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


from campaign_sdk import DeliveryPolicyError
from campaign_sdk.delivery import SendWindow, local_target, next_allowed

NY, LA = "America/New_York", "America/Los_Angeles"
UTC = dt.UTC


def at(zone: str, *args: int) -> dt.datetime:
    """A wall-clock moment in ``zone`` as aware UTC."""
    return dt.datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def test_the_default_window_is_nine_to_nine_every_day() -> None:
    window = SendWindow()
    assert (window.start, window.end, len(window.days)) == ("09:00", "21:00", 7)


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ((2026, 7, 1, 20, 59), (2026, 7, 1, 20, 59)),  # inside: unchanged
        ((2026, 7, 1, 21, 0), (2026, 7, 2, 9, 0)),  # 21:00 exactly is outside (end excluded)
        ((2026, 7, 1, 8, 59), (2026, 7, 1, 9, 0)),  # one minute early: deferred, never sent early
        ((2026, 7, 1, 9, 0), (2026, 7, 1, 9, 0)),  # 09:00 exactly is inside
        ((2026, 7, 1, 3, 0), (2026, 7, 1, 9, 0)),
    ],
)
def test_window_boundaries_in_new_york(local: tuple[int, ...], expected: tuple[int, ...]) -> None:
    assert next_allowed((NY,), SendWindow(), at(NY, *local)) == at(NY, *expected)


def test_spring_forward_day_uses_daylight_time() -> None:
    # 2026-03-08: New York moves from EST (-5) to EDT (-4) at 02:00
    start = at(NY, 2026, 3, 8, 1, 0)
    assert next_allowed((NY,), SendWindow(), start) == dt.datetime(2026, 3, 8, 13, 0, tzinfo=UTC)
    # the day before, 09:00 was 14:00 UTC
    assert next_allowed((NY,), SendWindow(), at(NY, 2026, 3, 7, 1, 0)) == dt.datetime(2026, 3, 7, 14, 0, tzinfo=UTC)


def test_a_window_starting_in_the_skipped_hour_opens_after_it_never_before() -> None:
    window = SendWindow(start="02:30", end="05:00")
    moment = next_allowed((NY,), window, at(NY, 2026, 3, 8, 0, 0))
    assert moment == dt.datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 03:30 EDT: 02:30 does not exist
    assert moment.astimezone(ZoneInfo(NY)).hour == 3


def test_fall_back_day_uses_standard_time() -> None:
    # 2026-11-01: back to EST at 02:00; 09:00 EST is 14:00 UTC
    assert next_allowed((NY,), SendWindow(), at(NY, 2026, 11, 1, 1, 30)) == dt.datetime(2026, 11, 1, 14, 0, tzinfo=UTC)


def test_several_zones_get_the_window_allowed_in_all_of_them() -> None:
    # 07:00 UTC in July: 03:00 in New York, 00:00 in Los Angeles; 09:00 in LA is 16:00 UTC (12:00 in NY)
    moment = next_allowed((NY, LA), SendWindow(), dt.datetime(2026, 7, 1, 7, 0, tzinfo=UTC))
    assert moment == dt.datetime(2026, 7, 1, 16, 0, tzinfo=UTC)
    # 21:00 in New York closes it for both: 01:00 UTC
    late = next_allowed((NY, LA), SendWindow(), dt.datetime(2026, 7, 2, 1, 0, tzinfo=UTC))
    assert late == dt.datetime(2026, 7, 2, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "zones",
    [
        # every zone libphonenumber gives an Australian mobile, a Russian mobile, a Brazilian one
        ("Australia/Adelaide", "Australia/Brisbane", "Australia/Eucla", "Australia/Lord_Howe",
         "Australia/Perth", "Australia/Sydney", "Indian/Christmas", "Indian/Cocos"),
        ("Asia/Almaty", "Asia/Anadyr", "Asia/Irkutsk", "Asia/Kamchatka", "Asia/Vladivostok",
         "Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg"),
        ("America/Manaus", "America/Noronha", "America/Rio_Branco", "America/Sao_Paulo"),
    ],
)
def test_multi_zone_countries_get_a_moment_inside_every_zone(zones: tuple[str, ...]) -> None:
    start = dt.datetime(2026, 1, 15, 0, 0, tzinfo=UTC)
    moment = next_allowed(zones, SendWindow(), start)
    assert moment is not None and moment >= start
    for name in zones:
        assert SendWindow().allows(moment.astimezone(ZoneInfo(name)).replace(tzinfo=None)), name


def test_zones_too_far_apart_share_no_minute() -> None:
    # New York (UTC-5 in January) and Shanghai (UTC+8) are 13 hours apart: 09-12 never overlaps
    zones = ("America/New_York", "Asia/Shanghai")
    assert next_allowed(zones, SendWindow(start="09:00", end="12:00"), dt.datetime(2026, 1, 1, tzinfo=UTC)) is None


def test_allowed_days_defer_a_saturday_to_monday_morning() -> None:
    weekdays = SendWindow(days=["mon", "tue", "wed", "thu", "fri"])
    saturday = at(NY, 2026, 7, 4, 12, 0)
    assert next_allowed((NY,), weekdays, saturday) == at(NY, 2026, 7, 6, 9, 0)


def test_a_window_may_cross_midnight() -> None:
    night = SendWindow(start="22:00", end="02:00")
    assert next_allowed((NY,), night, at(NY, 2026, 7, 1, 23, 30)) == at(NY, 2026, 7, 1, 23, 30)
    assert next_allowed((NY,), night, at(NY, 2026, 7, 1, 2, 0)) == at(NY, 2026, 7, 1, 22, 0)


def test_no_window_allows_every_moment() -> None:
    moment = at(NY, 2026, 7, 1, 3, 0)
    assert next_allowed((NY,), None, moment) == moment


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"start": "09:00", "end": "09:00"}, "leaves no allowed minute"),
        ({"start": "00:00", "end": "24:00", "days": []}, "no weekday"),
        ({"start": "25:00"}, "not a time of day"),
        ({"start": "9am"}, "not a time of day"),
        ({"days": ["mon", "someday"]}, "unknown weekday"),
    ],
)
def test_bad_windows_are_refused_with_the_reason(options: dict[str, object], message: str) -> None:
    with pytest.raises(DeliveryPolicyError, match=message):
        SendWindow(**options)


def test_whole_days_on_chosen_weekdays_are_a_window() -> None:
    weekdays = SendWindow(start="00:00", end="24:00", days=["mon", "tue", "wed", "thu", "fri"])  # any hour, Mon-Fri
    assert next_allowed((NY,), weekdays, at(NY, 2026, 7, 1, 3, 0)) == at(NY, 2026, 7, 1, 3, 0)  # a Wednesday
    assert next_allowed((NY,), weekdays, at(NY, 2026, 7, 4, 12, 0)) == at(NY, 2026, 7, 6, 0, 0)  # Saturday -> Monday
    assert weekdays.allows(dt.datetime(2026, 7, 3, 23, 59)) and not weekdays.allows(dt.datetime(2026, 7, 4, 0, 0))


def test_quiet_hours_covering_the_whole_day_are_refused() -> None:
    with pytest.raises(DeliveryPolicyError, match="no allowed minute"):
        SendWindow.from_quiet_hours("00:00", "24:00")
    assert SendWindow.from_quiet_hours("21:00", "09:00") == SendWindow()


def test_local_time_is_that_wall_clock_time_in_one_zone() -> None:
    after = at(NY, 2026, 7, 1, 11, 0)  # 10:00 already passed today: tomorrow
    assert local_target((NY,), "10:00", after) == at(NY, 2026, 7, 2, 10, 0)
    assert local_target((NY,), "10:00", at(NY, 2026, 7, 1, 9, 0)) == at(NY, 2026, 7, 1, 10, 0)


def test_local_time_over_several_zones_waits_for_the_last_zone() -> None:
    moment = local_target((NY, LA), "10:00", at(NY, 2026, 7, 1, 6, 0))
    assert moment == at(LA, 2026, 7, 1, 10, 0)  # 13:00 in New York: never before 10:00 anywhere


_ZONES = ["America/New_York", "America/Los_Angeles", "Europe/London", "Australia/Lord_Howe",
          "Asia/Kolkata", "America/Sao_Paulo", "Pacific/Chatham", "Asia/Kathmandu", "Europe/Moscow"]


@settings(max_examples=150, deadline=None)
@given(
    zones=st.lists(st.sampled_from(_ZONES), min_size=1, max_size=3, unique=True),
    start=st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31)),
    begin=st.integers(0, 23), length=st.integers(1, 23),
    days=st.sets(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]), min_size=1),
)
def test_next_allowed_is_never_early_and_never_skips_an_allowed_minute(
    zones: list[str], start: dt.datetime, begin: int, length: int, days: set[str]
) -> None:
    window = SendWindow(start=f"{begin:02d}:00", end=f"{(begin + length) % 24:02d}:00", days=sorted(days))
    start = start.replace(second=0, microsecond=0, tzinfo=UTC)
    moment = next_allowed(tuple(zones), window, start)

    def allowed(m: dt.datetime) -> bool:
        return all(window.allows(m.astimezone(ZoneInfo(z)).replace(tzinfo=None)) for z in zones)

    if moment is None:
        return
    assert moment >= start and allowed(moment)
    # no allowed minute between start and the answer (checked every 15 minutes, and the minute before)
    probe = start
    while probe < moment - dt.timedelta(minutes=1):
        assert not allowed(probe), probe
        probe += dt.timedelta(minutes=15)
    if moment > start:
        assert not allowed(moment - dt.timedelta(minutes=1))


@settings(max_examples=300, deadline=None)
@given(
    zones=st.lists(st.sampled_from(_ZONES), min_size=1, max_size=3, unique=True),
    start=st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31)),
    begin=st.integers(0, 47), length=st.integers(1, 47),
    days=st.sets(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]), min_size=1),
)
def test_the_next_days_first_give_the_moment_the_whole_horizon_gives(
    zones: list[str], start: dt.datetime, begin: int, length: int, days: set[str]
) -> None:
    """next_allowed looks at the next few days before the whole horizon: the same answer, for
    windows on any days, across midnight, over zones with half-hour and 45-minute offsets."""
    from campaign_sdk.delivery._windows import HORIZON_DAYS, _first_common

    a, b = begin * 30, (begin + length) * 30 % (24 * 60)
    window = SendWindow(start=f"{a // 60:02d}:{a % 60:02d}", end=f"{b // 60:02d}:{b % 60:02d}", days=sorted(days))
    start = start.replace(second=0, microsecond=0, tzinfo=UTC)
    assert next_allowed(tuple(zones), window, start) == _first_common(tuple(zones), window, start, HORIZON_DAYS)
