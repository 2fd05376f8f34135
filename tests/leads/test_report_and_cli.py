"""The load report's reprs, and loading a CSV from the command line."""

from __future__ import annotations

import pandas as pd

import campaign_sdk as cs
from campaign_sdk import cli


def _report(tmp_path) -> cs.LeadLoadReport:
    client = cs.CampaignClient(f"sqlite:///{tmp_path / 'r.db'}")
    campaign = client.create_campaign("Promo <b>", template="order_confirmation")
    data = pd.DataFrame({"phone_number": ["+14155552671", "<script>", "+14155552671", None],
                         "lead_name": ["Ana", "x", "Ana", "y"], "order_id": ["1", "2", "1", "3"]})
    return campaign.add_leads(data)


def test_repr_counts_every_outcome(tmp_path) -> None:
    report = _report(tmp_path)
    assert repr(report) == (
        "<LeadLoadReport 'Promo <b>' rows=4 inserted=1 updated=0 unchanged=0 duplicates=1 "
        "skipped_opted_out=0 rejected=2 missing_variables=0>"
    )


def test_html_repr_escapes_and_summarises_reasons(tmp_path) -> None:
    html = _report(tmp_path)._repr_html_()
    assert "Promo &lt;b&gt;" in html and "<script>" not in html and "&lt;script&gt;" in html
    assert "missing_phone: 1" in html and "no_region: 1" in html
    broken = cs.LeadLoadReport(campaign="x", rejected=None)  # type: ignore[arg-type]
    assert broken._repr_html_().startswith("&lt;LeadLoadReport")  # never raises


def test_cli_loads_a_csv_in_one_line(tmp_path, capsys) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    cs.CampaignClient(db).create_campaign("Black Friday", template="order_confirmation")
    path = tmp_path / "leads.csv"
    path.write_text("phone_number,lead_name,order_id\n(415) 555-2671,Ana,1\nnope,Bo,2\n")
    rejected = tmp_path / "rejected.csv"
    code = cli.main(["--db", db, "load-leads", "Black Friday", str(path), "--region", "US",
                     "--rejected", str(rejected)])
    out = capsys.readouterr().out
    assert code == 0
    assert "inserted=1" in out and "rejected: unparseable_phone 1" in out
    assert pd.read_csv(rejected)["row"].tolist() == [1]
    assert cli.main(["--db", db, "load-leads", "Black Friday", str(path), "--region", "US", "--quiet"]) == 0
    assert "unchanged=1" in capsys.readouterr().out
    assert cli.main(["--db", db, "load-leads", "Black Friday", str(path), "--region", "Mars"]) == 1
    assert "default_region 'Mars'" in capsys.readouterr().err


def test_the_readme_command_loads_leads(tmp_path, capsys) -> None:
    import re
    import shlex
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Loading leads", 1)[1]
    command = shlex.split(re.search(r"```bash\n(.+?)\n```", section, re.DOTALL).group(1))
    assert command[:2] == ["campaign-sdk", "load-leads"]
    db = f"sqlite:///{tmp_path / 'readme.db'}"
    cs.CampaignClient(db).create_campaign(command[2], template="order_confirmation")
    (tmp_path / command[3]).write_text("phone_number,lead_name,order_id\n(415) 555-2671,Ana,1\n12,Bo,2\n")
    args = [tmp_path / a if a.endswith(".csv") else a for a in command[2:]]
    assert cli.main(["--db", db, "load-leads", *map(str, args)]) == 0
    assert "inserted=1" in capsys.readouterr().out
    assert (tmp_path / "rejected.csv").exists()
