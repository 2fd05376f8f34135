"""The statistics lift() reports, checked by simulation against known truths.

Each test calls the very functions ``lift()`` reports through (``lift_rows`` for the fixed and
sequential intervals, ``msprt``, ``srm_check``), on counts simulated with numpy (seeded), not
through the database: thousands of experiments run in seconds.
"""

from __future__ import annotations

import numpy as np
import pytest

from campaign_sdk.experiments import fixed_sample, lift_rows, msprt, planned_shares, srm_check

ALPHA = 0.05


def test_fixed_interval_of_absolute_lift_covers_the_truth_95_percent_of_the_time() -> None:
    """2,000 seeded experiments (the issue asks for at least 200) with known rates drawn per
    experiment: the 95% interval of the absolute lift covers the true lift 93-97% of the time."""
    rng = np.random.default_rng(20261201)
    runs = 2000
    p_c = rng.uniform(0.02, 0.30, runs)
    p_t = np.clip(p_c + rng.uniform(-0.03, 0.05, runs), 0.005, 0.95)
    n_c = rng.integers(500, 4000, runs)
    n_t = rng.integers(500, 4000, runs)
    x_c, x_t = rng.binomial(n_c, p_c), rng.binomial(n_t, p_t)
    out = fixed_sample(x_t, n_t, x_c, n_c)
    truth = p_t - p_c
    coverage = np.mean((out["low"] <= truth) & (truth <= out["high"]))
    assert 0.93 <= coverage <= 0.97, coverage
    # the lift table reports exactly these intervals (checked on the first 200 experiments)
    for i in range(200):
        rows = lift_rows({"holdout": (int(n_c[i]), int(x_c[i])), "A": (int(n_t[i]), int(x_t[i]))}, "holdout",
                         metric="conversion_rate")
        fixed = rows[(rows.test == "fixed") & (rows.arm == "A")].iloc[0]
        assert (fixed.abs_lift_low, fixed.abs_lift_high) == pytest.approx((out["low"][i] * 100, out["high"][i] * 100))
        assert fixed.p_value == pytest.approx(out["p"][i])


def test_relative_lift_interval_covers_the_truth() -> None:
    rng = np.random.default_rng(7)
    runs = 2000
    p_c = rng.uniform(0.03, 0.25, runs)
    p_t = p_c * rng.uniform(0.8, 1.4, runs)
    n = rng.integers(1000, 5000, runs)
    out = fixed_sample(rng.binomial(n, p_t), n, rng.binomial(n, p_c), n)
    truth = p_t / p_c
    coverage = np.mean((out["ratio_low"] <= truth) & (truth <= out["ratio_high"]))
    assert 0.93 <= coverage <= 0.97, coverage


def _aa_paths(runs: int, looks: int, per_look: int, rate: float, seed: int) -> tuple[np.ndarray, ...]:
    """Cumulative counts of ``runs`` A/A experiments looked at ``looks`` times."""
    rng = np.random.default_rng(seed)
    x_t = rng.binomial(per_look, rate, (runs, looks)).cumsum(axis=1)
    x_c = rng.binomial(per_look, rate, (runs, looks)).cumsum(axis=1)
    n = np.broadcast_to(per_look * np.arange(1, looks + 1), (runs, looks))
    return x_t, n, x_c, n


def test_peeking_20_times_keeps_the_sequential_test_at_alpha_but_not_the_fixed_one() -> None:
    """1,000 A/A experiments, each looked at 20 times, stopping at the first significant look:
    the always-valid test's false-positive rate stays at or under alpha + 1 point; the
    fixed-sample test looked at the same way does not (that is why the sequential one exists)."""
    x_t, n_t, x_c, n_c = _aa_paths(1000, 20, 250, 0.10, seed=11)
    p_seq, _, _ = msprt(x_t, n_t, x_c, n_c, alpha=ALPHA)
    p_fixed = fixed_sample(x_t.ravel(), n_t.ravel(), x_c.ravel(), n_c.ravel())["p"].reshape(x_t.shape)
    sequential_fpr = np.mean((p_seq < ALPHA).any(axis=1))
    fixed_fpr = np.mean((p_fixed < ALPHA).any(axis=1))
    assert sequential_fpr <= ALPHA + 0.01, sequential_fpr
    assert fixed_fpr > ALPHA + 0.01, fixed_fpr
    # and the fixed test is right when looked at once (the last look only)
    assert abs(np.mean(p_fixed[:, -1] < ALPHA) - ALPHA) < 0.02


