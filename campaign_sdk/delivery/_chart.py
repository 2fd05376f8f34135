"""The send-time histogram of a plan: leads to send or defer per local hour of arrival."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def send_time_chart(plan: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Bars of ``plan.by_hour()``: how many messages arrive at each local hour (0-23), split into
    sent now and deferred; the policy's quiet hours show as the empty hours.

    >>> fig = send_time_chart(campaign.plan())  # doctest: +SKIP
    """
    from campaign_sdk.analytics._plots import _figure

    live = plan[plan["action"].isin(["send", "defer"])]
    hours = pd.to_datetime(live["local_send_time"]).dt.hour
    counts = pd.crosstab(hours, live["action"].astype(str)).reindex(range(24), fill_value=0)
    fig = _figure(7, 2.8)
    ax = fig.subplots()
    bottom = None
    for action, color in (("send", "#4C72B0"), ("defer", "#DD8452")):
        values = counts[action] if action in counts else pd.Series(0, index=counts.index)
        ax.bar(counts.index, values, bottom=bottom, color=color, label=f"{action} ({int(values.sum()):,})")
        bottom = values if bottom is None else bottom + values
    ax.set_xticks(range(0, 24, 2))
    ax.set_xlabel("local hour of arrival (recipient's zone)")
    ax.set_ylabel("messages")
    ax.legend(loc="upper left", fontsize=9)
    ax.set_title(title or "When each message arrives, in the recipient's local time", loc="left", fontsize=10)
    return fig
