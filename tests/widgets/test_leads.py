"""The lead loader: preview a load (nothing stored), then load for real, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from campaign_sdk.widgets import LeadLoader
from tests.widgets._find import find

CSV = "phone_number,lead_name,order_id\n+14155550101,Ana,A-1\n(415) 555-0102,Bo,A-2\nnot a phone,Cy,A-3\n0044 20 7946 0958,Di,\n"


def _frame() -> pd.DataFrame:
    from io import StringIO

    return pd.read_csv(StringIO(CSV), dtype=str)


def test_preview_reports_rejected_rows_and_stores_nothing_then_load_stores(client) -> None:
    campaign = client.create_campaign("Orders", template="order_confirmation")
    loader = LeadLoader(campaign, data=_frame(), default_region="US")
    load = find(loader, "cs-leads-load")
    assert load.disabled  # nothing previewed yet

    preview = loader.preview()
    assert campaign.leads.empty
    assert preview.rejected[["row", "column"]].values.tolist() == [[2, "phone_number"]]
    assert preview.missing_variables["row"].tolist() == [3]
    shown = find(loader, "cs-lead-report").value
    assert "Preview" in shown and "not a phone" in shown and "lack a template variable" in shown
    assert not load.disabled

    load.click()
    assert loader.report is not None and loader.report.inserted == 3
    assert loader.report.rejected.equals(preview.rejected)
    assert sorted(campaign.leads["phone_number"]) == ["+14155550101", "+14155550102", "+442079460958"]
    assert "Loaded" in find(loader, "cs-lead-report").value and load.disabled


def test_changing_an_option_after_a_preview_asks_for_a_new_one(client) -> None:
    campaign = client.create_campaign("Orders", template="order_confirmation")
    loader = LeadLoader(campaign, data=_frame())
    assert loader.phone_column == "phone_number" and loader.default_region is None
    without_region = loader.preview()
    assert without_region.rejected["row"].tolist() == [1, 2]  # (415) ... needs a region
    find(loader, "cs-leads-region").value = "US"
    assert find(loader, "cs-leads-load").disabled
    loader.strict = True
    strict = loader.preview()
    assert strict.rejected[["row", "column"]].values.tolist() == [[2, "phone_number"], [3, "order_id"]]
    assert strict.rejected["reason"].iloc[1] == "missing_variables"
    assert not find(loader, "cs-leads-load").disabled


def test_a_csv_can_be_picked_from_a_folder_or_uploaded(client, tmp_path) -> None:
    (tmp_path / "leads.csv").write_text(CSV.replace("phone_number", "mobile phone"))
    (tmp_path / "notes.txt").write_text("not a csv")
    campaign = client.create_campaign("Orders", template="order_confirmation")
    loader = LeadLoader(campaign, directory=tmp_path, default_region="US")
    picker = find(loader, "cs-leads-file")
    assert [label for label, _ in picker.options] == ["pick a CSV file", "leads.csv"]
    picker.value = str(tmp_path / "leads.csv")
    assert loader.phone_column == "mobile phone" and len(loader.data) == 4
    assert "4 rows" in find(loader, "cs-leads-summary").value

    upload = find(loader, "cs-leads-upload")
    content = b"phone_number,lead_name\n+14155550109,Eve\n"
    upload.value = ({"name": "up.csv", "type": "text/csv", "size": len(content), "content": memoryview(content),
                     "last_modified": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)},)
    assert loader.data.to_dict("records") == [{"phone_number": "+14155550109", "lead_name": "Eve"}]
    assert loader.commit().inserted == 1


def test_an_unusable_input_shows_the_loaders_error(client) -> None:
    campaign = client.create_campaign("Orders", template="order_confirmation")
    loader = LeadLoader(campaign, data=pd.DataFrame({"name": ["Ana"]}))
    loader.phone_column = "name"
    find(loader, "cs-leads-preview").click()
    assert "is not in international format" in find(loader, "cs-lead-report").value
    loader.data = pd.DataFrame()
    find(loader, "cs-leads-preview").click()
    assert "has no &#x27;phone_number&#x27; column" in find(loader, "cs-lead-report").value
    assert campaign.leads.empty
