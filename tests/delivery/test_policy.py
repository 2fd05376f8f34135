"""Policy, schedule and price-table validation: clear errors at the limit and one past it."""

from __future__ import annotations

import datetime as dt

import pytest


from campaign_sdk import DeliveryPolicyError
from campaign_sdk.delivery import (
    DeliveryPolicy,
    FrequencyCap,
    SendWindow,
    price_table,
    schedule,
)
from campaign_sdk.delivery._schedule import scheduler_sql
from campaign_sdk.facts import scheduling

NOW = dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC)


def test_a_cap_of_zero_is_refused_and_one_is_accepted() -> None:
    with pytest.raises(DeliveryPolicyError, match="frequency cap of 0 messages would block every send"):
        FrequencyCap(limit=0, per="24h")
    assert FrequencyCap(limit=1, per="24h").per == dt.timedelta(hours=24)


def test_a_cap_needs_a_positive_window() -> None:
    with pytest.raises(DeliveryPolicyError, match="window"):
        FrequencyCap(limit=1, per="soon")


@pytest.mark.parametrize(("value", "ok"), [(0, False), (1, True), (36_000, True), (36_001, False)])
def test_validity_period_follows_twilio_limits(value: int, ok: bool) -> None:
    if ok:
        assert DeliveryPolicy(validity_period=value).validity_period == value
    else:
        with pytest.raises(DeliveryPolicyError, match="1 to 36,000 seconds"):
            DeliveryPolicy(validity_period=value)
    assert (scheduling.VALIDITY_PERIOD_MIN, scheduling.VALIDITY_PERIOD_MAX) == (1, 36_000)


def test_every_policy_problem_is_reported_at_once() -> None:
    with pytest.raises(DeliveryPolicyError) as caught:
        DeliveryPolicy(countries={"XX": SendWindow()}, messaging_tier=0, validity_period=0)
    assert [where for where, _ in caught.value.problems] == ["countries", "validity_period", "messaging_tier"]
    assert "pydantic" not in str(caught.value) and "input_value" not in str(caught.value)


def test_country_overrides_and_service_exemption() -> None:
    policy = DeliveryPolicy(countries={"DE": SendWindow(start="10:00", end="18:00"), "BR": None})
    assert policy.window_for("marketing", "DE").start == "10:00"
    assert policy.window_for("marketing", "BR") is None  # no quiet hours there
    assert policy.window_for("marketing", "US") == SendWindow()
    assert policy.window_for("service", "DE") is None  # service is exempt unless a service_window is set
    with_service = DeliveryPolicy(service_window=SendWindow(start="08:00"), countries={"DE": SendWindow(start="10:00")})
    assert with_service.window_for("service", "DE").start == "10:00"
    assert with_service.window_for("service", "US").start == "08:00"
    assert policy.caps_for("service") == ()


def test_a_policy_survives_its_json() -> None:
    policy = DeliveryPolicy(caps=[{"limit": 3, "per": "7d"}], countries={"DE": SendWindow(days=["mon"])})
    assert DeliveryPolicy.model_validate(policy.model_dump(mode="json")) == policy


def test_schedules_in_the_past_or_after_expiry_are_refused_together() -> None:
    with pytest.raises(DeliveryPolicyError) as caught:
        schedule(at=NOW - dt.timedelta(seconds=1), local_time="10:00", now=NOW, expires_at=NOW - dt.timedelta(hours=1))
    message = str(caught.value)
    assert "in the past" in message and "not both" in message and "after the campaign expires" in message
    assert schedule(at=NOW, local_time=None, now=NOW, expires_at=None).at == NOW  # now itself is fine


@pytest.mark.parametrize("bad", ["25:00", "10h", "24:00"])
def test_bad_local_times_are_refused(bad: str) -> None:
    with pytest.raises(DeliveryPolicyError, match="local_time"):
        schedule(at=None, local_time=bad, now=NOW, expires_at=None)


def test_naive_at_is_utc() -> None:
    assert schedule(at=dt.datetime(2026, 7, 2, 9), local_time=None, now=NOW, expires_at=None).at == \
        dt.datetime(2026, 7, 2, 9, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("ahead", "twilio", "expected"),
    [
        (dt.timedelta(0), True, "now"),
        (dt.timedelta(seconds=899), True, "worker"),  # under Twilio's 15 minutes
        (dt.timedelta(seconds=900), True, "twilio"),
        (dt.timedelta(days=35), True, "twilio"),
        (dt.timedelta(days=35, seconds=1), True, "worker"),  # beyond Twilio's 35 days
        (dt.timedelta(hours=1), False, "worker"),  # sandbox / no Messaging Service
    ],
)
def test_who_holds_a_deferred_message(ahead: dt.timedelta, twilio: bool, expected: str) -> None:
    import duckdb

    now = NOW.replace(tzinfo=None)
    got = duckdb.connect().execute(
        f"SELECT {scheduler_sql('$t', twilio=twilio)}", {"t": now + ahead, "now": now}).fetchone()[0]
    assert got == expected


def test_a_price_table_reports_every_bad_row() -> None:
    with pytest.raises(DeliveryPolicyError) as caught:
        price_table([
            {"country": "US", "channel": "sms", "price": 0.0079, "currency": "USD"},
            {"country": "XX", "channel": "sms", "price": -1, "currency": "dollars"},
            {"country": "US", "channel": "sms", "price": 0.01, "currency": "USD"},
        ])
    message = str(caught.value)
    for part in ("row 1: country 'XX'", "row 1: price -1", "row 1: currency 'dollars'", "a second price"):
        assert part in message


def test_a_price_table_needs_its_columns() -> None:
    with pytest.raises(DeliveryPolicyError, match=r"lacks the column\(s\) \['currency'\]"):
        price_table([{"country": "US", "channel": "sms", "price": 0.01}])


def test_a_nested_options_problem_is_named_by_its_path_in_the_sdks_words() -> None:
    with pytest.raises(DeliveryPolicyError) as caught:
        DeliveryPolicy(window={"start": "9"}, caps=[{"limit": 1, "per": "1d"}, {"limit": 0, "per": "7d"}],
                       countries={"DE": {"start": "10:00", "end": "10:00"}}, quiet=True)
    assert [where for where, _ in caught.value.problems] == ["window.start", "countries.DE", "caps.1.limit", "quiet"]
    text = str(caught.value)
    assert "- caps.1.limit: a frequency cap of 0 messages would block every send" in text
    assert "- quiet: is not an option of DeliveryPolicy (its options: window, service_window," in text
    assert "errors.pydantic.dev" not in text and "input_value" not in text


@pytest.mark.parametrize("per", [86400, 24, 1.5])
def test_a_cap_window_without_a_unit_is_refused_not_read_as_nanoseconds(per: float) -> None:
    with pytest.raises(DeliveryPolicyError, match=rf"window {per} has no unit; write it like '24h'"):
        FrequencyCap(limit=1, per=per)
    assert FrequencyCap(limit=1, per=f"{per}s").per == dt.timedelta(seconds=per)
