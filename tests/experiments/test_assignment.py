"""Assignment: deterministic, stable, the same on SQLite, PostgreSQL and in another process, and
true to the planned weights."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from campaign_sdk import CampaignClient
from campaign_sdk.experiments import assign, planned_shares, srm_check, unit

from .conftest import A, B, C, leads_frame, numbers


def test_unit_is_a_stable_hash_of_seed_and_user() -> None:
    assert unit("seed", "+14155550000") == unit("seed", "+14155550000")
    assert unit("seed", "+14155550000") != unit("other", "+14155550000")
    assert 0 <= unit("seed", "+14155550000") < 1


def test_weights_are_honoured_on_100k_users_within_binomial_tolerance() -> None:
    phones = [f"+1212{i:07d}" for i in range(100_000)]
    weights = {"A": 0.5, "B": 0.3, "C": 0.2}
    arms = pd.Series(assign("weights-test", phones, weights, holdout=0.1)).value_counts()
    shares = planned_shares(weights, holdout=0.1, test_fraction=None)
    for arm, share in shares.items():
        sd = np.sqrt(100_000 * share * (1 - share))
        assert abs(arms[arm] - 100_000 * share) < 4 * sd, (arm, arms[arm])
    assert srm_check(arms.to_dict(), shares) > 0.001  # no sample-ratio mismatch


def test_test_fraction_splits_the_rest_and_keeps_weights_inside_the_test() -> None:
    phones = [f"+1646{i:07d}" for i in range(50_000)]
    arms = pd.Series(assign("t", phones, {"A": 0.5, "B": 0.5}, holdout=0.2, test_fraction=0.25)).value_counts()
    assert abs(arms["rest"] / 50_000 - 0.6) < 0.01
    assert abs(arms["holdout"] / 50_000 - 0.2) < 0.01
    assert abs(arms["A"] / 50_000 - 0.1) < 0.01 and abs(arms["B"] / 50_000 - 0.1) < 0.01


def test_another_process_assigns_the_same_arms() -> None:
    phones = numbers(500)
    here = assign("cross-process", phones, {"A": 0.4, "B": 0.6}, holdout=0.1)
    code = (
        "import json, sys; from campaign_sdk.experiments import assign; "
        "print(json.dumps(assign('cross-process', json.loads(sys.argv[1]), {'A': 0.4, 'B': 0.6}, holdout=0.1)))"
    )
    out = subprocess.run([sys.executable, "-c", code, json.dumps(phones)], capture_output=True, text=True,
                         check=True, env={"PYTHONHASHSEED": "12345", "PATH": ""})
    assert json.loads(out.stdout) == here


def test_the_store_holds_the_same_arms_on_every_engine_and_keeps_them(store_url: str) -> None:
    """Run on SQLite and PostgreSQL: both hold exactly the pure function's arms, so they agree;
    re-loading, removing and re-adding leads never moves a lead to another arm."""
    frame = leads_frame(300)
    with CampaignClient(store_url) as client:
        campaign = client.create_campaign("Arms", content=A)
        campaign.add_leads(frame.iloc[:200])
        campaign.set_experiment({"A": A, "B": B, "C": C}, weights={"A": 0.5, "B": 0.25, "C": 0.25},
                                holdout=0.1, seed="engine-test")
        campaign.add_leads(frame.iloc[150:])  # overlapping re-load plus new leads
        stored = campaign.leads.set_index("phone_number")["variant"]
        expected = dict(zip(frame.phone_number, assign("engine-test", list(frame.phone_number),
                                                        {"A": 0.5, "B": 0.25, "C": 0.25}, holdout=0.1)))
        assert stored.to_dict() == expected
        campaign.remove_leads(list(frame.phone_number[:20]))
        campaign.add_leads(frame.iloc[:20])
        again = campaign.leads.set_index("phone_number")["variant"]
        assert again.to_dict() == expected
        by_variant = campaign.metrics(by="variant").set_index("variant")["total_leads"]
        assert by_variant.to_dict() == pd.Series(expected).value_counts().to_dict()


def test_global_holdout_keeps_users_out_of_marketing_but_never_service(store_url: str) -> None:
    with CampaignClient(store_url) as client:
        holdout = client.set_global_holdout(0.2, seed="g1")
        assert holdout["fraction"] == 0.2
        marketing = client.create_campaign("Promo", content=A)
        service = client.create_campaign("Orders", content=A, campaign_type="service")
        frame = leads_frame(400)
        marketing.add_leads(frame)
        service.add_leads(frame)
        held = {p for p in frame.phone_number if unit("g1", p) < 0.2}
        leads = marketing.leads.set_index("phone_number")["variant"]
        assert set(leads[leads == "global_holdout"].index) == held and 40 < len(held) < 120
        assert service.leads["variant"].isna().all()
        assert marketing.preflight().skipped.get("global_holdout") == len(held)


@pytest.mark.parametrize("fraction", [0, 1, 1.5, float("nan")])
def test_a_global_holdout_must_be_a_fraction(fraction: float) -> None:
    from campaign_sdk import InvalidArgumentError

    with CampaignClient("sqlite:///:memory:") as client, pytest.raises(InvalidArgumentError, match="between 0 and 1"):
        client.set_global_holdout(fraction)


def test_the_sample_ratio_check_flags_a_broken_assignment_in_the_store(store_url: str) -> None:
    import sqlalchemy as sa

    with CampaignClient(store_url) as client:
        campaign = client.create_campaign("SRM", content=A)
        campaign.set_experiment({"A": A, "B": B}, holdout=0.2, seed="srm")
        campaign.add_leads(leads_frame(3000))
        healthy = campaign.lift()
        assert healthy["srm_p"].iloc[0] > 0.001 and not healthy["srm"].any()
        assigned = healthy.drop_duplicates("arm").set_index("arm")["assigned"]
        assert assigned.sum() == 3000
        with client.engine.begin() as connection:  # a bug moves 10% of B's leads to A
            ids = [r[0] for r in connection.execute(sa.text(
                "SELECT id FROM campaign_leads WHERE variant = 'B' ORDER BY id"))][: int(assigned["B"] * 0.1)]
            connection.execute(sa.text("UPDATE campaign_leads SET variant = 'A' WHERE id = :id"),
                               [{"id": i} for i in ids])
        broken = campaign.lift()
        assert broken["srm"].all() and broken["srm_p"].iloc[0] < 0.001
