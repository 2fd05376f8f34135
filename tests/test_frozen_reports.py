"""Reports that nothing needs to change after they are made are frozen: a caller cannot edit a
load report or a preflight by mistake and then read a number that no longer matches the store."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

import campaign_sdk as cs
from campaign_sdk.leads import InputFormat


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
