"""The delivery policy layer: *when* each lead gets its message, and why some are held back.

Pure policy (pydantic models and functions) plus :func:`plan_campaign`, which computes a
campaign's plan set-wise in DuckDB: one row per lead with its action (send / defer / skip), the
reason, the recipient's zone(s) and local send time, the rendered message, SMS segments and the
estimated cost. ``Campaign.plan()`` is the way users reach it.

>>> policy = DeliveryPolicy(window=SendWindow(start="10:00", end="20:00"),
...                         countries={"DE": SendWindow(days=["mon", "tue", "wed", "thu", "fri"])},
...                         caps=[FrequencyCap(limit=1, per="24h"), FrequencyCap(limit=3, per="1w")])
>>> policy.window_for("marketing", "DE").days
('mon', 'tue', 'wed', 'thu', 'fri')
"""

from __future__ import annotations

from campaign_sdk.delivery._api import plan_arms, plan_campaign, policy_choice, policy_for
from campaign_sdk.delivery._frame import PLAN_COLUMNS, DeliveryPlan
from campaign_sdk.delivery._policy import DAYS, DeliveryPolicy, FrequencyCap, SendWindow
from campaign_sdk.delivery._prices import price_table
from campaign_sdk.delivery._reasons import DEFER, REASONS, SKIP
from campaign_sdk.delivery._schedule import Schedule, in_twilio_window, schedule, twilio_can_schedule, utc
from campaign_sdk.delivery._segments import Segments, sms_segments
from campaign_sdk.delivery._stored import save_client_policy, stored_client_policy
from campaign_sdk.delivery._spec import ARRIVAL, NOT_COUNTED
from campaign_sdk.delivery._windows import local_moment, local_target, next_allowed
from campaign_sdk.delivery._zones import UNKNOWN_ZONE, number_zones

__all__ = [
    "ARRIVAL",
    "DAYS",
    "DEFER",
    "DeliveryPlan",
    "DeliveryPolicy",
    "FrequencyCap",
    "NOT_COUNTED",
    "PLAN_COLUMNS",
    "REASONS",
    "SKIP",
    "Schedule",
    "Segments",
    "SendWindow",
    "UNKNOWN_ZONE",
    "in_twilio_window",
    "local_moment",
    "local_target",
    "next_allowed",
    "number_zones",
    "plan_arms",
    "plan_campaign",
    "policy_choice",
    "policy_for",
    "price_table",
    "save_client_policy",
    "schedule",
    "sms_segments",
    "stored_client_policy",
    "twilio_can_schedule",
    "utc",
]
