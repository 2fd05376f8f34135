"""Lead files as they come: CSV dialects detected (delimiter, UTF-8 BOM, header), other encodings
when named, and Excel workbooks (.xlsx); what was detected is in the load report."""

from __future__ import annotations

import shutil

import openpyxl
import pandas as pd
import pytest

import campaign_sdk as cs
from campaign_sdk import CampaignClient, cli
from campaign_sdk.leads import InputFormat, read_input

from .test_load import counts, stored

EUROPEAN = (  # what Excel writes for "CSV UTF-8" in a German, French or Spanish locale
    "\ufeffphone_number;lead_name;order_id;amount\r\n"
    "+49 151 12345678;Jürgen;A-1;12,50\r\n"
    '0044 20 7946 0958;"Dupont; Marie";A-2;3,00\r\n'
    "+14155552671;Zoë;A-3;\r\n"
)


@pytest.fixture
def client(sqlite_url: str, migrated_sqlite):
    """Reading files does not depend on the store: a SQLite file is enough."""
    shutil.copyfile(migrated_sqlite, sqlite_url.removeprefix("sqlite:///"))
    with CampaignClient(sqlite_url) as client:
        yield client


@pytest.fixture
def campaign(client: CampaignClient) -> cs.Campaign:
    return client.create_campaign("Orders", template="order_confirmation")  # needs lead_name, order_id


