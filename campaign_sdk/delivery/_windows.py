"""Moments: the next allowed send moment in one or several time zones, and local-time targets.

A recipient whose number spans several zones gets a moment allowed in *all* of them (the
intersection of each zone's allowed intervals). Times are aware UTC datetimes. A moment is only
ever moved later (deferred), never earlier.

>>> import datetime as dt
>>> from campaign_sdk.delivery import SendWindow
>>> at = dt.datetime(2026, 7, 1, 2, 0, tzinfo=dt.UTC)           # 22:00 in New York
>>> next_allowed(("America/New_York",), SendWindow(), at)        # 09:00 EDT next morning
datetime.datetime(2026, 7, 1, 13, 0, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

from campaign_sdk._exceptions import DeliveryPolicyError
from campaign_sdk.leads import iana_zone
from campaign_sdk.delivery._policy import DAYS, SendWindow, minutes

HORIZON_DAYS = 15  # a weekly window is always found within this many days
Interval = tuple[dt.datetime, dt.datetime]


# the IANA zone a name gives, or None: the same verdict as add_leads' report (kept: zoneinfo's
# own cache holds only a few zones strongly, and loading one again reads its file)
zone = lru_cache(maxsize=4096)(iana_zone)


def _wall_to_utc(day: dt.date, minute: int, tz: ZoneInfo) -> dt.datetime:
    """Local wall clock ``minute`` of ``day`` as UTC. A wall time skipped by a DST change maps to
    the same distance after the change (02:30 on a spring-forward day -> 03:30), never earlier."""
    naive = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
    return naive.replace(tzinfo=tz).astimezone(dt.UTC)


def _intervals(tz: ZoneInfo, window: SendWindow, start: dt.datetime, days: int) -> list[Interval]:
    return _day_intervals(tz, window, start.astimezone(tz).date(), days)


@lru_cache(maxsize=16384)  # by local date, not moment: every plan of a day shares them
def _day_intervals(tz: ZoneInfo, window: SendWindow, today: dt.date, days: int) -> list[Interval]:
    first = today - dt.timedelta(days=1)
    found: list[Interval] = []
    for offset in range(days + 2):
        day = first + dt.timedelta(days=offset)
        if DAYS[day.weekday()] not in window.days:
            continue
        # (day start, day end): a window across midnight ends on day + 1 (pieces() past 24:00)
        found.extend((_wall_to_utc(day, a, tz), _wall_to_utc(day, b, tz)) for a, b in window.pieces())
    return _merge(found)


def _merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for a, b in sorted(intervals):
        if b <= a:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _intersect(left: list[Interval], right: list[Interval]) -> list[Interval]:
    out, i, j = [], 0, 0
    while i < len(left) and j < len(right):
        a, b = max(left[i][0], right[j][0]), min(left[i][1], right[j][1])
        if a < b:
            out.append((a, b))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return out


@lru_cache(maxsize=65536)
def next_allowed(zones: tuple[str, ...], window: SendWindow | None, start: dt.datetime) -> dt.datetime | None:
    """The first moment at or after ``start`` inside ``window`` in every zone of ``zones``; None
    when the zones share no allowed minute within two weeks (e.g. zones 13 hours apart under a
    twelve-hour window). ``window=None`` allows every moment."""
    if window is None:
        return start
    # the next few days first (most windows open within them), then the whole horizon: the
    # intervals of fewer days are those of more, cut at their end, which lies a day or more
    # after ``start`` in every zone (the intervals run from the day before start's local date to
    # NEAR_DAYS + 1 days after it), so an allowed moment found in them starts the same interval
    found = _first_common(zones, window, start, NEAR_DAYS)
    return found if found is not None else _first_common(zones, window, start, HORIZON_DAYS)


NEAR_DAYS = 2


def _first_common(zones: tuple[str, ...], window: SendWindow, start: dt.datetime, days: int) -> dt.datetime | None:
    common = common_intervals(zones, window, start, days)
    if common is None:
        name = next(n for n in zones if zone(n) is None)
        raise DeliveryPolicyError(f"unknown time zone {name!r}; use an IANA name such as 'America/New_York'")
    for a, b in common:
        if b > start:
            return max(a, start)
    return None


def common_intervals(zones: tuple[str, ...], window: SendWindow, start: dt.datetime, days: int) -> list[Interval] | None:
    """The UTC intervals ``window`` allows in every zone of ``zones`` from the day before
    ``start``'s local date to ``days`` + 1 days after it (None: a zone is not an IANA name)."""
    common: list[Interval] | None = None
    for name in zones:
        tz = zone(name)
        if tz is None:
            return None
        spans = _intervals(tz, window, start, days)
        common = spans if common is None else _intersect(common, spans)
    return common or []


