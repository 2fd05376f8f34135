"""campaign.preflight(), SendReport / Preflight reprs, and the sandbox demo on the CLI."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from campaign_sdk import DeliveryPolicy, CampaignClient
from campaign_sdk.cli import main
from campaign_sdk.sending import SendReport

from .conftest import leads_frame, numbers

SQLITE_ONLY = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


def test_preflight_says_who_would_be_sent_and_why_not(sender, ready_campaign, twilio_server) -> None:
    twilio_server.reject_number(numbers(1, start=7)[0], 21211)
    ready_campaign(frame=leads_frame(1, start=7), name="Earlier").send(progress=False)
    frame = pd.concat([leads_frame(6), leads_frame(1, start=7)], ignore_index=True)
    frame.loc[2, "lead_name"] = " "
    campaign = ready_campaign(frame=frame)
    campaign.remove_leads([numbers(6)[3]])
    sender.record_replies([{"sid": "SMstop", "from": numbers(6)[4], "body": "stop"}])
    requests_before = len(twilio_server.requests)

    check = campaign.preflight(rate=2)
    assert check.ready and check.problems == []
    assert check.to_send == 3
    assert check.skipped == {"removed": 1, "opted_out": 1, "invalid_number": 1, "missing_variables": 1}
    reasons = dict(zip(check.skipped_leads["phone_number"], check.skipped_leads["reason"], strict=True))
    assert reasons == {numbers(6)[2]: "missing_variables", numbers(6)[3]: "removed",
                       numbers(6)[4]: "opted_out", numbers(1, start=7)[0]: "invalid_number"}
    assert check.preview["message"].tolist()[0] == (
        "Hi Lead0, thank you for your order A-0000. We will message you again as soon as it ships."
    )
    assert len(check.preview) == 3
    assert check.estimated_duration == dt.timedelta(seconds=1.5)
    assert len(twilio_server.requests) == requests_before  # nothing was sent or asked
    assert campaign.send(progress=False).sent == 3


@SQLITE_ONLY
def test_preflight_lists_every_reason_a_send_would_be_refused(sender) -> None:
    campaign = sender.create_campaign("Draft", template="order_confirmation", campaign_type="service")
    check = campaign.preflight()
    assert not check.ready
    assert any("trigger" in p for p in check.problems)
    assert any("submit_for_approval() then sync_approval()" in p for p in check.problems)
    assert any("enable()" in p for p in check.problems)
    assert "blocked" in repr(check)


@SQLITE_ONLY
def test_preflight_html_escapes_and_shows_the_preview(sender, ready_campaign) -> None:
    campaign = ready_campaign(2, name="<b>Sale</b>")
    html = campaign.preflight()._repr_html_()
    assert "&lt;b&gt;Sale&lt;/b&gt;" in html and "<b>Sale</b>" not in html
    assert "Hi Lead0" in html and "would send" in html and "SIMULATED" not in html


def test_sandbox_reports_are_marked_simulated(sqlite_url) -> None:
    with CampaignClient(sqlite_url) as client:
        client.delivery_policy = DeliveryPolicy(window=None)
        campaign = client.create_campaign("Welcome", template="order_confirmation")
        campaign.add_leads(leads_frame(3))
        campaign.submit_for_approval()
        client.gateway.advance(days=2)
        campaign.sync_approval()
        campaign.enable()
        assert "SIMULATED" in repr(campaign.preflight()) and "SIMULATED" in campaign.preflight()._repr_html_()
        report = campaign.send(progress=False)
    assert report.simulated and "SIMULATED" in repr(report) and "SIMULATED" in report._repr_html_()


def test_send_report_repr_and_html() -> None:
    report = SendReport(campaign="Promo <1>", campaign_id=1, simulated=False, sent=90, failed={21211: 2, 63024: 1},
                        skipped={"opted_out": 4}, duration=2.0, rate=50, to_send=93)
    assert repr(report) == (
        "<SendReport 'Promo <1>' sent=90 reconciled=0 failed=3 skipped=4 unresolved=0 remaining=0 "
        "in 2.00 s (46.5 msg/s)>"
    )
    html = report._repr_html_()
    assert "Promo &lt;1&gt;" in html and "21211 Invalid &#x27;To&#x27; phone number" in html
    assert "opted_out" in html and "limit 50/s" in html and "SIMULATED" not in html
    assert report.complete and report.achieved_rate == pytest.approx(46.5)


def test_reprs_never_raise() -> None:
    broken = SendReport(campaign="x", campaign_id=1, simulated=False)
    broken.failed = None  # type: ignore[assignment]
    assert broken._repr_html_() == "&lt;SendReport &#x27;x&#x27;&gt;"


def test_the_cli_demo_sends_through_the_sandbox(tmp_path, capsys) -> None:
    leads = tmp_path / "leads.csv"
    leads_frame(30).to_csv(leads, index=False)
    assert main(["--db", f"sqlite:///{tmp_path / 'demo.db'}", "demo", "--leads", str(leads)]) == 0
    out = capsys.readouterr().out
    assert "SandboxGateway" in out and "SIMULATED (sandbox): nothing was really sent" in out
    assert "WhatsApp (simulated) decided" in out and "approved" in out
    assert "sent=30" in out
    assert "<SyncReport" in out and "reply_rate" in out
    assert main(["--db", f"sqlite:///{tmp_path / 'demo.db'}", "demo", "--leads", str(leads)]) == 0
    assert "sent=0" in capsys.readouterr().out  # a second run never sends again
