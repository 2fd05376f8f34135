"""A forest plot of a lift table: each arm's lift with its interval."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from campaign_sdk._exceptions import AnalyticsError
from campaign_sdk.analytics._plots import _figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_COLOURS = {"fixed": "tab:blue", "sequential": "tab:orange"}


def lift_chart(lift: pd.DataFrame, *, metric: str = "conversion_rate", test: str | None = None,
               title: str | None = None) -> Figure:
    """Forest plot of ``campaign.lift()``: one line per treatment arm and test, the absolute
    lift in points with its 95% interval (blue: fixed-sample, orange: always-valid sequential)
    and a dashed line at no effect. Returns a matplotlib Figure (shown as the cell's value).

    >>> cs.lift_chart(campaign.lift(), metric="conversion_rate")  # doctest: +SKIP
    """
    rows = lift[(lift["metric"] == metric) & (lift["role"] == "treatment")]
    if test is not None:
        rows = rows[rows["test"] == test]
    if rows.empty:
        raise AnalyticsError(f"the lift table has no treatment rows for metric={metric!r}, test={test!r}")
    fig = _figure(6.5, 0.55 * len(rows) + 1.4)
    ax = fig.add_subplot()
    y = list(range(len(rows)))[::-1]
    for yi, row in zip(y, rows.itertuples(), strict=True):
        err = [[row.abs_lift - row.abs_lift_low], [row.abs_lift_high - row.abs_lift]]
        ax.errorbar(row.abs_lift, yi, xerr=err, fmt="o", color=_COLOURS.get(row.test, "black"), capsize=4)
    ax.axvline(0, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(y, [f"{r.arm} ({r.test})" for r in rows.itertuples()])
    ax.set_xlabel(f"lift vs {rows['control'].iloc[0]} (percentage points, 95% interval)")
    ax.set_title(title or f"{metric.replace('_', ' ')}: lift by arm")
    return fig
