"""Until when a lead the plan sends now may still be sent, and when it may be sent again.

A send lasts (1M leads at 80/s: hours): a lead due "now" when the plan is made may be reached
after its send window has closed. Each lead the plan sends now gets, at plan time, ``until`` (the
end of the allowed interval around the plan's moment in every zone of the lead) and ``reopen``
(the next allowed moment from there on, as the plan would pick it). Both are computed per distinct
(zones, country, ``timezone`` value), set-wise on the analytics mirror (the zone cache the plan
has just filled), never per lead in Python; the engine checks ``until`` before each request.

:func:`allowed_from` is the same rule for one message found later (a held message a new policy
rechecks, a deferred one the worker finds due): the first moment a policy allows it from then on.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

import pandas as pd
import sqlalchemy as sa

from campaign_sdk.delivery import DeliveryPolicy, Schedule, SendWindow, next_allowed, number_zones
from campaign_sdk.delivery import _zone_cache as zone_cache
from campaign_sdk.delivery._windows import HORIZON_DAYS, common_intervals, local_moment, zone
from campaign_sdk.delivery._zones import UNKNOWN_ZONE


@lru_cache(maxsize=65536)
def allowed_until(zones: tuple[str, ...], window: SendWindow | None, at: dt.datetime) -> dt.datetime | None:
    """The end of the interval around ``at`` allowed by ``window`` in every zone of ``zones``
    (``at`` itself when ``at`` is not allowed; None: no window, or allowed beyond the horizon)."""
    if window is None:
        return None
    spans = common_intervals(zones, window, at, HORIZON_DAYS)
    if spans is None:  # a zone that is not an IANA name
        return at
    for a, b in spans:
        if a <= at < b:
            return None if b == spans[-1][1] and b - at > dt.timedelta(days=HORIZON_DAYS - 1) else b
    return at


def recipient_zones(zones: str | None, tz: str | None) -> tuple[str, ...] | None:
    """The zones a lead's message is timed in: its ``timezone`` value when that names an IANA
    zone, else its number's (``zones``: comma-joined, as the zone cache keeps them); None when
    neither is known.

    >>> recipient_zones("America/Chicago,America/New_York", None), recipient_zones("Etc/Unknown", "Europe/Paris")
    (('America/Chicago', 'America/New_York'), ('Europe/Paris',))
    """
    if tz and zone(tz) is not None and tz != UNKNOWN_ZONE:
        return (tz,)
    return tuple(zones.split(",")) if isinstance(zones, str) and zones != UNKNOWN_ZONE else None


def timezone_value(variables: dict[str, Any] | None) -> str | None:
    """A lead's ``timezone`` variable as the send path reads it (stripped; None: none, or blank)."""
    tz = (variables or {}).get("timezone")
    return str(tz).strip() or None if tz is not None else None


def allowed_from(to: str, tz: str | None, policy: DeliveryPolicy, category: str, expires_at: dt.datetime | None,
                 local_time: str | None, start: dt.datetime) -> tuple[dt.datetime | None, str]:
    """The first moment from ``start`` that ``policy`` allows a message of a ``category``
    campaign to the number ``to`` (E.164), whose lead's ``timezone`` value is ``tz``: its window
    in the recipient's zones, before ``expires_at``; or None and why there is none
    (``unknown_timezone``, ``no_common_window``, ``expired``). A message of a send scheduled at
    ``local_time`` whose ``start`` the window forbids goes at that time of the next allowed day
    (:func:`campaign_sdk.delivery.local_moment`, as the plan moves it), not at the window's
    opening; one the window allows stays at ``start``."""
    zones, country = number_zones(to)
    window = policy.window_for(category, country)
    moment: dt.datetime | None = start
    if window is not None:
        names = recipient_zones(",".join(zones), tz)
        if names is None:
            return None, "unknown_timezone"
        moment = next_allowed(names, window, start)
        if moment is not None and moment != start and local_time:
            moment = local_moment(names, window, local_time, start)[1]
        if moment is None:
            return None, "no_common_window"
    assert moment is not None
    if expires_at is not None and moment > expires_at:
        return None, "expired"
    return moment, ""


def _reopen(zones: tuple[str, ...], window: SendWindow, after: dt.datetime, local_time: str | None) -> dt.datetime | None:
    if local_time:
        return local_moment(zones, window, local_time, after)[1]
    return next_allowed(zones, window, after)


_QUERY = """
    SELECT d.lead_id, p.zones, p.country,
           CASE WHEN contains(l.custom_variables, 'timezone')
                THEN nullif(trim(json_extract_string(l.custom_variables, '$."timezone"')), '') END AS tz
    FROM _deadline_leads d JOIN leads l ON l.id = d.lead_id JOIN users u ON u.id = l.user_id
    LEFT JOIN {schema}.user_places up ON up.user_id = u.id AND up.phone = u.phone_number
    LEFT JOIN {schema}.places p ON p.place = up.place
"""


def deadlines(engine: sa.Engine, frame: pd.DataFrame, *, policy: DeliveryPolicy, category: str,
              schedule: Schedule, now: dt.datetime) -> pd.DataFrame:
    """``frame`` (a decisions-only plan) with ``until`` and ``reopen`` (aware UTC, NaT when none)
    for its leads sent now."""
    from campaign_sdk.analytics import mirror_for

    out = frame.assign(until=pd.NaT, reopen=pd.NaT)
    out["until"] = pd.to_datetime(out["until"], utc=True)
    out["reopen"] = pd.to_datetime(out["reopen"], utc=True)
    sent = frame.loc[frame["action"] == "send", ["lead_id"]]
    if sent.empty or (policy.window_for(category, None) is None and not policy.countries):
        return out
    with mirror_for(engine).reading(("leads", "users")) as con:
        con.register("_deadline_leads", sent)
        try:
            rows = con.sql(_QUERY.format(schema=zone_cache.schema(con))).df()
        finally:
            con.unregister("_deadline_leads")
    keys = rows[["zones", "country", "tz"]].astype(object).where(rows[["zones", "country", "tz"]].notna(), None)
    codes, uniques = pd.factorize(pd.MultiIndex.from_frame(keys))
    until, reopen = [], []
    for zones, country, tz in uniques:
        names = recipient_zones(zones, tz)
        window = policy.window_for(category, country)
        end = allowed_until(names, window, now) if names and window is not None else None
        until.append(end)
        reopen.append(_reopen(names, window, end, schedule.local_time) if end is not None and names and window else None)
    # per distinct key, then gathered by each lead's code (-1: none), as datetime arrays: a
    # lead's moment is never a Python object
    by_lead = pd.DataFrame({name: pd.to_datetime(pd.Series(moments, dtype=object), utc=True).array.take(codes, allow_fill=True)
                            for name, moments in (("until", until), ("reopen", reopen))},
                           index=rows["lead_id"].to_numpy())
    found = by_lead.reindex(out["lead_id"].to_numpy())
    out["until"] = found["until"].array
    out["reopen"] = found["reopen"].array
    return out
