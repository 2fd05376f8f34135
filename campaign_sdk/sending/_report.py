"""What a send did (``SendReport``) and what it would do (``Preflight``), with notebook reprs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import pandas as pd

from campaign_sdk.facts.errors import meaning

SIMULATED = "SIMULATED (sandbox): nothing was really sent"
_BANNER = (
    "<div style='background:#fff3cd;color:#664d03;padding:2px 6px;font-weight:bold'>"
    "SIMULATED: sandbox gateway, no real message was sent</div>"
)


class Sealable:
    """A report its call fills in as it runs (from several threads) and seals when it returns:
    after that, assigning to a field raises ``dataclasses.FrozenInstanceError``, as on a frozen
    dataclass, so a number read later is the one the call produced."""

    _sealed: ClassVar[bool] = False  # set on the instance by seal()

    def __setattr__(self, name: str, value: Any) -> None:
        if self._sealed:
            raise dataclasses.FrozenInstanceError(
                f"cannot assign to field {name!r}: a {type(self).__name__} is final once its call has returned")
        super().__setattr__(name, value)

    def seal(self) -> Self:
        """Make the report read-only (its call does this before it returns or raises)."""
        object.__setattr__(self, "_sealed", True)
        return self


@dataclass
class SendReport(Sealable):
    """The outcome of ``campaign.send()``.

    ``sent``: messages Twilio accepted in this call; ``scheduled``: messages handed to Twilio's
    scheduler in this call (``ScheduleType=fixed``, status ``scheduled``: not sent yet, Twilio
    sends them at their moment; ``disable()`` cancels them); ``reconciled``: messages an interrupted send
    had already delivered to Twilio, found in its message list and not sent again; ``failed``:
    leads refused by the gateway, by Twilio error code (by error kind when there is no code);
    ``skipped``: leads not messaged, by reason; ``unresolved``: requests whose outcome is still
    unknown (the next send reconciles them);
    ``remaining``: sendable leads not messaged (e.g. the campaign was disabled mid-send);
    ``deferred``: leads held back until a later moment, by reason (quiet_hours, scheduled,
    messaging_tier; the worker sends them when due: ``client.run_due()`` / ``campaign-sdk worker``)
    and ``next_due``, the earliest of those moments; ``notes``: why leads were not sent (e.g. the
    campaign expired).
    """

    campaign: str
    campaign_id: int
    simulated: bool
    dry_run: bool = False
    to_send: int = 0
    sent: int = 0
    scheduled: int = 0
    reconciled: int = 0
    failed: dict[int | str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    unresolved: int = 0
    remaining: int = 0
    deferred: dict[str, int] = field(default_factory=dict)
    next_due: dt.datetime | None = None
    notes: list[str] = field(default_factory=list)
    stopped: str | None = None
    rate: float | None = None
    duration: float = 0.0
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def complete(self) -> bool:
        """Every sendable lead has a settled message (nothing remaining, nothing unresolved)."""
        return not self.dry_run and self.stopped is None and self.remaining == 0 and self.unresolved == 0

    @property
    def achieved_rate(self) -> float:
        """Requests answered per second over the whole call."""
        answered = self.sent + self.scheduled + sum(self.failed.values())
        return answered / self.duration if self.duration > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        """The headline numbers as a dict (also the rows of the HTML view)."""
        return {
            "campaign": self.campaign,
            "mode": "dry run" if self.dry_run else ("simulated" if self.simulated else "live"),
            "sendable at start": self.to_send,
            "sent": self.sent,
            "scheduled at Twilio": self.scheduled,
            "reconciled (not resent)": self.reconciled,
            "failed": sum(self.failed.values()),
            "skipped": sum(self.skipped.values()),
            "unresolved": self.unresolved,
            "remaining": self.remaining,
            "deferred": sum(self.deferred.values()),
            "next due": self.next_due.isoformat(timespec="minutes") if self.next_due else "-",
            "stopped": self.stopped or "no",
            "duration": f"{self.duration:.2f} s",
            "rate": f"{self.achieved_rate:.1f} msg/s" + (f" (limit {self.rate:g}/s)" if self.rate else ""),
        }

    def __repr__(self) -> str:
        mode = " DRY RUN" if self.dry_run else (" SIMULATED" if self.simulated else "")
        stopped = f" stopped={self.stopped!r}" if self.stopped else ""
        due = f" next_due={self.next_due.isoformat(timespec='minutes')}" if self.next_due else ""
        return (
            f"<SendReport {self.campaign!r}{mode} sent={self.sent}"
            f"{f' scheduled={self.scheduled}' if self.scheduled else ''} reconciled={self.reconciled} "
            f"failed={sum(self.failed.values())} skipped={sum(self.skipped.values())} "
            f"unresolved={self.unresolved} remaining={self.remaining}"
            f"{f' deferred={sum(self.deferred.values())}' if self.deferred else ''}"
            f"{due}{stopped} "
            f"in {self.duration:.2f} s ({self.achieved_rate:.1f} msg/s)>"
        )

    def _repr_html_(self) -> str:
        try:
            failed = {
                f"{key} {meaning(key) if isinstance(key, int) else ''}".strip(): n
                for key, n in sorted(self.failed.items(), key=lambda item: str(item[0]))
            }
            return (
                f"<div><strong>Send report: {html.escape(self.campaign)}</strong>"
                f"{_BANNER if self.simulated else ''}{_table(self.summary())}"
                f"{_section('failed by error code or kind', failed)}{_section('skipped by reason', self.skipped)}"
                f"{_section('deferred by reason', self.deferred)}"
                + "".join(f"<div>{html.escape(n)}</div>" for n in self.notes) + "</div>"
            )
        except Exception:  # a notebook repr must never raise
            return html.escape(f"<SendReport {self.campaign!r}>")


@dataclass(frozen=True)
class Preflight:
    """What ``campaign.send()`` would do now, computed without sending anything: a view of the
    campaign's delivery plan (``campaign.plan()``).

    ``to_send``: leads sent now (``SendReport.to_send`` also counts the ``scheduled_at_twilio``,
    requests of the send too: ``send(dry_run=True)`` reports as the send does); ``deferred``: leads held back until a
    later moment, by reason (quiet_hours, scheduled, messaging_tier), the first due at
    ``next_due`` and the last at ``last_due``, of which ``scheduled_at_twilio`` are handed to
    Twilio's scheduler by the send (a request now each; the local worker sends the rest when
    due); ``skipped``: leads not messaged, by reason (the experiment's holdouts among them,
    ``held_out`` in all); ``skipped_leads`` has one row per such lead, with the reason;
    ``preview`` renders the message for a few leads sent now or deferred; ``estimated_duration``: the send's
    requests now (sent now and handed to Twilio's scheduler) at ``rate``. ``problems`` lists why a
    send would be refused (not approved, paused, ...); ``warnings`` what Twilio or Meta will
    likely do to some of the messages (the plan's ``attrs["warnings"]``).
    """

    campaign: str
    campaign_id: int
    simulated: bool
    campaign_type: str
    status: str
    approval_state: str
    enabled: bool
    content_sid: str | None
    to_send: int
    deferred: dict[str, int]
    next_due: dt.datetime | None
    last_due: dt.datetime | None
    scheduled_at_twilio: int
    skipped: dict[str, int]
    held_out: int
    skipped_leads: pd.DataFrame
    preview: pd.DataFrame
    rate: float | None
    estimated_duration: dt.timedelta | None
    problems: list[str]
    warnings: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        """Whether ``send()`` would start now."""
        return not self.problems

    def _later(self) -> str:
        """The deferred leads and their due moments, as the repr says them."""
        if not self.deferred:
            return ""
        moments = (("next", self.next_due), ("last", self.last_due)) if self.next_due != self.last_due else (("", self.next_due),)
        due = ", ".join(f"{which} due {_when(moment)}".lstrip() for which, moment in moments if moment is not None)
        return f" deferred={sum(self.deferred.values())}" + (f" ({due})" if due else "")

    def __repr__(self) -> str:
        state = "ready" if self.ready else f"blocked ({'; '.join(self.problems)})"
        mode = " SIMULATED" if self.simulated else ""
        held = f" ({self.held_out} held out)" if self.held_out else ""
        return (
            f"<Preflight {self.campaign!r}{mode} {state}: to_send={self.to_send}{self._later()} "
            f"skipped={sum(self.skipped.values())}{held} {_duration(self.estimated_duration)}>"
        )

    def _repr_html_(self) -> str:
        try:
            later = sum(self.deferred.values())
            rows = {
                "campaign": self.campaign, "type": self.campaign_type,
                "approval": f"{self.status} (WhatsApp: {self.approval_state})",
                "enabled": "yes" if self.enabled else "no (paused)", "would send now": self.to_send,
                "would defer": later if not self.scheduled_at_twilio else
                f"{later} ({self.scheduled_at_twilio} handed to Twilio's scheduler by the send)",
                **({"next due": _when(self.next_due), "last due": _when(self.last_due)} if later else {}),
                "would skip": sum(self.skipped.values()) if not self.held_out else
                f"{sum(self.skipped.values())} ({self.held_out} held out)",
                "rate": f"{self.rate:g} msg/s" if self.rate else "unlimited",
                "estimated duration (the send's requests now)": _duration(self.estimated_duration),
                "ready": "yes" if self.ready else "no: " + "; ".join(self.problems),
            }
            preview = self.preview.head(5).to_html(index=False, escape=True) if len(self.preview) else ""
            return (
                f"<div><strong>Preflight: {html.escape(self.campaign)}</strong>"
                f"{_BANNER if self.simulated else ''}{_table(rows)}"
                f"{_section('deferred by reason', self.deferred)}{_section('skipped by reason', self.skipped)}"
                + "".join(f"<div><strong>warning:</strong> {html.escape(w)}</div>" for w in self.warnings)
                + f"{preview}</div>"
            )
        except Exception:  # a notebook repr must never raise
            return html.escape(f"<Preflight {self.campaign!r}>")


def _when(moment: dt.datetime | None) -> str:
    return moment.isoformat(timespec="minutes") if moment is not None else "-"


def _duration(value: dt.timedelta | None) -> str:
    return "about " + _human(value.total_seconds()) if value is not None else "duration: as fast as the gateway answers"


def _human(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _table(rows: Mapping[str, Any]) -> str:
    cells = "".join(
        f"<tr><th style='text-align:left'>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in rows.items()
    )
    return f"<table>{cells}</table>"


def _section(title: str, counts: Mapping[Any, int]) -> str:
    if not counts:
        return ""
    return f"<div><em>{html.escape(title)}</em>{_table(dict(list(counts.items())[:20]))}</div>"


def worker_note(waiting: int, due: dt.datetime | None) -> str | None:
    """The note of a send that leaves ``waiting`` messages to the local worker (first ``due``):
    nothing sends them unless a worker runs (None: none waits).

    >>> import datetime as dt
    >>> print(worker_note(2, dt.datetime(2026, 7, 1, 16, tzinfo=dt.UTC)))  # doctest: +NORMALIZE_WHITESPACE
    2 message(s) wait for the local worker, the first due 2026-07-01T16:00+00:00: nothing sends
    them unless `campaign-sdk worker` runs (or `client.run_due()` is called then, e.g. in a notebook)
    """
    if not waiting:
        return None
    first = f", the first due {due.isoformat(timespec='minutes')}" if due is not None else ""
    return (f"{waiting} message(s) wait for the local worker{first}: nothing sends them unless "
            "`campaign-sdk worker` runs (or `client.run_due()` is called then, e.g. in a notebook)")
