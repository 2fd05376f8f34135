"""Shapes, groups, periods, funnel, reply times, SQL, figures, errors and the written definitions."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure

import campaign_sdk.analytics as analytics
from campaign_sdk import CampaignClient, CampaignNotFoundError
from campaign_sdk.analytics import AnalyticsError
from tests.analytics._helpers import T0, at, campaign, convert, counts, reply, send

A, B, C, D = "+14155550101", "+14155550102", "+14155550103", "+14155550104"
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def two_weeks(client):
    """Spring (marketing): A and B messaged on Monday week 1, C on Monday week 2, D never.
    Summer (service): A messaged on day 1. Cities and variants as custom variables."""
    spring = campaign(client, "Spring", [A, B, C, D],
                      variables={"city": ["Austin", "Boston", "Austin", None], "variant": ["x", "y", "x", "y"]})
    summer = campaign(client, "Summer", [A], campaign_type="service", variables={"city": ["Austin"]})
    send(client, spring, A, at(), "read")
    send(client, spring, B, at(hours=2), "delivered")
    send(client, spring, C, at(days=7), "failed", error_code=63016)
    send(client, summer, A, at(days=1), "delivered")
    reply(client, B, at(hours=3))
    reply(client, A, at(days=1, hours=2))  # Summer's (last touch)
    convert(client, B, at(days=1))
    return spring, summer


def test_long_shape_is_tidy(client, two_weeks):
    long = client.metrics(shape="long")
    assert list(long.columns) == ["campaign_id", "campaign", "metric", "value", "numerator", "denominator", "low", "high"]
    assert len(long) == 2 * (9 + 5)  # 9 counts and 5 rates per campaign
    reply_rate = long[(long["campaign"] == "Spring") & (long["metric"] == "reply_rate")].iloc[0]
    assert (reply_rate["numerator"], reply_rate["denominator"]) == (1, 2)
    assert reply_rate["value"] == pytest.approx(50.0)
    assert reply_rate["low"] < 50 < reply_rate["high"]
    total = long[(long["campaign"] == "Spring") & (long["metric"] == "total_leads")].iloc[0]
    assert total["value"] == 4 and pd.isna(total["numerator"])


def test_by_day_week_variable_and_type(client, two_weeks):
    by_week = client.metrics(by="week", campaigns=["Spring"])
    assert list(by_week["week"]) == [pd.Timestamp("2026-03-02"), pd.Timestamp("2026-03-09"), pd.NaT]
    assert list(by_week["messages_sent"]) == [2, 0, 0]
    assert list(by_week["not_received"]) == [0, 1, 0]
    assert by_week["top_errors"].tolist()[1] == "63016: 1"

    by_day = client.metrics(by="day")
    summer = by_day[by_day["campaign"] == "Summer"]
    assert list(summer["day"]) == [pd.Timestamp("2026-03-03")]

    by_city = client.metrics(by="city", campaigns=["Spring"]).set_index("city", drop=False)
    assert by_city.loc["Austin", "total_leads"] == 2
    assert by_city.loc["Boston", "messages_replied"] == 1
    assert by_city["city"].isna().sum() == 1  # D has no city

    by_variant = client.metrics(by="variant", shape="long")
    assert {"variant", "metric"} <= set(by_variant.columns)

    by_type = client.metrics(by="campaign_type").set_index("campaign")
    assert by_type.loc["Summer", "campaign_type"] == "service"
    assert by_type.loc["Summer", "messages_replied"] == 1


def test_start_and_end_select_leads_by_their_message_time(client, two_weeks):
    first_week = client.metrics(campaigns=["Spring"], start="2026-03-02", end=dt.datetime(2026, 3, 9, tzinfo=dt.UTC))
    assert counts(first_week, "Spring")["total_leads"] == 2
    later = client.metrics(campaigns=["Spring"], start=T0 + dt.timedelta(days=3))
    assert counts(later, "Spring")["total_leads"] == 1
    assert counts(later, "Spring")["not_received"] == 1


def test_campaign_metrics_and_funnel(client, two_weeks):
    spring, _ = two_weeks
    assert list(spring.metrics()["campaign"]) == ["Spring"]
    funnel = spring.funnel().set_index("step")
    assert list(funnel.index) == ["sent", "delivered", "read", "replied", "converted"]
    assert funnel["leads"].tolist() == [2, 2, 1, 1, 1]
    assert funnel.loc["sent", "step_rate"] == pytest.approx(50.0)  # 2 of 4 leads
    assert funnel.loc["read", "step_rate"] == pytest.approx(50.0)
    assert funnel.loc["replied", "step_rate"] == pytest.approx(100.0)
    assert funnel.loc["converted", "rate_of_sent"] == pytest.approx(50.0)
    assert funnel.loc["read", "step_rate_low"] < 50 < funnel.loc["read", "step_rate_high"]


def test_replied_beyond_read_has_no_interval(client):
    spring = campaign(client, "Spring", [A, B])
    send(client, spring, A, at(), "delivered")
    send(client, spring, B, at(), "delivered")
    reply(client, A, at(hours=1))
    reply(client, B, at(hours=1))
    funnel = spring.funnel().set_index("step")
    assert funnel.loc["read", "leads"] == 0 and funnel.loc["replied", "leads"] == 2
    assert pd.isna(funnel.loc["replied", "step_rate"])  # the read step is empty
    assert pd.isna(funnel.loc["replied", "step_rate_low"])


def test_reply_times(client, two_weeks):
    times = client.reply_times()
    # B: touched at 2 h, replied at 3 h; A: touched by Summer on day 1, replied 2 h later
    assert set(zip(times["campaign"], times["time_to_reply"])) == {
        ("Spring", pd.Timedelta(hours=1)), ("Summer", pd.Timedelta(hours=2)),
    }
    only_summer = client.reply_times(campaigns=["Summer"])
    assert list(only_summer["campaign"]) == ["Summer"]


def test_sql_relation_composes_and_is_fresh(client, two_weeks):
    relation = client.sql("select campaign_id, count(*) as n from messages group by campaign_id")
    assert sorted(relation.fetchall()) == [(1, 3), (2, 1)]
    assert relation.filter("campaign_id = 2").fetchall() == [(2, 1)]
    kinds = client.sql("select kind, count(*) from replies group by kind").fetchall()
    assert kinds == [("reply", 2)]
    reply(client, C, at(days=7, hours=1), "STOP")
    assert sorted(client.sql("select kind from replies").fetchall()) == [("opt_out",), ("reply",), ("reply",)]
    assert client.sql("select count(*) from leads where campaign_id = $c", {"c": 1}).fetchall() == [(4,)]
    views = {r[0] for r in client.sql("select view_name from duckdb_views() where not internal").fetchall()}
    assert {"campaigns", "users", "leads", "messages", "replies", "conversions"} <= views


def test_figures(client, two_weeks):
    spring, _ = two_weeks
    funnel = analytics.funnel_chart(spring.funnel(), title="Spring")
    assert isinstance(funnel, Figure)
    bars = funnel.axes[0].patches
    assert [int(b.get_width()) for b in bars] == [2, 2, 1, 1, 1]
    rates = analytics.rates_chart(client.metrics(by="day"), rate="delivery_rate")
    assert {line.get_label() for line in rates.axes[0].get_lines()} == {"Spring", "Summer"}
    hist = analytics.reply_times_chart(client.reply_times())
    for figure in (funnel, rates, hist):
        png = io.BytesIO()
        figure.savefig(png, format="png")
        assert png.getvalue().startswith(b"\x89PNG")
        # a notebook shows the returned figure as a picture, without %matplotlib magic
        assert figure._repr_png_().startswith(b"\x89PNG")
    with pytest.raises(AnalyticsError, match="by='day'"):
        analytics.rates_chart(client.metrics())
    with pytest.raises(AnalyticsError, match="not a rate"):
        analytics.rates_chart(client.metrics(by="day"), rate="replies")


@pytest.mark.parametrize(("options", "message"), [
    ({"reply_window": "7 days"}, "write it like '7d'"),
    ({"attribution_window": "-2d"}, "write it like"),
    ({"reply_window": dt.timedelta(0)}, "must be positive"),
    ({"shape": "tall"}, "'wide' or 'long'"),
    ({"by": ""}, "custom variable"),
    ({"by": "reply_rate"}, "name of a metrics column"),
    ({"by": 'ci"ty'}, "quotes"),
    ({"start": "2026-03-09", "end": "2026-03-02"}, "must be before end"),
    ({"start": "last tuesday"}, "not a date"),
])
def test_bad_options_are_explained(options_client, options, message):
    with pytest.raises(AnalyticsError, match=re.escape(message)):
        options_client.metrics(**options)


@pytest.fixture(scope="module")
def options_client():
    """Options are checked before the store is read: one in-memory store serves every case."""
    with CampaignClient("sqlite:///:memory:") as client:
        campaign(client, "Spring", [A])
        yield client


def test_unknown_campaign(client):
    with pytest.raises(CampaignNotFoundError):
        client.metrics(campaigns=["Nope"])


def test_readme_states_the_definitions_of_the_code():
    """The README's "Metric definitions" section says what ``_definitions`` says, bullet for bullet."""
    text = README.read_text()
    match = re.search(r"^## Metric definitions\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, "README.md has no '## Metric definitions' section"
    normalise = lambda s: re.sub(r"\s+", " ", s.replace("`", "")).strip()  # noqa: E731
    bullets = [normalise(b) for b in re.split(r"\n- ", "\n" + analytics.DEFINITIONS.split("\n\n", 1)[1]) if b.strip()]
    section = normalise(match.group(1))
    for bullet in bullets:
        assert bullet in section, bullet


def test_public_names_are_sorted():
    assert analytics.__all__ == sorted(analytics.__all__)
    assert all(hasattr(analytics, name) for name in analytics.__all__)
