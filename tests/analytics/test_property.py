"""Property: on random stores, the DuckDB path gives exactly what the plain-Python reference
(``_reference``) computes from the same rows, per campaign and per lead.

Times sit on a 12-hour grid, so ties (two campaigns touching one number at the same instant,
replies exactly one window after a touch) are common. One client serves every example: each
example replaces the whole store, so the mirror's incremental refresh is exercised too.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaign_sdk.analytics import lead_facts
from campaign_sdk.models import (
    Campaign,
    CampaignLead,
    ConversationUser,
    Conversion,
    InboundMessage,
    OutboundMessage,
)
from tests.analytics._reference import COUNTS, reference

BASE = dt.datetime(2026, 5, 4, 8, 0, tzinfo=dt.UTC)
STATUSES = ["queued", "accepted", "sending", "sent", "delivered", "read", "failed", "undelivered", "canceled"]
KINDS = {"reply": "Sure!", "opt_out": "STOP", "opt_in": "START", "help": "HELP"}
WINDOWS = [dt.timedelta(days=1), dt.timedelta(days=3, hours=12), dt.timedelta(days=7)]
_ids = itertools.count(1)  # fresh ids in every example, as a real store never reuses them


def _time(step: int) -> dt.datetime:
    return BASE + dt.timedelta(hours=12 * step)


@st.composite
def stores(draw: st.DrawFn) -> dict[str, list[dict]]:
    users = draw(st.integers(1, 5))
    campaigns = draw(st.integers(1, 3))
    data: dict[str, list[dict]] = {k: [] for k in ("users", "campaigns", "leads", "messages", "inbound", "conversions")}
    user_ids = [next(_ids) for _ in range(users)]
    for user_id in user_ids:
        data["users"].append({"id": user_id, "phone_number": f"+1415555{user_id % 10000:04d}", "created_at": BASE})
    for _ in range(campaigns):
        campaign_id = next(_ids)
        data["campaigns"].append({
            "id": campaign_id, "name": f"c{campaign_id}", "campaign_type": "marketing", "status": "approved",
            "approval_state": "approved", "content_type": "twilio/text", "content": {"body": "hi"},
            "created_at": BASE, "updated_at": BASE,
        })
        members = draw(st.lists(st.sampled_from(user_ids), unique=True, max_size=users))
        for user_id in members:
            lead_id = next(_ids)
            removed = draw(st.booleans()) and draw(st.booleans()) and draw(st.booleans())
            data["leads"].append({
                "id": lead_id, "campaign_id": campaign_id, "user_id": user_id, "custom_variables": {},
                "removed_at": BASE if removed else None, "created_at": BASE, "updated_at": BASE,
            })
            for _ in range(draw(st.integers(0, 2))):
                status = draw(st.sampled_from(STATUSES))
                created = _time(draw(st.integers(0, 30)))
                data["messages"].append({
                    "id": next(_ids), "sid": f"SM{next(_ids):032x}", "campaign_id": campaign_id,
                    "lead_id": lead_id, "user_id": user_id, "to_number": "whatsapp:+1", "status": status,
                    "error_code": 63016 if status in ("failed", "undelivered") else None,
                    "created_at": created, "status_at": created,
                })
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(sorted(KINDS)))
        data["inbound"].append({
            "id": next(_ids), "sid": f"IN{next(_ids)}", "user_id": draw(st.sampled_from(user_ids)),
            "body": KINDS[kind], "kind": kind, "received_at": _time(draw(st.integers(0, 40))),
        })
    for _ in range(draw(st.integers(0, 5))):
        data["conversions"].append({
            "id": next(_ids), "external_id": f"o{next(_ids)}", "user_id": draw(st.sampled_from(user_ids)),
            "occurred_at": _time(draw(st.integers(0, 40))), "value": None,
        })
    return data


_TABLES = [  # insert order; deletes run backwards
    ("users", ConversationUser), ("campaigns", Campaign), ("leads", CampaignLead),
    ("messages", OutboundMessage), ("inbound", InboundMessage), ("conversions", Conversion),
]


def _replace_store(client, data: dict[str, list[dict]]) -> None:
    with client.transaction() as session:
        for _, model in reversed(_TABLES):
            session.execute(sa.delete(model.__table__))
        for key, model in _TABLES:
            if data[key]:
                session.execute(sa.insert(model.__table__), data[key])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=stores(), reply_window=st.sampled_from(WINDOWS), attribution_window=st.sampled_from(WINDOWS))
def test_duckdb_metrics_equal_the_plain_python_reference(client, data, reply_window, attribution_window):
    _replace_store(client, data)
    wide = client.metrics(reply_window=reply_window, attribution_window=attribution_window)
    with client.transaction() as session:
        expected = reference(session, reply_window, attribution_window)

    got = {int(r["campaign_id"]): {k: int(r[k]) for k in COUNTS} for _, r in wide.iterrows()}
    assert got == expected["campaigns"]

    facts = lead_facts(client.engine, reply_window=reply_window, attribution_window=attribution_window)
    flags = {
        "messages_sent": "is_sent", "delivered": "is_delivered", "read": "is_read",
        "not_received": "is_not_received", "messages_replied": "is_replied", "opted_out": "is_opted_out",
        "converted": "is_converted",
    }
    got_leads = {
        int(r["lead_id"]): {"total_leads": True, **{k: bool(r[v]) for k, v in flags.items()},
                            "attempted": bool(r["is_sent"]) or bool(r["is_not_received"])}
        for _, r in facts.iterrows()
    }
    assert got_leads == expected["leads"]


@pytest.mark.parametrize("window", WINDOWS)
def test_reference_agrees_on_a_hand_checked_store(client, window):
    """The reference itself, on a store small enough to check by hand: one touch, a reply one
    window later (counts) and one a second after that (does not)."""
    data = {k: [] for k in ("users", "campaigns", "leads", "messages", "inbound", "conversions")}
    data["users"] = [{"id": 1, "phone_number": "+14155550001", "created_at": BASE}]
    data["campaigns"] = [{"id": 1, "name": "only", "campaign_type": "marketing", "status": "approved",
                          "approval_state": "approved", "content_type": "twilio/text", "content": {"body": "hi"},
                          "created_at": BASE, "updated_at": BASE}]
    data["leads"] = [{"id": 1, "campaign_id": 1, "user_id": 1, "custom_variables": {}, "removed_at": None,
                      "created_at": BASE, "updated_at": BASE}]
    data["messages"] = [{"id": 1, "sid": "SM1", "campaign_id": 1, "lead_id": 1, "user_id": 1, "to_number": "x",
                         "status": "delivered", "error_code": None, "created_at": BASE, "status_at": BASE}]
    data["inbound"] = [{"id": 1, "sid": "IN1", "user_id": 1, "body": "ok", "kind": "reply",
                        "received_at": BASE + window + dt.timedelta(seconds=1)}]
    data["conversions"] = [{"id": 1, "external_id": "o1", "user_id": 1, "occurred_at": BASE + window, "value": None}]
    _replace_store(client, data)
    with client.transaction() as session:
        expected = reference(session, window, window)
    assert expected["campaigns"][1]["messages_replied"] == 0
    assert expected["campaigns"][1]["converted"] == 1
    got = client.metrics(reply_window=window, attribution_window=window).iloc[0]
    assert (got["messages_replied"], got["converted"]) == (0, 1)
