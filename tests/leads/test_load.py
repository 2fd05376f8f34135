"""``Campaign.add_leads`` / ``remove_leads`` on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

import campaign_sdk as cs
from campaign_sdk import CampaignClient
from campaign_sdk.models import CampaignLead, ConversationUser
from campaign_sdk.service import _leads


@pytest.fixture(autouse=True, params=["in memory", "staged"])
def dedup_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs both ways a load finds its last rows: in memory (inputs that fit the
    buffer) and in the staging table (larger inputs; a zero buffer sends every row there)."""
    if request.param == "staged":
        monkeypatch.setattr(_leads, "BUFFER_BYTES", 0)
    return str(request.param)


@pytest.fixture
def campaign(client: CampaignClient) -> cs.Campaign:
    return client.create_campaign("Orders", template="order_confirmation")  # needs lead_name, order_id


def stored(client: CampaignClient, campaign: cs.Campaign) -> dict[str, tuple[dict[str, Any], bool]]:
    """phone -> (custom variables, removed?) for every lead of the campaign, removed ones too."""
    with client.transaction() as session:
        rows = session.execute(
            sa.select(ConversationUser.phone_number, CampaignLead.custom_variables, CampaignLead.removed_at)
            .join(CampaignLead, CampaignLead.user_id == ConversationUser.id)
            .where(CampaignLead.campaign_id == campaign.id)
        ).all()
    return {phone: (variables, removed is not None) for phone, variables, removed in rows}


def user_count(client: CampaignClient) -> int:
    with client.transaction() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(ConversationUser))


def counts(report: cs.LeadLoadReport) -> tuple[int, ...]:
    return (report.inserted, report.updated, report.unchanged, report.duplicates, report.skipped_opted_out,
            report.rejected_count)


def check_every_row_counted(report: cs.LeadLoadReport) -> None:
    assert report.total_rows == sum(counts(report))


def test_every_reason_code_is_reported_with_its_row(client: CampaignClient, campaign: cs.Campaign) -> None:
    data = pd.DataFrame({
        "phone": ["+14155552671", None, "4155552672", "+999 123 456", "+1 415 555", "+4929141777631706",
                  "ignored", "ignored", "+14155552673"],
        "user": [None, None, None, None, None, None, "12.5", "777777", None],
        "lead_name": ["Ana", "Ben", "Cy", "Di", "Ed", "Flo", "Gus", "Hal", None],
        "order_id": ["1", "2", "3", "4", "5", "6", "7", "8", "9"],
    })
    report = campaign.add_leads(data, phone_column="phone", user_id_column="user", strict=True)
    rejected = report.rejected
    assert list(rejected["row"]) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert list(rejected["reason"]) == [
        "missing_phone", "no_region", "unparseable_phone", "invalid_phone", "phone_too_long",
        "invalid_user_id", "unknown_user", "missing_variables",
    ]
    assert list(rejected["column"]) == ["phone"] * 5 + ["user", "user", "lead_name"]
    assert list(rejected["value"]) == [None, "4155552672", "+999 123 456", "+1 415 555", "+4929141777631706",
                                       "12.5", "777777", None]
    assert rejected.loc[1, "message"].startswith("'4155552672' is not in international format")
    assert "21656" in rejected.loc[7, "message"]
    assert counts(report) == (1, 0, 0, 0, 0, 8)
    check_every_row_counted(report)
    assert set(stored(client, campaign)) == {"+14155552671"}