@pytest.mark.parametrize("rate", [0.03, 0.3])
def test_sequential_false_positives_stay_under_alpha_at_other_rates(rate: float) -> None:
    x_t, n_t, x_c, n_c = _aa_paths(1000, 20, 300, rate, seed=5)
    p_seq, _, _ = msprt(x_t, n_t, x_c, n_c, alpha=ALPHA)
    assert np.mean((p_seq < ALPHA).any(axis=1)) <= ALPHA + 0.01


def test_confidence_sequence_covers_the_truth_at_every_look_at_once() -> None:
    """Time-uniform coverage: in >= 95% (minus a point) of experiments with a real lift, the
    interval reported by lift()'s sequential rows holds the truth at all 20 looks."""
    rng = np.random.default_rng(3)
    runs, looks, per = 1000, 20, 250
    x_t = rng.binomial(per, 0.12, (runs, looks)).cumsum(axis=1)
    x_c = rng.binomial(per, 0.10, (runs, looks)).cumsum(axis=1)
    n = np.broadcast_to(per * np.arange(1, looks + 1), (runs, looks))
    _, low, high = msprt(x_t, n, x_c, n)
    always = ((low <= 0.02) & (0.02 <= high)).all(axis=1)
    assert always.mean() >= 0.94


def test_sequential_rows_of_the_lift_table_are_msprt() -> None:
    rows = lift_rows({"holdout": (2000, 200), "A": (2000, 260)}, "holdout", metric="conversion_rate")
    seq = rows[(rows.test == "sequential") & (rows.arm == "A")].iloc[0]
    p, low, high = msprt(260, 2000, 200, 2000)
    assert seq.p_value == pytest.approx(float(p))
    assert (seq.abs_lift_low, seq.abs_lift_high) == pytest.approx((float(low) * 100, float(high) * 100))
    assert "any number of looks" in seq.valid_for
    fixed = rows[(rows.test == "fixed") & (rows.arm == "A")].iloc[0]
    assert fixed.abs_lift_high - fixed.abs_lift_low < seq.abs_lift_high - seq.abs_lift_low


def test_holm_controls_the_familywise_error_across_arms() -> None:
    """Four arms equal to the control, 4,000 times: P(any Holm-significant arm) <= alpha."""
    from campaign_sdk.experiments import holm

    rng = np.random.default_rng(9)
    runs, arms, n, rate = 4000, 4, 2000, 0.1
    x_c = rng.binomial(n, rate, runs)
    x_t = rng.binomial(n, rate, (runs, arms))
    p = fixed_sample(x_t.ravel(), np.full(runs * arms, n), np.repeat(x_c, arms), np.full(runs * arms, n))["p"]
    adjusted = np.array([holm(row) for row in p.reshape(runs, arms)])
    assert np.mean((adjusted < ALPHA).any(axis=1)) <= ALPHA + 0.01
    raw = np.mean((p.reshape(runs, arms) < ALPHA).any(axis=1))
    assert raw > ALPHA + 0.05  # without the adjustment, four looks at noise find "winners"


def test_srm_check_has_its_false_alarm_rate_and_flags_a_broken_assignment() -> None:
    rng = np.random.default_rng(1)
    shares = planned_shares({"A": 0.5, "B": 0.5}, holdout=0.1, test_fraction=None)
    arms = list(shares)
    draws = rng.multinomial(10_000, [shares[a] for a in arms], size=2000)
    p = np.array([srm_check(dict(zip(arms, d)), shares) for d in draws])
    assert abs(np.mean(p < 0.05) - 0.05) < 0.015  # calibrated when the assignment works
    broken = {"holdout": 1000, "A": 4700, "B": 4300}  # B lost 5% of its leads
    assert srm_check(broken, shares) < 0.001


def test_holm_is_statsmodels_holm() -> None:
    from statsmodels.stats.multitest import multipletests

    from campaign_sdk.experiments import holm

    rng = np.random.default_rng(2)
    for size in (1, 2, 5, 8):
        p = rng.uniform(0, 0.2, size)
        assert holm(p) == pytest.approx(multipletests(p, method="holm")[1])
    assert np.isnan(holm(np.array([0.01, np.nan])))[1]


def test_over_400_seeded_sandbox_experiments_the_interval_covers_the_true_lift() -> None:
    """End to end through the sandbox's own simulation and the lift SQL: 400 seeded holdout
    experiments of 700 leads with known true rates, where a share of the numbers fail (refused
    as invalid) and those people never buy (failing numbers convert less, as in real lists).
    ``lift_counts_sql`` (intention to treat) and the lift table's 95% interval cover the true
    ITT lift 93-97% of the time; the old per-protocol count (treatment n = messages that reached
    the phone) is biased upward and misses it far more often."""
    from tests.experiments.sandbox_runs import run_holdout_experiments

    runs = run_holdout_experiments(400, leads=700, delivery=(0.75, 0.95))
    covered = (runs.itt_low <= runs.truth) & (runs.truth <= runs.itt_high)
    assert 0.93 <= covered.mean() <= 0.97, covered.mean()
    per_protocol = (runs.pp_low <= runs.truth) & (runs.truth <= runs.pp_high)
    assert per_protocol.mean() < 0.85, per_protocol.mean()  # the old estimand: biased upward
    assert (runs.pp_lift - runs.truth).mean() > 1.5 > abs((runs.itt_lift - runs.truth).mean())
    assert (runs.failed > 0).all()  # every experiment has failing numbers in its treatment arm
    assert (runs.treatment_n == runs.treatment_assigned).all()  # each of them counts in n (ITT)


