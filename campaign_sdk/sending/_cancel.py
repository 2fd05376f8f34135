"""``disable()``'s second half: cancel the messages a campaign handed to Twilio's scheduler.

A message ``send()`` scheduled at Twilio (``ScheduleType=fixed``) is an outbound message with a
SID and status ``scheduled``. Cancelling it updates it at Twilio with ``Status=canceled``
(:data:`campaign_sdk.facts.scheduling.CANCEL_STATUS`) and records ``canceled`` through
``record_statuses``, which frees its lead: a later ``send()`` (after ``enable()``) plans it again
and sends or schedules it once more. A message Twilio already sent cannot be canceled (30409): its
real status is read back from Twilio and recorded, and it stays sent. Any other failure leaves
the message ``scheduled`` in the store, is listed in :class:`CancelReport` ``failed`` and raised
as :class:`CancelError` by ``disable()``; calling ``campaign.cancel_scheduled()`` again retries it.
Each cancel is an intent first (:mod:`._cancel_intents`): one a crash left half done is finished
by the next ``cancel_scheduled``, reschedule, ``sync()`` or opt-out sweep (:func:`sweep_notes`).
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from campaign_sdk import service
from campaign_sdk._exceptions import CampaignStateError, GatewayError
from campaign_sdk.delivery import utc
from campaign_sdk.gateways import Gateway
from campaign_sdk.models import ConversationUser, MessageStatus, OutboundMessage, SyncState
from campaign_sdk.sending import _cancel_intents as intents
from campaign_sdk.sending._cancel_intents import Intent, finish_notes
from campaign_sdk.sending._lease import SendLease
from campaign_sdk.sending._report import Sealable

log = logging.getLogger(__name__)
LEASE_WAIT = 10.0  # seconds to wait for a running send of the campaign to notice it was disabled
# held by Twilio's scheduler: the status written out, so that the partial index of those rows
# (ix_outbound_scheduled, migration 0012) serves the query (SQLite does not use it for a bound value)
HELD = sa.and_(OutboundMessage.status == sa.literal_column(f"'{MessageStatus.SCHEDULED.value}'"),
               OutboundMessage.sid.is_not(None))


@dataclass
class CancelReport(Sealable):
    """What cancelling a campaign's scheduled messages did: ``canceled`` (now ``canceled`` at
    Twilio, their leads free again), ``already_sent`` (SID -> the status Twilio reports: it left
    the scheduler before the cancel, and stays sent), ``failed`` (SID -> why: still scheduled at
    Twilio; cancel again) and ``notes``."""

    canceled: int = 0
    already_sent: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    first_error: GatewayError | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (f"<CancelReport canceled={self.canceled} already_sent={len(self.already_sent)} "
                f"failed={len(self.failed)}>")


class CancelError(GatewayError):
    """Some scheduled messages could not be canceled (the campaign is paused all the same);
    ``report`` lists them. Call ``campaign.cancel_scheduled()`` again to retry."""

    def __init__(self, message: str, report: CancelReport) -> None:
        error = report.first_error
        super().__init__(message, kind=error.kind if error else None, code=error.code if error else None,
                         status=error.status if error else None)
        self.report = report


def cancel_scheduled(sessions: sessionmaker[Session], gateway: Gateway, campaign_id: int, *,
                     wait: float = LEASE_WAIT) -> CancelReport:
    """Cancel every message of the campaign that Twilio's scheduler holds (see the module; those
    a new delivery policy forbids: :mod:`._reschedule`)."""
    report = CancelReport()
    lease = _quiet(sessions, campaign_id, wait, report)
    try:
        intents.finish(sessions, gateway, report, campaign_ids=[campaign_id])  # those a crash left half done
        with sessions() as session:
            rows = session.execute(
                sa.select(OutboundMessage.sid, OutboundMessage.to_number)
                .where(OutboundMessage.campaign_id == campaign_id, HELD)
                .order_by(OutboundMessage.id)
            ).all()
        intents.cancel(sessions, gateway, [Intent(str(sid), str(to), campaign_id) for sid, to in rows], report,
                       now=utc(gateway.now()))
    finally:
        if lease is not None:
            lease.release()
        report.seal()  # final, whether the loop ended or raised
    return report


def _quiet(sessions: sessionmaker[Session], campaign_id: int, wait: float, report: CancelReport) -> SendLease | None:
    """Take the campaign's send lease (a send still running stops within a moment of the pause),
    so no request of it schedules a message after the list is read; after ``wait`` seconds go on
    without it, saying so."""
    lease = SendLease(sessions, campaign_id)
    deadline = time.monotonic() + wait
    while True:
        try:
            lease.acquire()
            return lease
        except CampaignStateError as exc:
            if time.monotonic() >= deadline:
                report.notes.append(f"{exc}: its messages scheduled after this cancel are not canceled; "
                                    "call campaign.cancel_scheduled() again when it has stopped")
                return None
            time.sleep(0.1)


def raise_failures(report: CancelReport, campaign: str) -> None:
    """Raise :class:`CancelError` when some messages are still scheduled at Twilio."""
    if not report.failed:
        return
    raise CancelError(
        f"campaign {campaign!r} is paused, but {len(report.failed)} message(s) scheduled at Twilio could not be "
        f"canceled and may still go out ({listed(report)}); {report.canceled} were canceled. Call "
        "campaign.cancel_scheduled() to try again", report,
    )


def listed(report: CancelReport) -> str:
    """The first few messages that could not be canceled, and why, for an error's text."""
    shown = "; ".join(f"{sid}: {why}" for sid, why in list(report.failed.items())[:5])
    return shown + (f" and {len(report.failed) - 5} more" if len(report.failed) > 5 else "")