def test_duplicates_collapse_and_the_last_row_wins(client: CampaignClient, campaign: cs.Campaign) -> None:
    data = pd.DataFrame({
        "phone_number": ["+14155552671", "(415) 555-2671", "+14155552672", "whatsapp:+14155552671", "415.555.2672"],
        "lead_name": ["first", "second", "Bo", "last", None],
        "order_id": ["1", "2", "3", "4", "5"],
    })
    report = campaign.add_leads(data, default_region="US", chunk_size=2)  # duplicates across chunks
    assert counts(report) == (2, 0, 0, 3, 0, 0)
    assert report.duplicate_rows.to_dict("records") == [
        {"row": 0, "kept_row": 3, "phone_number": "+14155552671"},
        {"row": 1, "kept_row": 3, "phone_number": "+14155552671"},
        {"row": 2, "kept_row": 4, "phone_number": "+14155552672"},
    ]
    assert stored(client, campaign) == {
        "+14155552671": ({"lead_name": "last", "order_id": "4"}, False),
        "+14155552672": ({"order_id": "5"}, False),  # the last row wins whole, missing values too
    }
    assert report.missing_variables.to_dict("records") == [
        {"row": 4, "phone_number": "+14155552672", "missing": ["lead_name"]}
    ]


def test_reloading_changes_nothing_and_changes_are_updates(client: CampaignClient, campaign: cs.Campaign) -> None:
    data = pd.DataFrame({"phone_number": ["+14155552671", "+14155552672", "+14155552673"],
                         "lead_name": ["Ana", "Bo", "Cy"], "order_id": ["1", "2", "3"]})
    assert counts(campaign.add_leads(data)) == (3, 0, 0, 0, 0, 0)
    users = user_count(client)
    again = campaign.add_leads(data)
    assert counts(again) == (0, 0, 3, 0, 0, 0)
    assert user_count(client) == users
    campaign.remove_leads(["+14155552673"])
    changed = data.assign(order_id=["1", "20", "3"])
    report = campaign.add_leads(changed)
    assert counts(report) == (0, 2, 1, 0, 0, 0)  # a changed variable, and a restored lead
    assert stored(client, campaign)["+14155552672"] == ({"lead_name": "Bo", "order_id": "20"}, False)
    assert stored(client, campaign)["+14155552673"][1] is False


def test_a_lead_stored_by_the_orm_path_reloads_unchanged(client: CampaignClient, campaign: cs.Campaign) -> None:
    campaign.add_leads([cs.CampaignLeadUser(phone_number="+14155552671", custom_variables={"lead_name": "Zoë", "order_id": 7})])
    report = campaign.add_leads(pd.DataFrame({"phone_number": ["+14155552671"], "lead_name": ["Zoë"], "order_id": [7]}))
    assert counts(report) == (0, 0, 1, 0, 0, 0)


def test_missing_values_are_never_text(client: CampaignClient, campaign: cs.Campaign) -> None:
    data = pd.DataFrame({
        "phone_number": ["+14155552671", "+14155552672", "+14155552673"],
        "lead_name": [math.nan, None, "   "],
        "order_id": [pd.NA, "", " 7 "],
        "score": [1.5, math.nan, 3.0],
        "when": pd.to_datetime(["2026-01-02", None, "2026-01-03"]),
    })
    report = campaign.add_leads(data)
    assert stored(client, campaign) == {
        "+14155552671": ({"score": "1.5", "when": "2026-01-02 00:00:00"}, False),
        "+14155552672": ({}, False),
        "+14155552673": ({"order_id": "7", "score": "3.0", "when": "2026-01-03 00:00:00"}, False),
    }
    assert report.missing_variables.to_dict("records") == [
        {"row": 0, "phone_number": "+14155552671", "missing": ["lead_name", "order_id"]},
        {"row": 1, "phone_number": "+14155552672", "missing": ["lead_name", "order_id"]},
        {"row": 2, "phone_number": "+14155552673", "missing": ["lead_name"]},
    ]