@lru_cache(maxsize=65536)
def local_target(zones: tuple[str, ...], hhmm: str, after: dt.datetime) -> dt.datetime:
    """The first moment at or after ``after`` when it is ``hhmm`` or later on the same local
    date in every zone: ``"10:00"`` is 10:00 for a one-zone recipient, and for a recipient
    spread over several zones it is 10:00 in the last of them to reach it (never early).

    >>> import datetime as dt
    >>> local_target(("Europe/Berlin",), "10:00", dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC))
    datetime.datetime(2026, 1, 6, 9, 0, tzinfo=datetime.timezone.utc)
    """
    minute = minutes(hhmm)
    tzs = [zone(name) for name in zones]
    if any(tz is None for tz in tzs):
        raise DeliveryPolicyError(f"unknown time zone in {zones!r}; use IANA names such as 'America/New_York'")
    base = after.astimezone(dt.UTC).date()
    for offset in range(-1, 4):
        day = base + dt.timedelta(days=offset)
        moment = max(_wall_to_utc(day, minute, tz) for tz in tzs if tz is not None)
        if moment >= after:
            return moment
    raise AssertionError("unreachable: a local time recurs every day")  # pragma: no cover


@lru_cache(maxsize=65536)
def local_moment(zones: tuple[str, ...], window: SendWindow | None, hhmm: str,
                 after: dt.datetime) -> tuple[dt.datetime, dt.datetime | None]:
    """``(target, moment)``: ``target`` is :func:`local_target` (``hhmm`` after ``after``);
    ``moment`` is ``hhmm`` on the first day from there on when that moment is allowed by
    ``window`` in every zone (a forbidden day moves the message to ``hhmm`` of the next allowed
    day, never to the window's opening). A recipient whose zones never share ``hhmm`` inside the
    window (within :data:`HORIZON_DAYS`) gets the first allowed moment after ``target`` instead
    (:func:`next_allowed`: later, never earlier; None: no common minute at all).

    >>> import datetime as dt
    >>> weekdays = SendWindow(days=["mon", "tue", "wed", "thu", "fri"])
    >>> saturday = dt.datetime(2026, 3, 7, 6, tzinfo=dt.UTC)  # 07:00 in Berlin
    >>> local_moment(("Europe/Berlin",), weekdays, "10:00", saturday)[1]  # Monday 10:00 CET
    datetime.datetime(2026, 3, 9, 9, 0, tzinfo=datetime.timezone.utc)
    """
    target = candidate = local_target(zones, hhmm, after)
    if window is None:
        return target, target
    for _ in range(HORIZON_DAYS):
        allowed = next_allowed(zones, window, candidate)
        if allowed is None:
            return target, None
        if allowed == candidate:
            return target, candidate
        candidate = local_target(zones, hhmm, allowed)  # no allowed moment before ``allowed``
    return target, next_allowed(zones, window, target)


@lru_cache(maxsize=1024)
def require_local_time(window: SendWindow, hhmm: str, name: str) -> None:
    """Refuse a ``local_time`` outside ``window`` on every day (``"22:00"`` under 09:00-21:00):
    no recipient under it could get the message at that time, and another time of day is never
    picked instead. ``name``: where the window is set (``"window"``, ``"countries['DE']"``)."""
    minute = minutes(hhmm)
    if not any(a <= m < b for a, b in window.pieces() for m in (minute, minute + 24 * 60)):
        raise DeliveryPolicyError(
            f"local_time={hhmm!r} is outside the send window {window.start}-{window.end} (the policy's "
            f"{name}) on every day, so no recipient under it could get the message at {hhmm}: pick a "
            f"local_time inside {window.start}-{window.end}, change the policy's {name}, or send at one "
            "moment with at="
        )


@lru_cache(maxsize=65536)
def earliest_local(zones: tuple[str, ...], moment: dt.datetime) -> tuple[str, dt.datetime]:
    """The zone where ``moment`` is earliest on the wall clock, and that wall-clock time (naive):
    the recipient for whom the message is "most early" is the one shown."""
    best: tuple[str, dt.datetime] | None = None
    for name in zones:
        tz = zone(name)
        if tz is None:
            continue
        local = moment.astimezone(tz).replace(tzinfo=None)
        if best is None or local < best[1]:
            best = (name, local)
    if best is None:
        return "UTC", moment.astimezone(dt.UTC).replace(tzinfo=None)
    return best
