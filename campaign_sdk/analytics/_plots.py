"""Figures for notebooks: each helper returns a matplotlib ``Figure`` (shown when it is the
cell's value). matplotlib is imported only when a figure is drawn."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from campaign_sdk._exceptions import AnalyticsError
from campaign_sdk.analytics._definitions import FUNNEL, RATES, TIME_GROUPS

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    class Chart(Figure):
        """A bare Figure (not pyplot: no global state) that renders itself as a PNG, so a
        notebook shows it exactly once, with or without ``%matplotlib inline``."""

        def _repr_png_(self) -> bytes:
            import io

            buffer = io.BytesIO()
            self.savefig(buffer, format="png", dpi=100)
            return buffer.getvalue()

    return Chart(figsize=(width, height), layout="constrained")


def funnel_chart(funnel: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Horizontal bars of a :func:`funnel` frame, one panel per campaign, each bar labelled
    with its lead count and step rate.

    >>> fig = funnel_chart(client.campaign("Black Friday").funnel())  # doctest: +SKIP
    """
    missing = {"campaign", "step", "leads", "step_rate"} - set(funnel.columns)
    if missing:
        raise AnalyticsError(f"funnel_chart needs a funnel() frame; missing columns {sorted(missing)}")
    campaigns = list(dict.fromkeys(funnel["campaign"]))
    fig = _figure(7, 0.4 + 2.2 * max(len(campaigns), 1))
    axes = fig.subplots(max(len(campaigns), 1), 1, squeeze=False)[:, 0]
    steps = list(FUNNEL)
    for ax, name in zip(axes, campaigns or ["(no campaign)"]):
        rows = funnel[funnel["campaign"] == name].set_index("step").reindex(steps)
        leads = rows["leads"].fillna(0).to_numpy()
        bars = ax.barh(steps, leads, color="#4C72B0")
        ax.invert_yaxis()
        for bar, count, rate in zip(bars, leads, rows["step_rate"]):
            label = f"{int(count):,}" + ("" if pd.isna(rate) else f"  ({rate:.1f}%)")
            ax.annotate(label, (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                        xytext=(4, 0), textcoords="offset points", va="center", fontsize=9)
        ax.set_title(str(name), loc="left", fontsize=10)
        ax.set_xlabel("leads")
        ax.margins(x=0.25)
    if title:
        fig.suptitle(title)
    return fig


def rates_chart(metrics: pd.DataFrame, *, rate: str = "reply_rate", title: str | None = None) -> Figure:
    """A rate over time per campaign with its 95% interval as a band, from
    ``client.metrics(by="day")`` or ``by="week"`` (wide shape).

    >>> fig = rates_chart(client.metrics(by="day"), rate="conversion_rate")  # doctest: +SKIP
    """
    if rate not in RATES:
        raise AnalyticsError(f"rate={rate!r} is not a rate; choose one of {', '.join(RATES)}")
    time = next((c for c in TIME_GROUPS if c in metrics.columns), None)
    if time is None or rate not in metrics.columns:
        raise AnalyticsError(
            "rates_chart needs client.metrics(by='day') or by='week' in the wide shape"
        )
    fig = _figure(8, 4)
    ax = fig.subplots()
    data = metrics.dropna(subset=[time]).sort_values(time)
    for name, rows in data.groupby("campaign", sort=False):
        line = ax.plot(rows[time], rows[rate], marker="o", markersize=3, label=str(name))[0]
        ax.fill_between(rows[time], rows[f"{rate}_low"], rows[f"{rate}_high"],
                        color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_ylabel(f"{rate.replace('_', ' ')} (%)")
    ax.set_xlabel(time)
    ax.set_ylim(bottom=0)
    ax.set_title(title or f"{rate.replace('_', ' ')} by {time}, with 95% Wilson intervals")
    if data["campaign"].nunique() <= 12:
        ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return fig


def reply_times_chart(reply_times: pd.DataFrame, *, bins: int = 40, title: str | None = None) -> Figure:
    """Histogram of time-to-reply in hours from :func:`reply_times`.

    >>> fig = reply_times_chart(client.reply_times())  # doctest: +SKIP
    """
    if "time_to_reply" not in reply_times.columns:
        raise AnalyticsError("reply_times_chart needs a reply_times() frame")
    fig = _figure(7, 3.5)
    ax = fig.subplots()
    hours = reply_times["time_to_reply"].dt.total_seconds() / 3600
    ax.hist(hours, bins=bins, color="#55A868")
    ax.set_xlabel("hours from message to first reply")
    ax.set_ylabel("leads")
    ax.set_title(title or f"time to reply ({len(hours):,} replied leads)")
    return fig