def test_variables_are_stored_exactly_as_json_dumps_writes_them(client: CampaignClient, campaign: cs.Campaign) -> None:
    tricky = ['say "hi"', "back\\slash", "tab\tand\nnewline", "Zoë 🎉", "a\u2028b", "\x7f", "plain"]
    data = pd.DataFrame({"phone_number": [f"+1415555{2671 + i}" for i in range(len(tricky))],
                         "lead_name": tricky, "order_id": "x"})
    campaign.add_leads(data)
    leads = stored(client, campaign)
    assert [leads[p][0]["lead_name"] for p in data["phone_number"]] == tricky
    if client.engine.dialect.name == "sqlite":
        with client.engine.connect() as connection:
            texts = connection.exec_driver_sql("SELECT custom_variables FROM campaign_leads ORDER BY id").scalars().all()
        assert texts == [json.dumps({"lead_name": v, "order_id": "x"}) for v in tricky]


def test_variables_subset_and_user_id_rows(client: CampaignClient, campaign: cs.Campaign) -> None:
    campaign.add_leads(pd.DataFrame({"phone_number": ["+14155552671"], "lead_name": ["Ana"], "order_id": ["1"]}))
    user_id = int(campaign.leads.loc[0, "conversation_user_id"])
    other = client.create_campaign("Other", template="order_confirmation")
    data = pd.DataFrame({
        "phone_number": ["+14155552671", None, "+14155552672"],
        "uid": [None, str(user_id), None],
        "lead_name": ["by phone", "by id", "Bo"],
        "order_id": ["1", "2", "3"],
        "secret": ["x", "y", "z"],
    })
    report = other.add_leads(data, user_id_column="uid", variables=["lead_name", "order_id"])
    assert counts(report) == (2, 0, 0, 1, 0, 0)  # row 0 and row 1 are the same person: row 1 wins
    assert report.duplicate_rows.to_dict("records") == [{"row": 0, "kept_row": 1, "phone_number": "+14155552671"}]
    assert stored(client, other)["+14155552671"] == ({"lead_name": "by id", "order_id": "2"}, False)


def test_people_who_opted_out_are_skipped(client: CampaignClient, campaign: cs.Campaign) -> None:
    client.record_replies([{"sid": "SM1", "from": "+14155552671", "body": "STOP"}])
    data = pd.DataFrame({"phone_number": ["+14155552671", "+14155552672", "+14155552673", "+14155552671"],
                         "lead_name": [None, "B", None, None], "order_id": ["1", "2", "3", "4"]})
    report = campaign.add_leads(data)
    assert counts(report) == (2, 0, 0, 1, 1, 0)
    assert report.opted_out_rows.to_dict("records") == [{"row": 3, "phone_number": "+14155552671"}]
    assert report.duplicate_rows["row"].tolist() == [0]
    # lacking a variable is reported for the leads stored, not for the person skipped
    assert report.missing_variables["row"].tolist() == [2]
    assert set(stored(client, campaign)) == {"+14155552672", "+14155552673"}


def test_csv_and_parquet_inputs_read_the_same(client: CampaignClient, tmp_path) -> None:
    frame = pd.DataFrame({
        "phone_number": ["+14155552671", "00442079460958", "(415) 555-2672", "nan", "NA", "bad", "+14155552671"],
        "lead_name": ["Ana, \"the\" first", "Zoë\nSmith", "nan", "Cy", "Di", "Ed", "Ana again"],
        "order_id": ["007", "2", "3", "4", "5", "6", "1"],
    })
    csv_path, parquet_path = tmp_path / "leads.csv", tmp_path / "leads.parquet"
    with csv_path.open("w", encoding="utf-8-sig", newline="") as handle:  # a BOM, as Excel writes
        frame.to_csv(handle, index=False)
    frame.to_parquet(parquet_path, index=False)
    results = []
    for name, path in (("csv", csv_path), ("parquet", parquet_path)):
        campaign = client.create_campaign(name, template="order_confirmation")
        report = campaign.add_leads(str(path), default_region="US", chunk_size=3)
        results.append((counts(report), report.rejected[["row", "reason"]].to_dict("records"), stored(client, campaign)))
    csv_result, parquet_result = results
    assert csv_result[0] == (3, 0, 0, 1, 0, 3)
    assert csv_result[1] == [{"row": 3, "reason": "missing_phone"}, {"row": 4, "reason": "missing_phone"},
                             {"row": 5, "reason": "unparseable_phone"}]
    assert csv_result[2]["+14155552671"] == ({"lead_name": "Ana again", "order_id": "1"}, False)
    assert csv_result[2]["+442079460958"] == ({"lead_name": "Zoë\nSmith", "order_id": "2"}, False)
    assert csv_result[2]["+14155552672"] == ({"order_id": "3"}, False)  # "nan" in a CSV is missing
    # Parquet keeps the text "nan" / "NA" as written (only real nulls are missing there), as pandas does
    assert parquet_result[0] == (3, 0, 0, 1, 0, 3)
    assert parquet_result[1] == [{"row": 3, "reason": "unparseable_phone"}, {"row": 4, "reason": "unparseable_phone"},
                                 {"row": 5, "reason": "unparseable_phone"}]
    assert parquet_result[2]["+14155552672"] == ({"lead_name": "nan", "order_id": "3"}, False)
    assert parquet_result[2]["+14155552671"] == csv_result[2]["+14155552671"]


