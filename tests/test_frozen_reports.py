"""Reports that nothing needs to change after they are made are frozen: a caller cannot edit a
load report or a preflight by mistake and then read a number that no longer matches the store."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

import campaign_sdk as cs
from campaign_sdk.leads import InputFormat
from campaign_sdk.service import RecordResult


def test_load_reports_and_preflights_are_frozen(sqlite_url: str) -> None:
    with cs.CampaignClient(sqlite_url) as client:
        campaign = client.create_campaign("Orders", template="order_confirmation")
        report = campaign.add_leads(pd.DataFrame({"phone_number": ["+14155552671", "bad"],
                                                  "lead_name": ["A", "B"], "order_id": ["1", "2"]}))
        with pytest.raises(dataclasses.FrozenInstanceError):
            report.inserted = 5  # type: ignore[misc]
        assert (report.inserted, report.rejected_count) == (1, 1)
        preflight = campaign.preflight()
        with pytest.raises(dataclasses.FrozenInstanceError):
            preflight.to_send = 0  # type: ignore[misc]
        assert not preflight.ready and preflight.problems
    with pytest.raises(dataclasses.FrozenInstanceError):
        InputFormat("csv").delimiter = ";"  # type: ignore[misc]


def test_sync_export_and_recorder_results_are_frozen(sqlite_url: str, tmp_path) -> None:
    with cs.CampaignClient(sqlite_url) as client:
        campaign = client.create_campaign("Frozen", template="order_confirmation")
        campaign.add_leads(pd.DataFrame({"phone_number": ["+14155552671"], "lead_name": ["A"], "order_id": ["1"]}))
        synced = client.sync()
        with pytest.raises(dataclasses.FrozenInstanceError):
            synced.listed = 9  # type: ignore[misc]
        recorded = client.record_statuses([{"sid": "SMnope", "status": "delivered"}])
        with pytest.raises(dataclasses.FrozenInstanceError):
            recorded.applied = 1  # type: ignore[misc]
        exported = client.export(tmp_path / "events")
        with pytest.raises(dataclasses.FrozenInstanceError):
            exported.files = 0  # type: ignore[misc]


def test_recorder_results_add_up_in_order() -> None:
    first = RecordResult(applied=1, unmatched=[{"sid": "a"}], outcomes=["applied", "unmatched"])
    second = RecordResult(ignored=2, unknown=[{"sid": "b", "status": "x"}], pending=1, outcomes=["ignored"])
    total = first + second
    assert (total.applied, total.ignored, total.pending) == (1, 2, 1)
    assert total.unmatched == [{"sid": "a"}] and total.unknown == [{"sid": "b", "status": "x"}]
    assert total.outcomes == ["applied", "unmatched", "ignored"]
    assert first.applied == 1 and first.ignored == 0  # neither part changed


def test_send_due_and_cancel_reports_are_sealed_once_their_call_returns(sqlite_url: str) -> None:
    with cs.CampaignClient(sqlite_url) as client:
        client.delivery_policy = cs.DeliveryPolicy(window=None)
        campaign = client.create_campaign("Sealed", template="order_confirmation")
        campaign.add_leads(pd.DataFrame({"phone_number": ["+14155552671"], "lead_name": ["A"], "order_id": ["1"]}))
        campaign.submit_for_approval(category="UTILITY")
        campaign.set_approval_status("approved")
        campaign.enable()
        dry = campaign.send(dry_run=True, progress=False)
        report = campaign.send(progress=False)
        assert (dry.to_send, report.sent) == (1, 1)
        for sealed, name in ((dry, "sent"), (report, "sent"), (client.run_due(), "sent"),
                             (campaign.cancel_scheduled(), "canceled")):
            with pytest.raises(dataclasses.FrozenInstanceError, match="final once its call has returned"):
                setattr(sealed, name, 99)
            assert getattr(sealed, name) != 99
        assert report.sent == 1 and dataclasses.replace(report, sent=2).sent == 2  # a copy may differ
