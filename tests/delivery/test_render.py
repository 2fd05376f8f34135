"""The one renderer: a lead's message and its content checks, per lead in Python (the send path)
and for every lead in DuckDB SQL (plan / preflight), agree; and the plan shows each arm's own content."""

from __future__ import annotations

import functools

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaign_sdk import CampaignClient, TwilioCardContext, TwilioTextContext
from campaign_sdk.delivery._render import LeadTemplate, message_sql, reason_sql
from campaign_sdk.sending._preflight import LeadCheck

BODY = "Hi {{lead_name}}, your order {{order_id}} ships {{lead_name}}!"
_VALUE = st.one_of(
    st.none(),
    st.lists(st.sampled_from(list("ab Z\n\t\r\u00a0\u2003é😀中") + ["     "]), max_size=12).map("".join),
    st.text(st.sampled_from(list("xyz")), min_size=300, max_size=700),  # long: past 1,024 when filled in
)


@functools.cache
def _duckdb() -> duckdb.DuckDBPyConnection:
    """One in-memory database for the module's queries (opening one costs ~20 ms of CPU, which the
    hypothesis test below paid per example); each query re-registers its own ``leads``."""
    return duckdb.connect()


def _sql(template: LeadTemplate, rows: list[dict[str, object]]) -> list[tuple[object, object]]:
    con = _duckdb()
    frame = pd.DataFrame({k: pd.Series([r.get(k) for r in rows], dtype=object) for k in template.slots})
    con.register("leads", frame)
    cols = {k: f'"{k}"' for k in template.slots}
    return con.execute(f"SELECT {reason_sql(template, cols)}, {message_sql(template, cols)} FROM leads").fetchall()


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.fixed_dictionaries({"lead_name": _VALUE, "order_id": _VALUE}), min_size=1, max_size=5))
def test_the_sql_reasons_and_messages_agree_with_the_python_ones(rows: list[dict[str, object]]) -> None:
    template = LeadTemplate.of(TwilioTextContext(body=BODY))
    assert _sql(template, rows) == [(template.reason(r), template.message(r)) for r in rows]


@pytest.mark.parametrize("channel", ["whatsapp", "sms"])
def test_the_limit_is_the_channels_and_counts_utf16_units(channel: str) -> None:
    template = LeadTemplate.of(TwilioTextContext(body=BODY), channel=channel)
    fixed = len(BODY) - 2 * len("{{lead_name}}") - len("{{order_id}}")
    limit = 1024 if channel == "whatsapp" else 1600
    emoji = (limit - fixed - 10) // 4  # the name appears twice, 2 UTF-16 units per emoji
    fits = {"lead_name": "😀" * emoji, "order_id": "A" * (limit - fixed - 4 * emoji)}  # exactly the limit
    over = {**fits, "order_id": fits["order_id"] + "1"}
    assert (template.reason(fits), template.reason(over)) == (None, "message_too_long")
    got = _sql(template, [fits, over])
    assert [g[0] for g in got] == [template.reason(fits), template.reason(over)]
    assert LeadCheck(TwilioTextContext(body=BODY), channel=channel).content_reason(over) == template.reason(over)


def test_a_cards_limit_reads_its_body_not_its_buttons() -> None:
    card = TwilioCardContext(title="Order {{order_id}}", body="Hi {{lead_name}}")
    template = LeadTemplate.of(card)
    assert template.body_keys == ("lead_name",) and "order_id" in template.keys
    long_order = {"lead_name": "Ana", "order_id": "x" * 1100}
    assert template.reason(long_order) is None and _sql(template, [long_order])[0][0] is None
    assert template.reason({**long_order, "lead_name": "n" * 1022}) == "message_too_long"