def test_bad_input_gets_a_clear_error(campaign: cs.Campaign, tmp_path) -> None:
    data = pd.DataFrame({"phone": ["+14155552671"]})
    with pytest.raises(cs.LeadValidationError, match="no 'phone_number' column; its columns are \\['phone'\\]"):
        campaign.add_leads(data)
    with pytest.raises(cs.LeadValidationError, match="variables \\['city'\\] are not columns"):
        campaign.add_leads(data, phone_column="phone", variables=["city"])
    with pytest.raises(cs.LeadValidationError, match="default_region 'Mars'"):
        campaign.add_leads(data, phone_column="phone", default_region="Mars")
    with pytest.raises(cs.LeadValidationError, match="does not exist"):
        campaign.add_leads(str(tmp_path / "nope.csv"))
    latin = tmp_path / "latin.csv"
    latin.write_bytes("phone_number,lead_name\n+14155552671,Jos\xe9\n".encode("latin-1"))
    with pytest.raises(cs.LeadValidationError, match="UTF-8"):
        campaign.add_leads(str(latin))
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("phone_number,lead_name\n+14155552671,Ana,extra\n")
    with pytest.raises(cs.LeadValidationError, match="cannot read .* as CSV"):
        campaign.add_leads(str(ragged))
    with pytest.raises(cs.LeadValidationError, match="item 1 is a str"):
        campaign.add_leads([cs.CampaignLeadUser(phone_number="+14155552671"), "+14155552672"])  # type: ignore[list-item]
    assert campaign.leads.empty


class Boom(Exception):
    pass


@pytest.mark.parametrize("failure", [Boom, KeyboardInterrupt])
def test_a_failure_mid_load_leaves_the_campaign_as_it_was(
    client: CampaignClient, campaign: cs.Campaign, monkeypatch, failure: type[BaseException]
) -> None:
    before = pd.DataFrame({"phone_number": ["+14155552671", "+14155552672"], "lead_name": ["Ana", "Bo"], "order_id": ["1", "2"]})
    campaign.add_leads(before)
    campaign.remove_leads(["+14155552672"])
    state, users = stored(client, campaign), user_count(client)
    apply = _leads.LeadStage._apply

    def apply_then_fail(self: _leads.LeadStage) -> None:
        apply(self)  # users created, leads inserted and updated ... then the load dies
        with client.engine.connect() as other:  # a second connection sees nothing yet
            assert other.execute(sa.select(sa.func.count()).select_from(CampaignLead)).scalar_one() == 2
        raise failure()

    monkeypatch.setattr(_leads.LeadStage, "_apply", apply_then_fail)
    change = pd.DataFrame({"phone_number": ["+14155552671", "+14155552672", "+14155552673"],
                           "lead_name": ["changed", "Bo", "new"], "order_id": ["1", "2", "3"]})
    with pytest.raises(failure):
        campaign.add_leads(change, chunk_size=1)
    assert stored(client, campaign) == state
    assert user_count(client) == users
    monkeypatch.undo()
    report = campaign.add_leads(change)  # the same client loads fine afterwards
    assert counts(report) == (1, 2, 0, 0, 0, 0)


