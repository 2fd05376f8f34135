"""The CampaignClient / Campaign surface: DataFrames, DTOs, reprs, leads."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

import campaign_sdk as cs
from campaign_sdk import CampaignClient, LeadStatus
from tests.service.test_events import T0, add_sent_message


def _statements(engine: sa.Engine):
    seen: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def test_campaigns_frame_has_the_seed_fields(client: CampaignClient) -> None:
    client.create_campaign("A", template="order_confirmation")
    frame = client.campaigns()
    assert list(frame["name"]) == ["A"]
    for field in ("id", "name", "status", "enabled", "campaign_type", "total_leads", "messages_sent",
                  "messages_replied", "reply_rate", "conversion_rate", "custom_variable_keys",
                  "context_variables", "body"):
        assert field in frame.columns
    assert frame.loc[0, "body"].startswith("Hi {{lead_name}}")


def test_schemas_for_many_campaigns_take_a_constant_number_of_queries(client: CampaignClient) -> None:
    client.create_campaign("A", template="order_confirmation")
    seen = _statements(client.engine)
    client.schemas()
    one = len(seen)
    for name in "BCDEF":
        client.create_campaign(name, template="welcome_offer")
    seen.clear()
    schemas = client.schemas()
    assert len(schemas) == 6
    assert len(seen) == one


def test_schema_aggregates_and_nested_leads(client: CampaignClient) -> None:
    campaign = client.create_campaign("A", template="order_confirmation")
    sid = add_sent_message(client, campaign, "+14155552671")
    add_sent_message(client, campaign, "+14155552672", status=cs.MessageStatus.FAILED)
    campaign.add_leads(pd.DataFrame({"phone_number": ["+14155552673"], "lead_name": ["Bo"], "order_id": ["9"]}))
    client.record_replies([{"sid": "IM1", "from": "+14155552671", "body": "thanks", "received_at": T0 + dt.timedelta(hours=1)}])
    client.record_conversions([{"external_id": "o1", "phone_number": "+14155552671", "occurred_at": T0 + dt.timedelta(days=1)}])
    schema = campaign.to_schema(include_leads=True)
    assert (schema.total_leads, schema.messages_sent, schema.messages_replied) == (3, 1, 1)
    assert schema.reply_rate == 100.0 and schema.conversion_rate == 100.0
    assert schema.custom_variable_keys == ["lead_name", "order_id"]
    statuses = {lead.phone_number: lead.status for lead in schema.leads}
    assert statuses == {"+14155552671": LeadStatus.REPLIED, "+14155552672": LeadStatus.NOT_RECEIVED,
                        "+14155552673": LeadStatus.PENDING}
    assert {lead.message_sid for lead in schema.leads} >= {sid}
    assert all(lead.created_at.tzinfo is not None and lead.created_at.utcoffset() == dt.timedelta(0)
               for lead in schema.leads)


def test_leads_frame_and_soft_removal(client: CampaignClient) -> None:
    campaign = client.create_campaign("A", template="order_confirmation")
    data = pd.DataFrame({"phone": ["(415) 555-2671", "+1 415 555 2672", "+44 20 7946 0958"],
                         "lead_name": ["Ana", "Ben", None], "order_id": ["1", "2", "3"]})
    report = campaign.add_leads(data, phone_column="phone", default_region="US")
    assert report.inserted == 3
    leads = campaign.leads
    assert list(leads["phone_number"]) == ["+14155552671", "+14155552672", "+442079460958"]
    assert leads.loc[2, "custom_variables"] == {"order_id": "3"}  # None is missing, never "None"
    assert set(leads["status"]) == {LeadStatus.PENDING.value}
    assert list(report.missing_variables["row"]) == [2]
    assert campaign.remove_leads(["415.555.2671"], default_region="US") == 1
    assert campaign.remove_leads(pd.DataFrame({"phone_number": ["+14155552671"]})) == 0
    assert list(campaign.leads["phone_number"]) == ["+14155552672", "+442079460958"]
    again = campaign.add_leads(data, phone_column="phone", default_region="US")
    assert (again.inserted, again.updated, again.unchanged) == (0, 1, 2)  # the removed lead is restored
    with pytest.raises(cs.LeadValidationError, match="no 'phone_number' column"):
        campaign.add_leads(data)


def test_reprs_are_short_safe_and_never_leak_passwords(tmp_path) -> None:
    client = CampaignClient(f"sqlite:///{tmp_path / 'x.db'}")
    campaign = client.create_campaign("Promo <b>", template="welcome_offer")
    assert repr(campaign) == f"<Campaign {campaign.id} 'Promo <b>' marketing unsubmitted paused>"
    html = campaign._repr_html_()
    assert "Promo &lt;b&gt;" in html and "Promo <b>" not in html
    engine_url = sa.make_url("postgresql+psycopg://user:s3cret-token@127.0.0.1/db")
    from campaign_sdk._store import safe_url

    assert "s3cret" not in safe_url(sa.create_engine(engine_url))
    assert "s3cret" not in repr(engine_url)
    campaign.delete()
    assert repr(campaign) == f"<Campaign {campaign.id}>"  # a repr never raises
    assert "Campaign" in campaign._repr_html_()


def test_metrics_wide_and_long(client: CampaignClient) -> None:
    campaign = client.create_campaign("A", template="order_confirmation")
    add_sent_message(client, campaign, "+14155552671")
    add_sent_message(client, campaign, "+14155552672")
    client.record_replies([{"sid": "IM1", "from": "+14155552671", "body": "ok", "received_at": T0 + dt.timedelta(days=8)}])
    wide = campaign.metrics()
    assert wide.loc[0, "messages_sent"] == 2
    assert wide.loc[0, "messages_replied"] == 0  # outside the default 7-day reply window
    assert campaign.metrics(reply_window="9d").loc[0, "reply_rate"] == 50.0
    long = client.metrics(shape="long", reply_window="9d")
    rate = long[long["metric"] == "reply_rate"].iloc[0]
    assert (rate["numerator"], rate["denominator"]) == (1, 2)
    assert 9.0 < rate["low"] < 10.0 and 90.0 < rate["high"] < 91.0
    with pytest.raises(ValueError, match="'7 days'"):
        client.metrics(reply_window="7 days")


def test_add_leads_takes_campaign_lead_users(client: CampaignClient) -> None:
    campaign = client.create_campaign("A", template="order_confirmation")
    campaign.add_leads([cs.CampaignLeadUser(phone_number="whatsapp:+14155552671", custom_variables={"lead_name": "Ana", "order_id": 1})])
    user_id = int(campaign.leads.loc[0, "conversation_user_id"])
    other = client.create_campaign("B", template="order_confirmation")
    report = other.add_leads([
        cs.CampaignLeadUser(conversation_user_id=user_id, custom_variables={"lead_name": "Ana"}),
        cs.CampaignLeadUser(conversation_user_id=99999),
    ])
    assert report.inserted == 1
    assert report.rejected[["reason", "column"]].to_dict("records") == [
        {"reason": "unknown_user", "column": "conversation_user_id"}
    ]
    assert other.leads.loc[0, "phone_number"] == "+14155552671"
    assert other.leads.loc[0, "custom_variables"] == {"lead_name": "Ana"}


def test_campaign_lead_user_needs_exactly_one_valid_identity() -> None:
    assert cs.CampaignLeadUser(phone_number="0044 20 7946 0958").phone_number == "+442079460958"
    with pytest.raises(ValueError, match="exactly one of"):
        cs.CampaignLeadUser()
    with pytest.raises(ValueError, match="exactly one of"):
        cs.CampaignLeadUser(phone_number="+14155552671", conversation_user_id=3)
    with pytest.raises(ValueError, match="invalid_phone"):
        cs.CampaignLeadUser(phone_number="+1 000 555 0100")
    with pytest.raises(ValueError, match="must be a mapping"):
        cs.CampaignLeadUser(phone_number="+14155552671", custom_variables=["a"])
    with pytest.raises(ValueError, match="'tags' must be a single value"):
        cs.CampaignLeadUser(phone_number="+14155552671", custom_variables={"tags": ["a", "b"]})
    lead = cs.CampaignLeadUser(phone_number="+14155552671", custom_variables={"a": None, "b": float("nan"), "c": " x ", "d": 5})
    assert lead.custom_variables == {"c": "x", "d": "5"}


def test_identity_names_cannot_be_custom_variables() -> None:
    with pytest.raises(ValueError, match="phone_number name the lead itself"):
        cs.CampaignLeadUser(phone_number="+14155552671", custom_variables={"phone_number": "+14155552672"})


def test_rejected_unknown_users_are_not_reported_as_missing_variables(client: CampaignClient) -> None:
    campaign = client.create_campaign("A", template="order_confirmation")
    report = campaign.add_leads([cs.CampaignLeadUser(conversation_user_id=4242)])
    assert list(report.rejected["reason"]) == ["unknown_user"]
    assert report.missing_variables.empty


def test_nested_leads_belong_to_their_own_campaign(client: CampaignClient) -> None:
    a = client.create_campaign("A", template="order_confirmation")
    b = client.create_campaign("B", template="order_confirmation")
    client.create_campaign("Empty", template="order_confirmation")
    a.add_leads(pd.DataFrame({"phone_number": ["+14155552671", "+14155552672"]}))
    b.add_leads(pd.DataFrame({"phone_number": ["+14155552673"]}))
    phones = {s.name: sorted(lead.phone_number for lead in s.leads) for s in client.schemas(include_leads=True)}
    assert phones == {"A": ["+14155552671", "+14155552672"], "B": ["+14155552673"], "Empty": []}
    assert all(s.leads is None for s in client.schemas())