def test_plan_and_preflight_report_the_same_per_lead_checks(client: CampaignClient) -> None:
    fixed = len("Hi , new offers in !")
    frame = pd.DataFrame({
        "phone_number": [f"+1415555{i:04d}" for i in range(5)],
        "lead_name": ["Ana", "n" * (1025 - fixed - 6), "Bo\nCarla", " ", "n" * (1024 - fixed - 6)],
        "city": ["Lisbon"] * 5,
    })
    campaign = client.create_campaign("Checks", content=TwilioTextContext(body="Hi {{lead_name}}, new offers in {{city}}!"))
    campaign.add_leads(frame)
    plan = campaign.plan().set_index("phone_number")
    reasons = {p: r for p, r in plan["reason"].items() if r in ("message_too_long", "value_format", "missing_variables")}
    assert reasons == {"+14155550001": "message_too_long", "+14155550002": "value_format",
                       "+14155550003": "missing_variables"}
    assert set(plan.loc[list(reasons), "action"]) == {"skip"}
    check = campaign.preflight()
    assert check.to_send + sum(check.deferred.values()) == 2  # sent now or deferred
    assert check.skipped == {"missing_variables": 1, "message_too_long": 1, "value_format": 1}
    assert dict(zip(check.skipped_leads["phone_number"], check.skipped_leads["reason"], strict=True)) == reasons


def test_each_variant_row_is_rendered_with_its_own_content(client: CampaignClient) -> None:
    campaign = client.create_campaign("Split", content=TwilioTextContext(body="Own {{lead_name}} text"))
    campaign.set_experiment({"A": TwilioTextContext(body="Hi {{lead_name}}, enjoy 10% off this week!"),
                             "B": TwilioTextContext(body="Hi {{lead_name}}, free delivery in {{city}} this week!")},
                            holdout=0.2, seed="render")
    campaign.add_leads(pd.DataFrame({"phone_number": [f"+1415555{i:04d}" for i in range(60)],
                                     "lead_name": "Kim", "city": ["", "Porto"] * 30}))
    plan = campaign.plan()
    assert set(plan["variant"]) == {"A", "B", "holdout"}
    a, b, held = (plan[plan["variant"] == v] for v in ("A", "B", "holdout"))
    assert set(a["message"]) == {"Hi Kim, enjoy 10% off this week!"} and set(a["action"]) <= {"send", "defer"}
    assert set(b["message"]) == {"Hi Kim, free delivery in Porto this week!",
                                "Hi Kim, free delivery in [missing: city] this week!"}
    # B needs a city; A does not: only B's leads without one are skipped for it
    assert set(b.loc[b["message"].str.contains("missing"), "reason"]) == {"missing_variables"}
    assert set(held["action"]) == {"holdout"} and set(held["reason"]) == {"holdout"}
    check = campaign.preflight()
    assert set(check.preview["variant"]) <= {"A", "B"}
    assert check.skipped["holdout"] == len(held)
    assert check.to_send + sum(check.deferred.values()) == int(plan["action"].isin(["send", "defer"]).sum())


def test_a_winner_sends_the_rest_its_own_content(client: CampaignClient) -> None:
    campaign = client.create_campaign("Winner", content=TwilioTextContext(body="Own {{lead_name}} text"))
    campaign.set_experiment({"A": TwilioTextContext(body="Variant A for {{lead_name}} today"),
                             "B": TwilioTextContext(body="Variant B for {{lead_name}} today")},
                            test_fraction=0.5, seed="rest")
    campaign.add_leads(pd.DataFrame({"phone_number": [f"+1415555{i:04d}" for i in range(40)], "lead_name": "Kim"}))
    rest = campaign.plan().query("variant == 'rest'")
    assert len(rest) and set(rest["reason"]) == {"awaiting_winner"} and set(rest["action"]) == {"skip"}
    with client.transaction() as session:  # what send_winner records once B has won
        from campaign_sdk.service import get_campaign

        row = get_campaign(session, campaign.id)
        row.winner_variant = "B"
    rest = campaign.plan().query("variant == 'rest'")
    assert set(rest["message"]) == {"Variant B for Kim today"} and set(rest["action"]) <= {"send", "defer"}
