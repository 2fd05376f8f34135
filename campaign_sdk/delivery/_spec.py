"""What a plan is computed from (``PlanSpec``), shared SQL fragments, and send moments per zone key."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from campaign_sdk.delivery._policy import DeliveryPolicy
from campaign_sdk.delivery._reasons import SKIP
from campaign_sdk.delivery._render import LeadTemplate
from campaign_sdk.delivery._schedule import Schedule
from campaign_sdk.delivery._windows import local_moment, next_allowed, require_local_time
from campaign_sdk.facts import statuses
from campaign_sdk.facts.delivery import SERVICE_WINDOW

# a message that counts toward caps and limits: it may have reached the person (not refused
# before a SID, and none of these statuses); it reaches the person at the first of ARRIVAL set
# (sent, else the SendAt Twilio's scheduler holds it for, else made). Also read by trigger().
NOT_COUNTED = statuses.NEVER_REACHED
ARRIVAL = ("sent_at", "scheduled_for", "created_at")
COUNTS = ("NOT (m.sid IS NULL AND m.error_code IS NOT NULL) "
          f"AND m.status NOT IN ({', '.join(repr(s) for s in NOT_COUNTED)})")
SKIPS = "(" + ", ".join(f"'{r}'" for r in SKIP) + ")"
LIVE = "({t}.reason IS NULL OR {t}.reason NOT IN " + SKIPS + ")"  # not skipped (yet)
US = dt.timedelta(microseconds=1)
# the person's 24-hour customer-service window is open at the plan row ``r``'s ``send_at``: an
# inbound message of theirs at most SERVICE_WINDOW before it
IN_SERVICE_WINDOW = f"""EXISTS (SELECT 1 FROM replies q WHERE q.user_id = r.user_id AND q.received_at <= r.send_at
                  AND q.received_at + to_microseconds({SERVICE_WINDOW // US}) >= r.send_at)"""


@dataclass(frozen=True)
class PlanSpec:
    """Everything a plan needs besides the store."""

    campaign_id: int
    category: str  # marketing / service: the policy's categories
    price_category: str  # marketing / utility / authentication / service: the price table's
    channel: str
    # (arm names, template or skip reason): the content each experiment arm's leads get (None:
    # the campaign's own arm, and any lead whose arm is unknown) or why the arm is never sent
    arms: Sequence[tuple[tuple[str | None, ...], LeadTemplate | str]]
    policy: DeliveryPolicy
    schedule: Schedule
    now: dt.datetime  # aware UTC
    expires_at: dt.datetime | None
    messaging_tier: int | None
    freeform: bool
    twilio_scheduling: bool
    prices: Callable[[list[str]], tuple[pd.DataFrame, str]]
    policy_source: str = "the delivery policy"  # whose policy it is, as the plan's details name it

    @property
    def templates(self) -> list[tuple[tuple[str | None, ...], LeadTemplate]]:
        return [(names, t) for names, t in self.arms if isinstance(t, LeadTemplate)]

    @property
    def slots(self) -> list[str]:
        """The variables read from each lead's JSON: every arm's, then ``timezone``."""
        return list(dict.fromkeys(k for _, t in self.templates for k in t.slots)) + ["timezone"]


def naive(moment: dt.datetime) -> dt.datetime:
    """Aware -> naive UTC (the mirror's timestamps)."""
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def aware(value: Any) -> dt.datetime:
    """A naive-UTC timestamp (datetime, pandas or numpy) -> aware UTC datetime (a plain one: a
    pandas Timestamp's zone conversions go through pandas' machinery, many times slower)."""
    if not isinstance(value, dt.datetime) or isinstance(value, pd.Timestamp):
        value = pd.Timestamp(value).to_pydatetime()
    return value.replace(tzinfo=dt.UTC)


def zone_names(zones: Any) -> tuple[str, ...]:
    return tuple(zones.split(",")) if isinstance(zones, str) else ("UTC",)


def moments(keys: pd.DataFrame, spec: PlanSpec, proposed: Sequence[Any] | None = None) -> pd.DataFrame:
    """``send_at`` (naive UTC) and ``time_reason`` for each row of ``keys`` (``zkey, zones,
    country, zone_problem``), from the schedule or from ``proposed`` (one moment per row).

    With ``local_time``, a day the window forbids moves the message to ``local_time`` of the
    next allowed day (``quiet_hours``; :func:`._windows.local_moment`); a ``local_time`` outside
    a row's window on every day raises :class:`DeliveryPolicyError`
    (:func:`._windows.require_local_time`: it is never replaced by another time of day)."""
    sched, now = spec.schedule, spec.now
    out: list[tuple[dt.datetime | None, str | None]] = []
    rows = keys[["zones", "country", "zone_problem"]].itertuples(index=False)
    for i, (zones, country, problem) in enumerate(rows):
        country = None if pd.isna(country) else country
        problem = None if pd.isna(problem) else problem
        window = spec.policy.window_for(spec.category, country)
        start = aware(proposed[i]) if proposed is not None else (sched.at or now)
        if problem == "invalid_timezone" or (problem == "unknown_timezone" and (window or sched.local_time)):
            out.append((None, problem))
            continue
        names = zone_names(zones)
        if sched.local_time and proposed is None:
            if window is not None:
                require_local_time(window, sched.local_time, f"countries[{country!r}]" if country in spec.policy.countries
                                   else "window" if spec.category == "marketing" else "service_window")
            start, moment = local_moment(names, window, sched.local_time, now)
        else:
            moment = next_allowed(names, window, start)
        if moment is None:
            out.append((None, "no_common_window"))
            continue
        reason = "quiet_hours" if moment > start else ("scheduled" if moment > now else None)
        out.append((naive(moment), reason))
    frame = pd.DataFrame(out, columns=["send_at", "time_reason"], dtype=object)
    frame["send_at"] = pd.to_datetime(frame["send_at"]).astype("datetime64[us]")
    return pd.concat([keys.reset_index(drop=True), frame], axis=1)