@pytest.mark.parametrize(("p_c", "p_t", "per_look"), [(0.10, 0.12, 250), (0.05, 0.05, 400), (0.20, 0.15, 200)])
def test_relative_confidence_sequence_covers_the_truth_at_every_look_at_once(p_c: float, p_t: float, per_look: int) -> None:
    """The sequential rows' relative-lift interval (``relative_cs``) holds the true p_t / p_c - 1
    at all 20 looks at once in >= 95% (minus a point) of 1,000 experiments; the fixed-sample
    relative interval looked at the same 20 times does not."""
    from campaign_sdk.experiments import relative_cs

    rng = np.random.default_rng(int(p_c * 1000 + p_t * 100))
    runs, looks = 1000, 20
    x_t = rng.binomial(per_look, p_t, (runs, looks)).cumsum(axis=1)
    x_c = rng.binomial(per_look, p_c, (runs, looks)).cumsum(axis=1)
    n = np.broadcast_to(per_look * np.arange(1, looks + 1), (runs, looks))
    truth = p_t / p_c - 1
    low, high = relative_cs(x_t, n, x_c, n)
    assert ((low <= truth) & (truth <= high)).all(axis=1).mean() >= 0.94
    fixed = fixed_sample(x_t.ravel(), n.ravel(), x_c.ravel(), n.ravel())
    f_low, f_high = (fixed[k].reshape(runs, looks) - 1 for k in ("ratio_low", "ratio_high"))
    assert ((f_low <= truth) & (truth <= f_high)).all(axis=1).mean() < 0.90
    rows = lift_rows({"holdout": (int(n[0, -1]), int(x_c[0, -1])), "A": (int(n[0, -1]), int(x_t[0, -1]))}, "holdout",
                     metric="conversion_rate")
    seq = rows[(rows.test == "sequential") & (rows.arm == "A")].iloc[0]
    assert (seq.rel_lift_low, seq.rel_lift_high) == pytest.approx((low[0, -1] * 100, high[0, -1] * 100))


def test_aa_peeking_with_failing_numbers_keeps_the_itt_sequential_test_at_alpha() -> None:
    """1,000 A/A experiments (the message changes nothing) looked at 20 times, where 20% of the
    numbers fail and their people never buy: counting every assigned lead (intention to treat,
    as lift() does) keeps the sequential test's false-positive rate at or under alpha + 1 point;
    the old per-protocol count (only messages that reached the phone, against the whole control)
    finds a "lift" that is not there, and so does the fixed-sample test when peeked at."""
    rng = np.random.default_rng(12)
    runs, looks, per, rate, bad_share, delivered = 1000, 20, 250, 0.08, 0.2, 0.9
    shape = (runs, looks, per)
    good_t, good_c = rng.random(shape) >= bad_share, rng.random(shape) >= bad_share
    reached = good_t & (rng.random(shape) < delivered)
    buys_t, buys_c = good_t & (rng.random(shape) < rate), good_c & (rng.random(shape) < rate)
    n = np.broadcast_to(per * np.arange(1, looks + 1), (runs, looks))
    x_t, x_c = buys_t.sum(axis=2).cumsum(axis=1), buys_c.sum(axis=2).cumsum(axis=1)
    p_itt, _, _ = msprt(x_t, n, x_c, n)
    assert np.mean((p_itt < ALPHA).any(axis=1)) <= ALPHA + 0.01
    pp_n, pp_x = reached.sum(axis=2).cumsum(axis=1), (buys_t & reached).sum(axis=2).cumsum(axis=1)
    p_pp, _, _ = msprt(pp_x, pp_n, x_c, n)
    assert np.mean((p_pp < ALPHA).any(axis=1)) > 0.3  # per-protocol: biased, "significant" at 0 effect
    p_fixed = fixed_sample(x_t.ravel(), n.ravel(), x_c.ravel(), n.ravel())["p"].reshape(runs, looks)
    assert np.mean((p_fixed < ALPHA).any(axis=1)) > ALPHA + 0.01
