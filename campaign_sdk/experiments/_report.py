"""The lift table of a campaign's experiment, and the winner of its test phase."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaign_sdk._exceptions import InvalidArgumentError
from campaign_sdk.analytics import DEFAULT_WINDOW, mirror_for, parse_window
from campaign_sdk.analytics import _definitions as d
from campaign_sdk.experiments._assign import GLOBAL_HOLDOUT, HOLDOUT, REST, planned_shares
from campaign_sdk.experiments._design import Design
from campaign_sdk.experiments._lift import COLUMNS, TESTS, fixed_sample, holm, lift_rows, srm_check
from campaign_sdk.experiments._sequential import msprt
from campaign_sdk.models import SyncState

METRICS = {"conversion_rate": "conversions", "reply_rate": "replies"}
SRM_ALPHA = 0.001  # a sample-ratio mismatch this unlikely by chance means a broken assignment
Window = str | dt.timedelta


@dataclass(frozen=True)
class ArmCounts:
    """Per arm: leads assigned, counted (n, intention to treat), converted and replied."""

    frame: pd.DataFrame  # index: arm; columns assigned, n, conversions, replies

    @classmethod
    def empty(cls) -> ArmCounts:
        return cls(pd.DataFrame(columns=["assigned", "n", "conversions", "replies"], dtype="int64"))

    def counts(self, arm: str, metric: str) -> tuple[int, int]:
        if arm not in self.frame.index:
            return 0, 0
        row = self.frame.loc[arm]
        return int(row["n"]), int(row[METRICS[metric]])


def arm_counts(
    engine: sa.Engine, campaign_id: int, *, reply_window: Window = DEFAULT_WINDOW,
    attribution_window: Window = DEFAULT_WINDOW,
) -> ArmCounts:
    """Count every arm of the campaign in one DuckDB pass over the analytics mirror."""
    micros = dt.timedelta(microseconds=1)
    params = {"campaign_id": int(campaign_id), "reply_us": parse_window(reply_window) // micros,
              "attribution_us": parse_window(attribution_window) // micros}
    with mirror_for(engine).reading(("leads", "messages", "users", "replies", "conversions")) as con:
        frame = con.execute(d.lift_counts_sql(), params).df()
    return ArmCounts(frame.set_index("arm")[["assigned", "n", "conversions", "replies"]].astype("int64"))


def record_look(session: Session, campaign_id: int, design: Design, counts: ArmCounts) -> int:
    """Count a look at this experiment's results; returns how many there were so far.

    A look at the very same counts as the last one is not a new look (it cannot change a
    decision), and is not written: so repeated calls on unchanged data write nothing (and leave
    the analytics mirror fresh). Stored in ``sync_state`` per campaign and experiment seed."""
    key = f"lift_looks:{campaign_id}:{design.seed}"[:100]
    digest = hashlib.sha256(counts.frame.sort_index().to_csv().encode()).hexdigest()[:16]
    row = session.get(SyncState, key)
    looks, last = (0, None) if row is None else _parse_look(row.value)
    if digest == last:
        return looks
    session.merge(SyncState(key=key, value=json.dumps({"looks": looks + 1, "digest": digest})))
    return looks + 1


def _parse_look(value: str) -> tuple[int, str | None]:
    try:
        stored = json.loads(value)
        return int(stored["looks"]), str(stored["digest"])
    except (ValueError, KeyError, TypeError):
        return 0, None


def _use(table: pd.DataFrame, design: Design, looks: int | None) -> pd.Series:
    """Which test's rows are valid for how the results were looked at: the fixed-sample ones only
    at the first look, once every compared arm has the planned sample; else the sequential ones."""
    planned = design.planned_per_arm
    reached = planned is not None and bool((table["n"] >= planned).all())
    fixed_ok = looks == 1 and reached
    return table["test"] == ("fixed" if fixed_ok else "sequential")


def _control(design: Design, counts: ArmCounts) -> str | None:
    if design.holdout:
        return HOLDOUT
    if GLOBAL_HOLDOUT in counts.frame.index:
        return GLOBAL_HOLDOUT
    return design.variants[0] if len(design.variants) >= 2 else None


def lift_table(
    design: Design, counts: ArmCounts, *, campaign_id: int, campaign: str, alpha: float = 0.05,
    tau: float | None = None, metrics: tuple[str, ...] = tuple(METRICS), looks: int | None = None,
) -> pd.DataFrame:
    """The tidy lift table: one row per metric x test x arm (see ``_lift.COLUMNS``), plus the
    sample-ratio-mismatch p-value ``srm_p`` and flag ``srm`` (p < 0.001), ``looks`` (how many
    times the results were looked at, this one included) and ``use`` (True on the rows of the
    test that is valid for that: see :func:`_use`)."""
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise InvalidArgumentError(f"lift metrics are {list(METRICS)}; {unknown} are not")
    if not 0 < alpha < 1:
        raise InvalidArgumentError(f"alpha={alpha!r} must be strictly between 0 and 1")
    arms = list(design.weights)
    frames = []
    for metric in metrics:
        control = _control(design, counts) if metric == "conversion_rate" else (
            design.variants[0] if len(design.variants) >= 2 else None)
        if control is None:
            continue
        compared = [a for a in arms if a != control] if control in arms else arms
        table = {control: counts.counts(control, metric), **{a: counts.counts(a, metric) for a in compared}}
        frames.append(lift_rows(table, control, metric=metric, alpha=alpha, tau=tau))
    shares = planned_shares(design.weights, holdout=design.holdout, test_fraction=design.test_fraction)
    assigned = counts.frame["assigned"].to_dict()
    srm_p = srm_check(assigned, shares)
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    out.insert(0, "campaign", campaign)
    out.insert(0, "campaign_id", campaign_id)
    out["assigned"] = [int(assigned.get(a, 0)) for a in out["arm"]]
    out["planned_share"] = [shares.get(a, np.nan) for a in out["arm"]]
    out["srm_p"] = srm_p
    out["srm"] = bool(srm_p < SRM_ALPHA)
    out["looks"] = looks
    out["use"] = _use(out, design, looks) if len(out) else pd.Series(dtype=bool)
    out.attrs["tests"] = dict(TESTS)
    out.attrs["advice"] = (
        f"looked at {looks} time(s): " + ("the fixed-sample rows are valid (first look, planned sample reached)"
                                          if len(out) and out.loc[out["use"], "test"].eq("fixed").all()
                                          else "read the sequential rows (valid however often you look)")
    )
    return out


def pick_winner(
    design: Design, counts: ArmCounts, *, metric: str, test: str, alpha: float = 0.05
) -> tuple[str | None, pd.DataFrame]:
    """The variant with the highest rate, if it beats every other variant (Holm-adjusted, two-
    sided, at ``alpha``) under ``test``; else None. Also the comparisons, one row per rival."""
    if metric not in METRICS:
        raise InvalidArgumentError(f"metric={metric!r}: send_winner compares {list(METRICS)}")
    if test not in TESTS:
        raise InvalidArgumentError(f"test={test!r} must be one of {list(TESTS)}: {TESTS}")
    variants = design.variants
    pairs = {v: counts.counts(v, metric) for v in variants}
    rates = {v: (x / n if n else -1.0) for v, (n, x) in pairs.items()}
    leader = max(variants, key=lambda v: rates[v])
    rivals = [v for v in variants if v != leader]
    n_l, x_l = pairs[leader]
    n_r = np.array([pairs[v][0] for v in rivals], dtype="float64")
    x_r = np.array([pairs[v][1] for v in rivals], dtype="float64")
    lead_n, lead_x = np.full(len(rivals), float(n_l)), np.full(len(rivals), float(x_l))
    if test == "fixed":
        f = fixed_sample(lead_x, lead_n, x_r, n_r, alpha=alpha)
        p, low, high = f["p"], f["low"], f["high"]
    else:
        p, low, high = msprt(lead_x, lead_n, x_r, n_r, alpha=alpha)
    p_holm = holm(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        table = pd.DataFrame({
            "leader": leader, "rival": rivals, "leader_n": n_l, "leader_rate": x_l / n_l * 100 if n_l else np.nan,
            "rival_n": n_r.astype("int64"), "rival_rate": x_r / n_r * 100,
            "abs_lift": (x_l / max(n_l, 1) - x_r / n_r) * 100, "abs_lift_low": low * 100,
            "abs_lift_high": high * 100, "p_holm": p_holm, "test": test,
        })
    wins = bool(len(rivals)) and bool(np.all((p_holm < alpha) & (low > 0)))
    return (leader if wins else None), table


def no_winner_message(campaign: str, metric: str, test: str, alpha: float, table: pd.DataFrame) -> str:
    lines = [
        f"  {r.leader} {r.leader_rate:.2f}% (n={r.leader_n}) vs {r.rival} {r.rival_rate:.2f}% (n={r.rival_n}): "
        f"{r.abs_lift:+.2f} pts, {1 - alpha:.0%} CI [{r.abs_lift_low:+.2f}, {r.abs_lift_high:+.2f}], "
        f"Holm p={r.p_holm:.3g}"
        for r in table.itertuples()
    ]
    return (
        f"campaign {campaign!r} has no winner on {metric} yet under the {test} test at alpha={alpha:g} "
        f"(the leader must beat every other variant):\n" + "\n".join(lines) + "\n"
        "Nothing was sent. Wait for more results and call client.sync(), then try again"
        + (" (the sequential test stays valid however often you look)" if test == "sequential" else "")
    )


def rest_waiting(counts: ArmCounts) -> int:
    return int(counts.frame["assigned"].get(REST, 0)) if REST in counts.frame.index else 0
