"""Campaign metrics computed by DuckDB, as pandas DataFrames.

The definitions are written down once, in ``_definitions`` (the README's "Metric definitions"
says the same). Queries run on a DuckDB mirror of the store that is refreshed incrementally
before each call (``_mirror``), so repeated calls are fast and never stale.

>>> import campaign_sdk as cs
>>> client = cs.CampaignClient("sqlite:///:memory:")
>>> campaign = client.create_campaign("Spring", template="welcome_offer")
>>> client.metrics()[["campaign", "total_leads", "messages_sent", "reply_rate"]]
  campaign  total_leads  messages_sent  reply_rate
0   Spring            0              0         NaN
"""

from __future__ import annotations

from campaign_sdk._exceptions import AnalyticsError
from campaign_sdk.analytics._definitions import DEFAULT_WINDOW, FUNNEL, RATES
from campaign_sdk.analytics._definitions import __doc__ as DEFINITIONS
from campaign_sdk.analytics._metrics import (
    add_rates,
    campaign_metrics,
    funnel,
    lead_facts,
    parse_window,
    reply_times,
    sql,
    to_long,
)
from campaign_sdk.analytics._mirror import close_mirror, mirror_for
from campaign_sdk.analytics._parquet import ExportReport, export_events
from campaign_sdk.analytics._plots import funnel_chart, rates_chart, reply_times_chart
from campaign_sdk.analytics._stats import wilson_interval

__all__ = [
    "AnalyticsError",
    "DEFAULT_WINDOW",
    "DEFINITIONS",
    "ExportReport",
    "FUNNEL",
    "RATES",
    "add_rates",
    "campaign_metrics",
    "close_mirror",
    "export_events",
    "funnel",
    "funnel_chart",
    "lead_facts",
    "mirror_for",
    "parse_window",
    "rates_chart",
    "reply_times",
    "reply_times_chart",
    "sql",
    "to_long",
    "wilson_interval",
]
