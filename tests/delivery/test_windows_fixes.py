"""Windows across midnight belong to the day they open on; local_time on a forbidden day keeps its
time of day; per-country windows apply without a base window; country codes in any case."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
import pytest


from campaign_sdk import CampaignClient, DeliveryPolicy, DeliveryPolicyError, SendWindow, TwilioTextContext
from campaign_sdk.delivery import next_allowed

UTC = dt.UTC
NY, BERLIN_ZONE = "America/New_York", "Europe/Berlin"
US_PHONE, DE_PHONE = "+12125550100", "+4915112345678"
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
# Friday and Saturday nights: Fri 20:00 -> Sat 02:00 and Sat 20:00 -> Sun 02:00
WEEKEND_NIGHTS = SendWindow(start="20:00", end="02:00", days=["fri", "sat"])


def at(zone: str, *args: int) -> dt.datetime:
    """A wall-clock moment in ``zone`` as aware UTC."""
    return dt.datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def local(zone: str, moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


# -- a window across midnight belongs to the day it opens on (finding 7)

def test_after_midnight_of_an_allowed_night_is_inside_the_window() -> None:
    assert WEEKEND_NIGHTS.pieces() == [(20 * 60, 26 * 60)]  # minutes from the opening day's midnight
    sunday_1am = at(BERLIN_ZONE, 2026, 3, 8, 1, 0)  # Saturday night
    assert next_allowed((BERLIN_ZONE,), WEEKEND_NIGHTS, sunday_1am) == sunday_1am
    saturday_1am = at(BERLIN_ZONE, 2026, 3, 7, 1, 0)  # Friday night
    assert next_allowed((BERLIN_ZONE,), WEEKEND_NIGHTS, saturday_1am) == saturday_1am


def test_after_midnight_of_a_forbidden_night_waits_for_the_next_opening() -> None:
    friday_1am = at(BERLIN_ZONE, 2026, 3, 13, 1, 0)  # Thursday night: not allowed
    assert next_allowed((BERLIN_ZONE,), WEEKEND_NIGHTS, friday_1am) == at(BERLIN_ZONE, 2026, 3, 13, 20, 0)
    sunday_2am = at(BERLIN_ZONE, 2026, 3, 8, 2, 0)  # Saturday night is over: next Friday 20:00
    assert next_allowed((BERLIN_ZONE,), WEEKEND_NIGHTS, sunday_2am) == at(BERLIN_ZONE, 2026, 3, 13, 20, 0)


@pytest.mark.parametrize(
    ("wall", "inside"),
    [
        (dt.datetime(2026, 3, 6, 20, 0), True),  # Fri 20:00: opens
        (dt.datetime(2026, 3, 7, 1, 59), True),  # Sat 01:59: Friday night
        (dt.datetime(2026, 3, 7, 2, 0), False),  # Sat 02:00: end excluded
        (dt.datetime(2026, 3, 8, 1, 0), True),  # Sun 01:00: Saturday night
        (dt.datetime(2026, 3, 8, 20, 0), False),  # Sun 20:00: Sunday night is not allowed
        (dt.datetime(2026, 3, 6, 1, 0), False),  # Fri 01:00: Thursday night
    ],
)
def test_allows_follows_the_same_rule(wall: dt.datetime, inside: bool) -> None:
    assert WEEKEND_NIGHTS.allows(wall) is inside


def test_a_night_window_over_the_spring_forward_night() -> None:
    # New York, Sat 7 -> Sun 8 March 2026: 02:00 EST jumps to 03:00 EDT (07:00 UTC)
    window = SendWindow(start="22:00", end="02:00", days=["sat"])
    assert next_allowed((NY,), window, at(NY, 2026, 3, 7, 21, 0)) == at(NY, 2026, 3, 7, 22, 0)  # 03:00 UTC
    late = dt.datetime(2026, 3, 8, 6, 59, tzinfo=UTC)  # 01:59 EST on Sunday: still Saturday night
    assert next_allowed((NY,), window, late) == late
    over = dt.datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 03:00 EDT: the night ended at the jump
    assert next_allowed((NY,), window, over) == at(NY, 2026, 3, 14, 22, 0)
    assert local(NY, at(NY, 2026, 3, 14, 22, 0)).hour == 22


# -- plans: local_time keeps its time of day, country windows, country codes

def make(client: CampaignClient, phones: list[str]):
    campaign = client.create_campaign("Weekly", content=TwilioTextContext(body="Hi {{lead_name}}!"))
    report = campaign.add_leads(pd.DataFrame({"phone_number": phones, "lead_name": "Ana"}))
    assert report.rejected.empty, report.rejected
    return campaign


def rows(plan: pd.DataFrame) -> dict[str, pd.Series]:
    return {row["phone_number"]: row for _, row in plan.iterrows()}


SATURDAY = dt.datetime(2026, 3, 7, 6, 0, tzinfo=UTC)  # 07:00 in Berlin, 01:00 in New York


def test_local_time_on_a_forbidden_day_goes_out_at_that_time_on_the_next_allowed_day(client: CampaignClient) -> None:
    campaign = make(client, [US_PHONE, DE_PHONE])
    policy = DeliveryPolicy(countries={"DE": SendWindow(days=WEEKDAYS)})
    plan = rows(campaign.plan(local_time="10:00", policy=policy, now=SATURDAY))
    de, us = plan[DE_PHONE], plan[US_PHONE]
    assert (de["action"], de["reason"]) == ("defer", "quiet_hours")
    assert de["local_send_time"] == pd.Timestamp("2026-03-09 10:00")  # Monday 10:00, not 09:00
    assert de["send_at"] == pd.Timestamp("2026-03-09 09:00", tz="UTC")
    assert (us["reason"], us["local_send_time"]) == ("scheduled", pd.Timestamp("2026-03-07 10:00"))


def test_local_time_inside_a_night_window_uses_the_allowed_nights(client: CampaignClient) -> None:
    campaign = make(client, [DE_PHONE])
    policy = DeliveryPolicy(window=WEEKEND_NIGHTS)
    monday = dt.datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    plan = rows(campaign.plan(local_time="01:00", policy=policy, now=monday))
    assert plan[DE_PHONE]["local_send_time"] == pd.Timestamp("2026-03-14 01:00")  # Friday night


@pytest.mark.parametrize(
    ("policy", "where"),
    [
        (DeliveryPolicy(), "the policy's window"),
        (DeliveryPolicy(countries={"DE": SendWindow(start="08:00", end="21:00")}), "countries['DE']"),
    ],
)
def test_a_local_time_outside_the_window_every_day_is_refused(client: CampaignClient, policy: DeliveryPolicy,
                                                               where: str) -> None:
    campaign = make(client, [DE_PHONE])
    with pytest.raises(DeliveryPolicyError, match=r"local_time='22:00' is outside the send window") as caught:
        campaign.plan(local_time="22:00", policy=policy, now=SATURDAY)
    assert where in str(caught.value) and "at=" in str(caught.value)


def test_a_country_window_applies_without_a_base_window(client: CampaignClient) -> None:
    weekdays = SendWindow(start="10:00", end="18:00", days=WEEKDAYS)
    policy = DeliveryPolicy(window=None, countries={"DE": weekdays})
    assert policy.window_for("marketing", "DE") == weekdays
    assert policy.window_for("marketing", "US") is None
    assert policy.window_for("service", "DE") is None  # service: exempt unless service_window is set
    plan = rows(make(client, [US_PHONE, DE_PHONE]).plan(policy=policy, now=SATURDAY))
    assert plan[US_PHONE]["action"] == "send"  # no quiet hours
    assert (plan[DE_PHONE]["reason"], plan[DE_PHONE]["local_send_time"]) == (
        "quiet_hours", pd.Timestamp("2026-03-09 10:00"))


def test_country_codes_are_upper_cased() -> None:
    policy = DeliveryPolicy(countries={" de ": SendWindow(start="10:00"), "br": None})
    assert set(policy.countries) == {"DE", "BR"}
    assert policy.window_for("marketing", "DE").start == "10:00"
    with pytest.raises(DeliveryPolicyError, match=r"unknown country code\(s\) \['xx'\]"):
        DeliveryPolicy(countries={"xx": SendWindow()})
    with pytest.raises(DeliveryPolicyError, match=r"\['DE'\] given more than once"):
        DeliveryPolicy(countries={"de": SendWindow(), "DE": None})
