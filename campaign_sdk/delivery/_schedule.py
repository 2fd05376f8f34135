"""Scheduling inputs (``at=`` / ``local_time=``) and who will hold a deferred message until it is due.

A deferred message is held by Twilio (``ScheduleType=fixed`` + ``SendAt``) when the gateway sends
through a Messaging Service and the moment lies in Twilio's window (15 minutes to 35 days ahead,
:mod:`campaign_sdk.facts.scheduling`), unless it waits for WhatsApp's messaging limit
(:data:`WORKER_ONLY`); otherwise by the local worker (``campaign-sdk worker`` /
``client.run_due()``), which sends what is due.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from campaign_sdk._exceptions import DeliveryPolicyError
from campaign_sdk.delivery._policy import _minute
from campaign_sdk.facts import scheduling
from campaign_sdk.gateways import Gateway


@dataclass(frozen=True)
class Schedule:
    """When a send should start: ``at`` (aware UTC) for everyone, or ``local_time`` (``"10:00"``)
    in each recipient's zone; neither: now."""

    at: dt.datetime | None = None
    local_time: str | None = None


def utc(value: dt.datetime) -> dt.datetime:
    """An aware UTC datetime (a naive one is taken as UTC, as the store does)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def schedule(
    *, at: dt.datetime | str | None, local_time: str | dt.time | None, now: dt.datetime,
    expires_at: dt.datetime | None,
) -> Schedule:
    """Check the scheduling options; every problem is reported at once.

    >>> import datetime as dt
    >>> now = dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC)
    >>> schedule(at=None, local_time="10:00", now=now, expires_at=None)
    Schedule(at=None, local_time='10:00')
    """
    problems = []
    moment = None
    if at is not None and local_time is not None:
        problems.append("pass at= (one moment for everyone) or local_time= (each recipient's own), not both")
    if at is not None:
        try:
            moment = utc(dt.datetime.fromisoformat(at) if isinstance(at, str) else at)
        except (TypeError, ValueError, AttributeError):
            problems.append(f"at={at!r} is not a date and time; pass a datetime or '2026-01-31T10:00:00+00:00'")
        else:
            if moment < now:
                problems.append(
                    f"at={moment.isoformat()} is in the past (now is {now.isoformat(timespec='seconds')}); "
                    "pass a future moment, or leave at= out to send now"
                )
            if expires_at is not None and moment > expires_at:
                problems.append(
                    f"at={moment.isoformat()} is after the campaign expires ({expires_at.isoformat()}); "
                    "nothing would be sent: move at= earlier or extend expires_at"
                )
    hhmm = None
    if local_time is not None:
        try:
            hhmm = _minute(local_time, "local_time")
        except ValueError as exc:
            problems.append(str(exc))
        else:
            if hhmm == "24:00":
                problems.append("local_time='24:00' is not a time of day; use '00:00'")
    if problems:
        raise DeliveryPolicyError("cannot schedule the send:\n" + "\n".join(f"  - {p}" for p in problems))
    return Schedule(at=moment, local_time=hhmm)


def twilio_can_schedule(gateway: Gateway) -> bool:
    """Whether the gateway can hand a deferred message to Twilio's scheduler (a real Twilio
    gateway with a ``schedule_window``, i.e. sending through a Messaging Service; the sandbox
    never: its deferred messages wait for the local worker)."""
    return not gateway.simulated and gateway.schedule_window is not None


def in_twilio_window(send_at: dt.datetime, now: dt.datetime) -> bool:
    """Whether Twilio would take ``send_at`` as ``SendAt`` now (15 minutes to 35 days ahead, both
    ends allowed): the same rule as :func:`scheduler_sql`, for a moment the engine is about to send.

    >>> import datetime as dt
    >>> now = dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC)
    >>> [in_twilio_window(now + dt.timedelta(seconds=s), now) for s in (899, 900, 3_024_000, 3_024_001)]
    [False, True, True, False]
    """
    return scheduling.SEND_AT_MIN_AHEAD <= utc(send_at) - utc(now) <= scheduling.SEND_AT_MAX_AHEAD


# Deferrals only the worker holds, whatever the moment: WhatsApp's messaging limit is counted
# again when the message is due (the worker asks the plan again and may move it; Twilio's
# scheduler would send it regardless).
WORKER_ONLY = ("messaging_tier",)


def scheduler_sql(send_at: str, *, twilio: bool, reason: str | None = None) -> str:
    """SQL naming who holds each message: ``now`` (due), ``twilio`` or ``worker``. ``$now``
    parameter: now; ``reason``: the column with the deferral's reason, when there is one (a
    reason in :data:`WORKER_ONLY` is the worker's)."""
    low = int(scheduling.SEND_AT_MIN_AHEAD.total_seconds())
    high = int(scheduling.SEND_AT_MAX_AHEAD.total_seconds())
    only = ", ".join(f"'{r}'" for r in WORKER_ONLY)
    held = (
        (f"WHEN {reason} IN ({only}) THEN 'worker' " if reason is not None else "")
        + f"WHEN {send_at} >= $now + INTERVAL {low} SECOND AND {send_at} <= $now + INTERVAL {high} SECOND THEN 'twilio' "
        if twilio else ""
    )
    return f"CASE WHEN {send_at} IS NULL THEN NULL WHEN {send_at} <= $now THEN 'now' {held}ELSE 'worker' END"
