"""Exact metrics on small hand-built stories, on SQLite and PostgreSQL (``client`` fixture)."""

from __future__ import annotations

import pandas as pd
import pytest

from campaign_sdk.analytics import RATES
from tests.analytics._helpers import at, campaign, convert, counts, reply, row, send

A, B, C, D, E = "+14155550101", "+14155550102", "+14155550103", "+14155550104", "+14155550105"


@pytest.fixture
def story(client):
    """Five leads: read + replied + converted twice, delivered + replied too late, sent + STOP,
    failed (63016), never messaged."""
    spring = campaign(client, "Spring", [A, B, C, D, E])
    send(client, spring, A, at(), "sent", "delivered", "read")
    send(client, spring, B, at(), "sent", "delivered")
    send(client, spring, C, at(), "sent")
    send(client, spring, D, at(), "failed", error_code=63016)
    reply(client, A, at(hours=1))
    reply(client, B, at(days=8))  # outside the 7-day window
    reply(client, C, at(hours=2), "stop.")  # an opt-out, not a reply
    reply(client, A, at(hours=3), "HELP")
    convert(client, A, at(days=2), "order-1")
    convert(client, A, at(days=3), "order-2")  # a second conversion: still one converted lead
    convert(client, A, at(days=3), "order-2")  # a duplicate event: ignored
    convert(client, B, at(days=10), "order-3")  # outside the attribution window
    return spring


def test_counts_and_rates_of_the_story(client, story):
    wide = client.metrics()
    assert counts(wide, "Spring") == {
        "total_leads": 5, "messages_sent": 3, "delivered": 2, "read": 1, "not_received": 1,
        "attempted": 4, "messages_replied": 1, "opted_out": 1, "converted": 1,
    }
    r = row(wide, "Spring")
    assert r["reply_rate"] == pytest.approx(100 / 3)
    assert r["read_rate"] == pytest.approx(50.0)
    assert r["delivery_rate"] == pytest.approx(50.0)  # 2 delivered of 4 whose fate is known
    # 95% Wilson interval of 1 / 3 (Newcombe 1998: 0.0615 to 0.7923)
    assert (r["reply_rate_low"], r["reply_rate_high"]) == pytest.approx((6.149, 79.234), abs=1e-3)
    assert r["top_errors"] == "63016: 1"


def test_windows_are_options(client, story):
    wide = client.metrics(reply_window="9d", attribution_window="11d")
    assert counts(wide, "Spring")["messages_replied"] == 2  # B's reply on day 8 now counts
    assert counts(wide, "Spring")["converted"] == 2
    narrow = client.metrics(reply_window="30m")
    assert counts(narrow, "Spring")["messages_replied"] == 0
    assert counts(narrow, "Spring")["opted_out"] == 0  # the STOP came 2 h after the touch


def test_out_of_order_status_callbacks(client):
    spring = campaign(client, "Spring", [A, B, C])
    send(client, spring, A, at(), "read", "sent", "delivered")  # read first, then the older ones
    send(client, spring, B, at(), "delivered", "undelivered", "sent")  # a late undelivered is stale
    send(client, spring, C, at(), "sent", "failed", "delivered")  # delivered after failed: delivered
    assert counts(client.metrics(), "Spring") == {
        "total_leads": 3, "messages_sent": 3, "delivered": 3, "read": 1, "not_received": 0,
        "attempted": 3, "messages_replied": 0, "opted_out": 0, "converted": 0,
    }


def test_last_touch_credits_the_later_campaign(client):
    first = campaign(client, "First", [A, B])
    second = campaign(client, "Second", [A])
    send(client, first, A, at(), "delivered")
    send(client, first, B, at(), "delivered")
    send(client, second, A, at(days=1), "delivered")
    reply(client, A, at(days=1, hours=1))  # after Second's touch: Second's reply
    reply(client, B, at(hours=2))
    convert(client, A, at(hours=5))  # before Second's touch: First's conversion
    wide = client.metrics()
    assert counts(wide, "First")["messages_replied"] == 1  # B only
    assert counts(wide, "Second")["messages_replied"] == 1
    assert counts(wide, "First")["converted"] == 1
    assert counts(wide, "Second")["converted"] == 0


def test_a_failed_touch_does_not_capture_replies(client):
    first = campaign(client, "First", [A])
    second = campaign(client, "Second", [A])
    send(client, first, A, at(), "delivered")
    send(client, second, A, at(hours=1), "failed", error_code=63024)
    reply(client, A, at(hours=2))
    wide = client.metrics()
    assert counts(wide, "First")["messages_replied"] == 1
    assert counts(wide, "Second")["not_received"] == 1
    assert row(wide, "Second")["top_errors"] == "63024: 1"


def test_window_edges_and_removed_leads(client):
    spring = campaign(client, "Spring", [A, B, C])
    send(client, spring, A, at(), "sent")
    send(client, spring, B, at(), "sent")
    reply(client, A, at(days=7))  # exactly the window: counts
    reply(client, B, at(days=7, seconds=1))  # one second later: does not
    spring.remove_leads([C])
    wide = client.metrics()
    assert counts(wide, "Spring")["total_leads"] == 2
    assert counts(wide, "Spring")["messages_replied"] == 1


def test_latest_message_decides_and_leads_count_once(client):
    spring = campaign(client, "Spring", [A])
    send(client, spring, A, at(), "delivered")
    reply(client, A, at(hours=1))
    send(client, spring, A, at(days=1), "read")  # a second message to the same lead
    reply(client, A, at(days=1, hours=1))
    wide = client.metrics()
    assert counts(wide, "Spring") == {
        "total_leads": 1, "messages_sent": 1, "delivered": 1, "read": 1, "not_received": 0,
        "attempted": 1, "messages_replied": 1, "opted_out": 0, "converted": 0,
    }


def test_campaigns_without_leads_have_zero_counts_and_missing_rates(client):
    campaign(client, "Empty", [])
    wide = client.metrics()
    assert counts(wide, "Empty") == dict.fromkeys(
        ["total_leads", "messages_sent", "delivered", "read", "not_received", "attempted",
         "messages_replied", "opted_out", "converted"], 0)
    assert all(pd.isna(row(wide, "Empty")[rate]) for rate in RATES)


def test_schema_uses_the_same_numbers(client, story):
    schema = story.to_schema()
    r = row(client.metrics(), "Spring")
    assert (schema.total_leads, schema.messages_sent, schema.messages_replied) == (5, 3, 1)
    assert schema.reply_rate == pytest.approx(r["reply_rate"])
    assert schema.conversion_rate == pytest.approx(r["conversion_rate"])
    [listed] = client.schemas([story.id])
    assert listed.reply_rate == pytest.approx(100 / 3)


def test_lead_listing_statuses(client, story):
    leads = story.leads.set_index("phone_number")
    assert leads.loc[A, "status"] == "replied"
    assert leads.loc[B, "status"] == "delivered"
    assert leads.loc[C, "status"] == "opted_out"
    assert leads.loc[D, "status"] == "not_received"
    assert leads.loc[E, "status"] == "pending"
    assert leads.loc[D, "error_code"] == 63016
