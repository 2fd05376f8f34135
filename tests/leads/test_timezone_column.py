"""A ``timezone`` column that names no IANA zone is reported by the load, not only by the plan."""

from __future__ import annotations

import pandas as pd

import campaign_sdk as cs
from campaign_sdk import CampaignClient

ROWS = pd.DataFrame({
    "phone_number": ["+14155552671", "+14155552672", "+14155552673", "+14155552674", "+14155552675",
                     "+14155552672", "+14155552676"],
    "lead_name": ["A", "B", "C", "D", "E", "B2", "F"],
    "timezone": ["America/New_York", "Mars/Base", None, " europe/paris", "", "Europe/Lisbon", "Europe/Berlni"],
})


def test_the_load_lists_leads_whose_timezone_is_no_iana_zone_and_keeps_them(client: CampaignClient) -> None:
    campaign = client.create_campaign("Zones", content=cs.TwilioTextContext(body="Hi {{lead_name}}, news for you!"))
    report = campaign.add_leads(ROWS, chunk_size=3)  # the bad values sit in different chunks
    # row 1 (Mars/Base) is superseded by row 5 (same number, a valid zone); "" and None mean no override;
    # " europe/paris" is stripped to "europe/paris", which is not an IANA name (they are case-sensitive,
    # on every system: a case-insensitive file system would find its file); each gets a suggestion
    assert report.invalid_timezones.to_dict("records") == [
        {"row": 3, "phone_number": "+14155552674", "value": "europe/paris", "suggestion": "Europe/Paris"},
        {"row": 6, "phone_number": "+14155552676", "value": "Europe/Berlni", "suggestion": "Europe/Berlin"},
    ]
    assert report.inserted == 6 and report.rejected_count == 0  # kept: a value to fix, not a row to drop
    assert "2 lead(s) kept with a timezone that is not an IANA zone name" in report._repr_html_()
    assert "Europe/Berlni" in report._repr_html_()
    plan = campaign.plan()
    skipped = set(plan.loc[plan["reason"] == "invalid_timezone", "phone_number"])
    assert skipped == set(report.invalid_timezones["phone_number"])  # the load and the plan agree


def test_no_timezone_column_reports_nothing(client: CampaignClient) -> None:
    campaign = client.create_campaign("NoZones", content=cs.TwilioTextContext(body="Hi {{lead_name}}, news for you!"))
    report = campaign.add_leads(ROWS.drop(columns="timezone"))
    assert report.invalid_timezones.empty and list(report.invalid_timezones.columns) == ["row", "phone_number", "value", "suggestion"]


def test_opted_out_people_are_not_listed(client: CampaignClient) -> None:
    campaign = client.create_campaign("Opt", content=cs.TwilioTextContext(body="Hi {{lead_name}}, news for you!"))
    campaign.add_leads(ROWS.iloc[[6]])
    client.record_replies([{"sid": "SM" + "0" * 32, "from": "+14155552676", "body": "STOP"}])
    other = client.create_campaign("Opt2", content=cs.TwilioTextContext(body="Hi {{lead_name}}, news for you!"))
    report = other.add_leads(ROWS.iloc[[6]])
    assert report.skipped_opted_out == 1 and report.invalid_timezones.empty


def test_a_zone_name_is_checked_against_the_zone_database_not_the_file_system(monkeypatch) -> None:
    """On a case-insensitive file system ZoneInfo("europe/paris") finds Europe/Paris's file; the
    SDK refuses the name on every system alike (here: a ZoneInfo that accepts any case)."""
    import zoneinfo

    from campaign_sdk.leads import _rows

    real = zoneinfo.ZoneInfo
    folded = {z.casefold(): z for z in zoneinfo.available_timezones()}
    monkeypatch.setattr(_rows, "ZoneInfo", lambda name: real(folded.get(name.casefold(), name)))
    _rows.iana_zone.cache_clear()
    try:
        assert _rows.iana_zone("europe/paris") is None and _rows.iana_zone("Europe/Paris") is not None
        assert _rows.iana_zone("localtime") is None  # this machine's own zone, not a place
    finally:
        _rows.iana_zone.cache_clear()


def test_the_report_counts_and_explains_the_bad_zones_in_its_repr(client: CampaignClient) -> None:
    campaign = client.create_campaign("Counted", content=cs.TwilioTextContext(body="Hi {{lead_name}}, news for you!"))
    report = campaign.add_leads(ROWS, chunk_size=3)
    assert report.counts["invalid_timezones"] == 2 and repr(report).endswith(" invalid_timezones=2>")
    warning = report.timezone_warning()
    assert warning is not None and warning.startswith("2 lead(s) kept with a timezone that is not an IANA zone name")
    # which rows, which values, what it probably means and what to do
    assert "row 3 (+14155552674) 'europe/paris' (did you mean Europe/Paris?)" in warning
    assert "row 6 (+14155552676) 'Europe/Berlni' (did you mean Europe/Berlin?)" in warning
    assert "reason invalid_timezone" in warning and "America/New_York" in warning
    assert "Warning: 2 lead(s) kept" in report._repr_html_()
    clean = campaign.add_leads(ROWS.drop(columns="timezone"))
    assert "invalid_timezones" not in clean.counts and "invalid_timezones" not in repr(clean)
    assert clean.timezone_warning() is None


def test_the_warning_names_the_first_rows_and_counts_the_rest() -> None:
    bad = pd.DataFrame({"row": range(8), "phone_number": [f"+1415555267{i}" for i in range(8)],
                        "value": ["Mars/Olympus"] * 8, "suggestion": [None] * 8})
    warning = cs.LeadLoadReport(campaign="Many", invalid_timezones=bad).timezone_warning(limit=2)
    assert warning is not None
    assert "row 0 (+14155552670) 'Mars/Olympus'; row 1 (+14155552671) 'Mars/Olympus' and 6 more." in warning
    assert "row 2 " not in warning


def test_load_leads_prints_the_bad_zones_as_a_warning(tmp_path, capsys) -> None:
    from campaign_sdk import cli

    db = f"sqlite:///{tmp_path / 'cli.db'}"
    CampaignClient(db).create_campaign("Zones", content=cs.TwilioTextContext(body="Hi {{lead_name}}, news for you!"))
    path = tmp_path / "leads.csv"
    path.write_text("phone_number,lead_name,timezone\n+14155552671,Ana,Mars/Olympus\n+14155552672,Bo,Europe/Lisbon\n")
    assert cli.main(["--db", db, "load-leads", "Zones", str(path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "inserted=2" in out and "invalid_timezones=1" in out
    assert "warning: 1 lead(s) kept with a timezone that is not an IANA zone name: row 0 (+14155552671) 'Mars/Olympus'" in out