def test_a_semicolon_utf8_bom_csv_from_european_excel_loads(campaign: cs.Campaign, client, tmp_path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(EUROPEAN.encode("utf-8"))
    report = campaign.add_leads(str(path))
    assert counts(report) == (3, 0, 0, 0, 0, 0)
    assert report.input_format == InputFormat("csv", delimiter=";", encoding="utf-8", bom=True, header=True)
    assert str(report.input_format) == (
        "CSV, semicolon-separated, UTF-8 with BOM, first line a header (detected by csv.Sniffer)"
    )
    leads = stored(client, campaign)
    assert leads["+4915112345678"] == ({"lead_name": "Jürgen", "order_id": "A-1", "amount": "12,50"}, False)
    assert leads["+442079460958"][0]["lead_name"] == "Dupont; Marie"  # a quoted delimiter stays in the value
    assert leads["+14155552671"][0] == {"lead_name": "Zoë", "order_id": "A-3"}  # empty: missing


@pytest.mark.parametrize(("delimiter", "name"), [(",", "comma"), ("\t", "tab"), ("|", "pipe"), (";", "semicolon")])
def test_each_delimiter_is_detected_and_reported(campaign: cs.Campaign, tmp_path, delimiter: str, name: str) -> None:
    path = tmp_path / "leads.csv"
    lines = [["phone_number", "lead_name", "order_id"], ["+14155552671", "Ana", "1"], ["+14155552672", "Bo", "2"]]
    path.write_text("".join(delimiter.join(line) + "\n" for line in lines))
    report = campaign.add_leads(str(path))
    assert report.inserted == 2 and report.rejected_count == 0
    assert (report.input_format.delimiter, report.input_format.bom, report.input_format.header) == (delimiter, False, True)
    assert f"{name}-separated, UTF-8, first line a header" in str(report.input_format)


def test_a_comma_file_whose_values_hold_semicolons_stays_comma_separated(tmp_path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("phone_number,note\n+14155552671,a;b;c\n+14155552672,d;e;f\n+14155552673,g;h;i\n")
    assert read_input(str(path)).to_dict("records")[0] == {"phone_number": "+14155552671", "note": "a;b;c"}


def test_one_column_files_and_a_header_alone(campaign: cs.Campaign, tmp_path) -> None:
    one = tmp_path / "one.csv"
    one.write_text("phone_number\n+14155552671\n+14155552672\n")
    report = campaign.add_leads(str(one))
    assert report.inserted == 2 and report.input_format.delimiter == ","
    alone = tmp_path / "alone.csv"
    alone.write_text("phone_number;lead_name\n")
    report = campaign.add_leads(str(alone))
    assert report.total_rows == 0 and report.input_format.delimiter == ";" and report.input_format.header is None


def test_a_file_without_a_header_line_is_refused_saying_so(campaign: cs.Campaign, tmp_path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("+14155552671;Ana;1\n+14155552672;Bo;2\n+14155552673;Cy;3\n")
    with pytest.raises(cs.LeadValidationError, match="no 'phone_number' column; its columns are") as caught:
        campaign.add_leads(str(path))
    assert "first line looks like data, not a header" in str(caught.value)
    assert "semicolon-separated" in str(caught.value)


def test_other_encodings_keep_the_clear_error_unless_named(campaign: cs.Campaign, client, tmp_path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("phone_number;lead_name;order_id\r\n+14155552671;José;1\r\n".encode("cp1252"))
    with pytest.raises(cs.LeadValidationError, match="is not UTF-8 text; save it as UTF-8 .CSV UTF-8 in Excel.") as caught:
        campaign.add_leads(str(path))
    assert "encoding=" in str(caught.value)
    report = campaign.add_leads(str(path), encoding="cp1252")
    assert report.inserted == 1 and report.input_format.encoding == "cp1252"
    assert "cp1252" in str(report.input_format)
    assert stored(client, campaign)["+14155552671"][0]["lead_name"] == "José"
    with pytest.raises(cs.LeadValidationError, match="'klingon' is not one Python knows"):
        campaign.add_leads(str(path), encoding="klingon")


def test_a_multibyte_character_across_the_sniffed_sample_is_not_an_error(tmp_path) -> None:
    path = tmp_path / "big.csv"
    row = "+14155552671;" + "é" * 50 + "\n"
    path.write_text("phone_number;note\n" + row * 2000)  # > 64 KiB, the sample ends mid-character
    assert (path.stat().st_size > 64 << 10) and len(read_input(str(path))) == 2000


def _workbook(path, rows: list[list[object]], *, title: str = "Leads") -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    book.save(path)


def test_an_xlsx_workbook_loads_like_a_csv(campaign: cs.Campaign, client, tmp_path) -> None:
    path = tmp_path / "leads.xlsx"
    _workbook(path, [
        ["phone_number", "lead_name", "order_id", "amount"],
        [14155552671, "Ana", 7, 2.5],           # Excel keeps numbers as numbers
        ["+44 20 7946 0958", "Bea", "007", 3.0],
        [None, None, None, None],               # an empty row inside the data is a row
        ["whatsapp:+14155552672", "NA", "A-9", None],
        [None, None, None, None],               # empty rows after the data are not
        [None, None, None, None],
    ])
    report = campaign.add_leads(str(path), default_region="US")
    assert report.input_format == InputFormat("xlsx", sheet="Leads")
    assert str(report.input_format) == "Excel workbook, sheet 'Leads'"
    assert report.total_rows == 4 and report.inserted == 3
    assert report.rejected[["row", "reason"]].to_dict("records") == [{"row": 2, "reason": "missing_phone"}]
    leads = stored(client, campaign)
    assert leads["+14155552671"][0] == {"lead_name": "Ana", "order_id": "7", "amount": "2.5"}
    assert leads["+442079460958"][0] == {"lead_name": "Bea", "order_id": "007", "amount": "3"}
    assert leads["+14155552672"][0] == {"order_id": "A-9"}  # "NA" is missing, as in a CSV
    frame = read_input(str(path))
    assert list(frame.columns) == ["phone_number", "lead_name", "order_id", "amount"] and len(frame) == 4


def test_an_xlsx_workbook_is_read_in_chunks(campaign: cs.Campaign, tmp_path) -> None:
    path = tmp_path / "many.xlsx"
    _workbook(path, [["phone_number", "lead_name", "order_id"]]
              + [[f"+1415555{i:04d}", f"L{i}", str(i)] for i in range(25)] + [[None, None, None]] * 3)
    report = campaign.add_leads(str(path), chunk_size=4)
    assert report.total_rows == 25 and report.inserted == 25


def test_bad_workbooks_get_a_clear_error(campaign: cs.Campaign, tmp_path) -> None:
    unnamed = tmp_path / "unnamed.xlsx"
    _workbook(unnamed, [["phone_number", None, "order_id"], ["+14155552671", "x", "1"]])
    with pytest.raises(cs.LeadValidationError, match=r"column\(s\) \[2\] of sheet 'Leads' .* have no name"):
        campaign.add_leads(str(unnamed))
    twice = tmp_path / "twice.xlsx"
    _workbook(twice, [["phone_number", "a", "a"]])
    with pytest.raises(cs.LeadValidationError, match="duplicate column names \\['a'\\]"):
        campaign.add_leads(str(twice))
    fake = tmp_path / "fake.xlsx"
    fake.write_text("phone_number\n+14155552671\n")
    with pytest.raises(cs.LeadValidationError, match="cannot read .* as an Excel workbook"):
        campaign.add_leads(str(fake))
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(cs.LeadValidationError, match="save it as .xlsx or as CSV UTF-8"):
        campaign.add_leads(str(old))


def test_the_command_line_names_the_encoding_and_says_what_it_read(tmp_path, capsys) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    with CampaignClient(db) as client:
        client.create_campaign("Orders", template="order_confirmation")
    path = tmp_path / "leads.csv"
    path.write_bytes("phone_number;lead_name;order_id\n+14155552671;José;1\n".encode("cp1252"))
    assert cli.main(["--db", db, "load-leads", "Orders", str(path), "--quiet", "--encoding", "cp1252"]) == 0
    out = capsys.readouterr().out
    assert "inserted=1" in out and "read as: CSV, semicolon-separated, cp1252" in out
    assert cli.main(["--db", db, "load-leads", "Orders", str(path), "--quiet"]) == 1
    assert "is not UTF-8 text" in capsys.readouterr().err


def test_dataframes_and_lists_say_what_they_are(campaign: cs.Campaign) -> None:
    frame = pd.DataFrame({"phone_number": ["+14155552671"], "lead_name": ["A"], "order_id": ["1"]})
    assert campaign.add_leads(frame).input_format == InputFormat("dataframe")
    users = [cs.CampaignLeadUser(phone_number="+14155552672", custom_variables={"lead_name": "B", "order_id": "2"})]
    assert str(campaign.add_leads(users).input_format) == "CampaignLeadUser items"