def test_a_failure_while_reading_stores_nothing(client: CampaignClient, campaign: cs.Campaign) -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise Boom("cannot print")

    data = pd.DataFrame({"phone_number": ["+14155552671", "+14155552672", "+14155552673"],
                         "lead_name": ["Ana", "Bo", Unprintable()], "order_id": ["1", "2", "3"]})
    with pytest.raises(Boom):
        campaign.add_leads(data, chunk_size=2)  # the first chunk is staged, the second fails
    assert stored(client, campaign) == {}
    assert user_count(client) == 0


def test_a_failure_while_validating_stores_nothing(
    client: CampaignClient, campaign: cs.Campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    from campaign_sdk.leads import _load

    prepare = _load.prepare

    def fail_on_third_chunk(chunk: Any, offset: int, plan: Any) -> Any:
        if offset >= 4:  # runs in a worker thread, after two chunks were validated and kept
            raise Boom("validation failed")
        return prepare(chunk, offset, plan)

    monkeypatch.setattr(_load, "prepare", fail_on_third_chunk)
    data = pd.DataFrame({"phone_number": [f"+1415555267{i}" for i in range(6)], "lead_name": "A", "order_id": "1"})
    with pytest.raises(Boom, match="validation failed"):
        campaign.add_leads(data, chunk_size=2)
    assert stored(client, campaign) == {}
    assert user_count(client) == 0


def test_remove_leads_by_numbers_frame_and_ids(client: CampaignClient, campaign: cs.Campaign) -> None:
    phones = ["+14155552671", "+14155552672", "+14155552673", "+14155552674"]
    campaign.add_leads(pd.DataFrame({"phone_number": phones, "lead_name": "A", "order_id": "1"}))
    assert campaign.remove_leads(["(415) 555-2671", "whatsapp:+14155552671"], default_region="US") == 1
    assert campaign.remove_leads(pd.DataFrame({"tel": ["+14155552672", "+14155559999"]}), phone_column="tel") == 1
    with client.transaction() as session:
        user_id = session.scalar(sa.select(ConversationUser.id).where(ConversationUser.phone_number == phones[2]))
    assert campaign.remove_leads(user_ids=[user_id]) == 1
    assert list(campaign.leads["phone_number"]) == ["+14155552674"]
    with pytest.raises(cs.LeadValidationError) as caught:
        campaign.remove_leads(["+14155552674", "nonsense", "415 555 2674"])
    assert "2 of 3 phone numbers are unusable (nothing was removed)" in str(caught.value)
    assert "item 1: 'nonsense'" in str(caught.value) and "item 2: '415 555 2674'" in str(caught.value)
    assert list(campaign.leads["phone_number"]) == ["+14155552674"]


def test_progress_bar_shows_for_large_loads_and_is_silent_when_asked(campaign: cs.Campaign, capsys, monkeypatch) -> None:
    data = pd.DataFrame({"phone_number": ["+14155552671", "+14155552672"], "lead_name": "A", "order_id": "1"})
    campaign.add_leads(data, progress=True)
    assert "Loading leads into Orders" in capsys.readouterr().err
    campaign.add_leads(data)  # small: no bar by default
    assert capsys.readouterr().err == ""
    from campaign_sdk.leads import _load

    monkeypatch.setattr(_load, "PROGRESS_ROWS", 2)
    campaign.add_leads(data)
    assert "2/2" in capsys.readouterr().err
    campaign.add_leads(data, progress=False)
    assert capsys.readouterr().err == ""
