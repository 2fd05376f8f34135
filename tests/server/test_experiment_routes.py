"""Lift routes: the lift table over HTTP, the same records the client computes."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import campaign_sdk as cs

from .conftest import unique

A = cs.TwilioTextContext(body="Hi {{lead_name}}, your order ships today. Enjoy 10% off your next one.")
B = cs.TwilioTextContext(body="Hi {{lead_name}}, your order ships today. Delivery is on us next time.")


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(b):
        return a is None or math.isnan(a)
    return a == b or (a is None and (b is None or pd.isna(b)))


def test_lift_routes_match_the_client(api, server) -> None:
    campaign = server.client.create_campaign(unique("Exp"), content=A)
    campaign.set_experiment({"A": A, "B": B}, holdout=0.2, seed="routes")
    campaign.add_leads(pd.DataFrame({"phone_number": [f"+1415555{i:04d}" for i in range(50)],
                                     "lead_name": [f"L{i}" for i in range(50)]}))
    records = api.get(f"/campaigns/{campaign.id}/lift", params={"alpha": 0.1}).json()
    expected = campaign.lift(alpha=0.1)
    assert len(records) == len(expected) and list(records[0]) == list(expected.columns)
    for record, (_, row) in zip(records, expected.iterrows()):
        assert all(_same(record[k], row[k]) for k in ("arm", "test", "metric", "assigned", "n"))
        assert record["srm_p"] == pytest.approx(row["srm_p"], rel=1e-8)
    assert {r["test"] for r in records} == {"fixed", "sequential"}
    assert {r["arm"] for r in records} == {"A", "B", "holdout"}
    everything = api.get("/lift", params=[("campaigns", campaign.id)]).json()
    assert [r["campaign_id"] for r in everything] == [campaign.id] * len(records)
    assert api.get(f"/campaigns/{campaign.id}/lift", params={"alpha": 1}).status_code == 422
    plain = server.client.create_campaign(unique("Plain"), template="order_confirmation")
    refused = api.get(f"/campaigns/{plain.id}/lift")
    assert refused.status_code == 409 and "set_experiment" in refused.text
