"""Lift of each arm against the control, from counts: fixed-sample and always-valid statistics.

Fixed-sample (valid for one look at a sample size fixed in advance), from statsmodels:
absolute lift p_t - p_c with Newcomb's hybrid score interval, its p-value from the
Agresti-Caffo test, relative lift p_t / p_c - 1 with the log-adjusted ratio interval.
Always-valid (valid however often the results are looked at): the mSPRT of ``_sequential`` and
its confidence sequence of the absolute lift, and a confidence sequence of the relative lift
(``relative_cs``: the same mixture boundary on the delta-method log ratio).
p-values are Holm-adjusted across the arms compared with the same control (statsmodels
``multipletests``). Rates and lifts are in percent (percentage points for absolute lifts).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from campaign_sdk.experiments._sequential import msprt, relative_cs

TESTS = {
    "fixed": "one look at a sample size fixed in advance (e.g. the plan's); not valid if you peeked",
    "sequential": "any number of looks, at any time (always-valid mSPRT); use this one if you peek",
}
COLUMNS = [
    "metric", "test", "arm", "role", "control", "n", "events", "rate", "control_n", "control_events",
    "control_rate", "abs_lift", "abs_lift_low", "abs_lift_high", "rel_lift", "rel_lift_low",
    "rel_lift_high", "p_value", "p_holm", "significant", "incremental", "incremental_low",
    "incremental_high", "valid_for",
]


def fixed_sample(
    events_t: np.ndarray, n_t: np.ndarray, events_c: np.ndarray, n_c: np.ndarray, *, alpha: float = 0.05
) -> dict[str, np.ndarray]:
    """Fixed-sample estimates (fractions, not percent) for arrays of arms: ``diff``, ``low``,
    ``high``, ``ratio_low``, ``ratio_high``, ``p``. NaN where an arm has no leads.

    >>> out = fixed_sample(np.array([130]), np.array([1000]), np.array([100]), np.array([1000]))
    >>> round(float(out["diff"][0]), 3), bool(out["low"][0] > 0)
    (0.03, True)
    """
    from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

    x1, m1, x2, m2 = (np.asarray(a, dtype="float64") for a in (events_t, n_t, events_c, n_c))
    ok = (m1 > 0) & (m2 > 0)
    safe = [np.where(ok, a, 1.0) for a in (m1, m2)]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # statsmodels divides by zero rates on the way (ratio, odds)
        low, high = confint_proportions_2indep(x1, safe[0], x2, safe[1], method="newcomb", compare="diff",
                                               alpha=alpha)
        r_low, r_high = confint_proportions_2indep(x1, safe[0], x2, safe[1], method="log-adjusted",
                                                   compare="ratio", alpha=alpha)
        p = test_proportions_2indep(x1, safe[0], x2, safe[1], method="agresti-caffo", compare="diff").pvalue
        diff = x1 / safe[0] - x2 / safe[1]
    no_ratio = ok & (x2 == 0)
    out = {"diff": diff, "low": low, "high": high, "ratio_low": r_low, "ratio_high": r_high, "p": p}
    out = {k: np.where(ok, np.asarray(v, dtype="float64"), np.nan) for k, v in out.items()}
    out["ratio_low"] = np.where(no_ratio, np.nan, out["ratio_low"])
    out["ratio_high"] = np.where(no_ratio, np.nan, out["ratio_high"])
    return out


def holm(p: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values (NaN stays NaN), as ``multipletests(p, method="holm")[1]``.

    Written out (a test checks it equals statsmodels') because statsmodels' Holm branch calls
    ``gc.collect()`` on every call, which costs a quarter second in a busy notebook process.

    >>> holm(np.array([0.01, 0.04, 0.03])).round(2).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p, dtype="float64")
    out = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    if finite.size:
        order = finite[np.argsort(p[finite], kind="stable")]
        steps = p[order] * np.arange(order.size, 0, -1)
        out[order] = np.minimum(1.0, np.maximum.accumulate(steps))
    return out


def lift_rows(
    counts: Mapping[str, tuple[int, int]], control: str, *, metric: str, alpha: float = 0.05,
    tau: float | None = None,
) -> pd.DataFrame:
    """The lift table of one metric: ``counts`` maps arm -> (n, events); every other arm is
    compared with ``control``. One row per arm and test (fixed, sequential); the control's rows
    carry its own rate only."""
    arms = [a for a in counts if a != control]
    n_c, x_c = counts[control]
    n_t = np.array([counts[a][0] for a in arms], dtype="float64")
    x_t = np.array([counts[a][1] for a in arms], dtype="float64")
    c_n, c_x = np.full(len(arms), float(n_c)), np.full(len(arms), float(x_c))
    frames = []
    for test, valid in TESTS.items():
        if test == "fixed":
            f = fixed_sample(x_t, n_t, c_x, c_n, alpha=alpha)
            p, low, high = f["p"], f["low"], f["high"]
            r_low, r_high = f["ratio_low"] - 1, f["ratio_high"] - 1
        else:
            p, low, high = msprt(x_t, n_t, c_x, c_n, alpha=alpha, tau=tau) if arms else (np.array([]),) * 3
            r_low, r_high = relative_cs(x_t, n_t, c_x, c_n, alpha=alpha) if arms else (np.array([]),) * 2
        with np.errstate(divide="ignore", invalid="ignore"):
            rate_t, rate_c = x_t / n_t, c_x / c_n
            diff = rate_t - rate_c
            rel = np.where(rate_c > 0, rate_t / rate_c - 1, np.nan)
        p_holm = holm(p)
        treated = pd.DataFrame({
            "metric": metric, "test": test, "arm": arms, "role": "treatment", "control": control,
            "n": n_t.astype("int64"), "events": x_t.astype("int64"), "rate": rate_t * 100,
            "control_n": int(n_c), "control_events": int(x_c), "control_rate": rate_c * 100,
            "abs_lift": diff * 100, "abs_lift_low": low * 100, "abs_lift_high": high * 100,
            "rel_lift": rel * 100, "rel_lift_low": r_low * 100, "rel_lift_high": r_high * 100,
            "p_value": p, "p_holm": p_holm, "significant": p_holm < alpha,
            "incremental": diff * n_t, "incremental_low": low * n_t, "incremental_high": high * n_t,
            "valid_for": valid,
        })
        own = pd.DataFrame([{"metric": metric, "test": test, "arm": control, "role": "control",
                             "control": control, "n": int(n_c), "events": int(x_c),
                             "rate": x_c / n_c * 100 if n_c else np.nan, "significant": False,
                             "valid_for": valid}])
        frames.append(pd.concat([own, treated], ignore_index=True) if len(treated) else own)
    return pd.concat(frames, ignore_index=True).reindex(columns=COLUMNS)


def srm_check(assigned: Mapping[str, int], shares: Mapping[str, float]) -> float:
    """Sample-ratio-mismatch p-value: chi-square of the assigned counts against the planned
    shares (scipy ``chisquare``); NaN with fewer than two arms or no leads."""
    from scipy.stats import chisquare

    arms = [a for a in shares if shares[a] > 0]
    observed = np.array([assigned.get(a, 0) for a in arms], dtype="float64")
    total = observed.sum()
    if len(arms) < 2 or total == 0:
        return float("nan")
    expected = np.array([shares[a] for a in arms]) / sum(shares[a] for a in arms) * total
    return float(chisquare(observed, expected).pvalue)
