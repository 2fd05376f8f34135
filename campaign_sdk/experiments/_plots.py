"""A forest plot of a lift table: each arm's lift with its interval."""

from __future__ import annotations

from typing import Any

import pandas as pd


def lift_chart(lift: pd.DataFrame, *, metric: str = "conversion_rate", test: str | None = None, ax: Any = None) -> Any:
    """Forest plot of ``campaign.lift()``: one line per treatment arm (and test), the absolute
    lift in points with its interval, and a dashed line at no effect. Returns the Axes.

    >>> ax = lift_chart(campaign.lift())  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    rows = lift[(lift["metric"] == metric) & (lift["role"] == "treatment")]
    if test is not None:
        rows = rows[rows["test"] == test]
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.6 * max(len(rows), 1) + 1.2))
    labels = [f"{r.arm} ({r.test})" for r in rows.itertuples()]
    y = list(range(len(rows)))[::-1]
    low = rows["abs_lift"] - rows["abs_lift_low"]
    high = rows["abs_lift_high"] - rows["abs_lift"]
    colours = ["tab:blue" if t == "fixed" else "tab:orange" for t in rows["test"]]
    for yi, (x, lo, hi, colour) in enumerate(zip(rows["abs_lift"], low, high, colours, strict=True)):
        ax.errorbar(x, y[yi], xerr=[[lo], [hi]], fmt="o", color=colour, capsize=4)
    ax.axvline(0, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(y, labels)
    control = rows["control"].iloc[0] if len(rows) else "control"
    ax.set_xlabel(f"{metric.replace('_', ' ')}: lift vs {control} (percentage points, 95% interval)")
    ax.set_title("Lift by arm (blue: fixed-sample, orange: always-valid sequential)")
    ax.figure.tight_layout()
    return ax