# -- people who opted out ---------------------------------------------------------------------
# STOP does not cancel what Twilio's scheduler holds (facts.scheduling.OPT_OUT_CANCELS_SCHEDULED):
# the SDK does, after the opt-out is committed, wherever a gateway is at hand (record_replies,
# sync, send, run_due, the server's inbox worker). An opt-out recorded without a gateway leaves a
# marker (service.OPT_OUT_SWEEP_KEY) that the next of them sees; the marker is cleared only by a
# sweep with no failure, so a message that could not be canceled is tried again by the next one.


class OptOutCancelWarning(UserWarning):
    """A message Twilio's scheduler holds for someone who opted out could not be canceled (it is
    tried again by the next ``record_replies`` / ``sync`` / ``send`` / ``run_due``)."""


def cancel_opted_out(sessions: sessionmaker[Session], gateway: Gateway, *,
                     campaign_id: int | None = None) -> CancelReport:
    """Cancel the messages Twilio's scheduler holds (status ``scheduled``) for people who opted
    out: all of them when an opt-out was recorded since the last complete sweep (else nothing
    is looked at), and with ``campaign_id`` that campaign's in any case (a send that scheduled
    messages while a STOP came in)."""
    report = CancelReport()
    try:
        with sessions() as session:
            marker = session.scalar(sa.select(SyncState.value).where(SyncState.key == service.OPT_OUT_SWEEP_KEY))
            if marker is None and campaign_id is None:
                return report
            query = (
                sa.select(OutboundMessage.sid, OutboundMessage.to_number, OutboundMessage.campaign_id)
                .join(ConversationUser, ConversationUser.id == OutboundMessage.user_id)
                .where(HELD, ConversationUser.opted_out_at.is_not(None))
                .order_by(OutboundMessage.id)
            )
            if marker is None:
                query = query.where(OutboundMessage.campaign_id == campaign_id)
            rows = session.execute(query).all()
        intents.cancel(sessions, gateway, [Intent(str(sid), str(to), cid) for sid, to, cid in rows], report,
                       now=utc(gateway.now()))
        if marker is not None and not report.failed:
            with sessions.begin() as session:  # a newer opt-out (another value) keeps its marker
                session.execute(sa.delete(SyncState).where(SyncState.key == service.OPT_OUT_SWEEP_KEY,
                                                           SyncState.value == marker))
    finally:
        report.seal()
    return report


def opt_out_notes(report: CancelReport) -> list[str]:
    """What a sweep of :func:`cancel_opted_out` did, for a report's notes."""
    notes = []
    if report.canceled:
        notes.append(f"canceled {report.canceled} message(s) Twilio's scheduler held for people who opted out "
                     "(Twilio does not cancel them on STOP)")
    if report.already_sent:
        notes.append(f"{len(report.already_sent)} message(s) to people who opted out had left Twilio's scheduler "
                     "before they could be canceled")
    if report.failed:
        notes.append(f"{len(report.failed)} message(s) Twilio's scheduler holds for people who opted out could not "
                     f"be canceled ({listed(report)}); the next record_replies / sync / send / run_due tries again")
    return notes


def warn_opt_out_failures(report: CancelReport) -> None:
    """Warn (:class:`OptOutCancelWarning`) when some could not be canceled."""
    if report.failed:
        warnings.warn(opt_out_notes(report)[-1], OptOutCancelWarning, stacklevel=3)


def sweep_notes(sessions: sessionmaker[Session], gateway: Gateway, *, campaign_id: int | None = None,
                failures_only: bool = False) -> list[str]:
    """:func:`cancel_opted_out` for a call that reports in notes (send, run_due, record_replies):
    what it did (``failures_only``: what it could not do), or why it could not run (the marker
    stays: the next call tries again). It never raises: the caller's own results stand."""
    try:
        finished = finish_notes(sessions, gateway, CancelReport(), failures_only=failures_only)  # left half done
        report = cancel_opted_out(sessions, gateway, campaign_id=campaign_id)
        return finished + opt_out_notes(CancelReport(failed=report.failed) if failures_only else report)
    except Exception as exc:  # the store was busy
        log.warning("the sweep of scheduled messages to opted-out people failed: %s", exc)
        return [f"messages Twilio's scheduler holds for people who opted out were not looked at ({str(exc)[:200]}); "
                "the next record_replies / sync / send / run_due tries again"]
