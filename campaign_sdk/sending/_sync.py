"""``client.sync()``: pull status updates and inbound replies from the gateway.

The listing starts a little before the last sync's cursor and no later than the oldest message
that may still change status; pages are recorded one transaction each with the idempotent
recorders of ``campaign_sdk.service``, so an interrupted sync simply runs again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session, sessionmaker

from campaign_sdk import inbox, service
from campaign_sdk.phones import PhoneNumberError, normalize_phone
from campaign_sdk.gateways import Gateway, MessageRecord
from campaign_sdk.models import SyncState
from campaign_sdk.sending._cancel import CancelReport, cancel_opted_out, opt_out_notes, warn_opt_out_failures
from campaign_sdk.sending._cancel_intents import finish_notes

PAGE = 1000
OVERLAP = dt.timedelta(minutes=10)
LOOKBACK = dt.timedelta(days=7)


@dataclass(frozen=True)
class SyncReport:
    """What ``client.sync()`` recorded: ``statuses`` and ``replies`` are the recorders' results;
    ``unusable`` lists inbound messages whose sender is not a valid phone number (not recorded);
    ``cursor`` is the newest send time seen, where the next sync starts (less an overlap);
    ``notes``: e.g. messages Twilio's scheduler held for people who opted out, canceled."""

    since: dt.datetime | None
    cursor: dt.datetime | None
    listed: int = 0
    statuses: service.RecordResult = field(default_factory=service.RecordResult)
    replies: service.RecordResult = field(default_factory=service.RecordResult)
    unusable: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return (
            f"<SyncReport listed={self.listed} statuses={self.statuses.applied} applied, "
            f"replies={self.replies.applied} new>"
        )


def sync(sessions: sessionmaker[Session], gateway: Gateway, *, lookback: dt.timedelta = LOOKBACK) -> SyncReport:
    """Record every status change and inbound message the gateway lists since the last sync
    (first completing the cancels a crash left half done: ``_cancel_intents``)."""
    finished = finish_notes(sessions, gateway, CancelReport())
    key = f"sync:{gateway.key}"[:100]
    now = gateway.now()  # the sandbox simulates time; Twilio's is the wall clock
    with sessions() as session:
        state = session.get(SyncState, key)
        cursor = dt.datetime.fromisoformat(state.value) if state is not None else None
        unsettled = service.oldest_unsettled(session, since=now - lookback)
    starts = [t for t in (cursor and cursor - OVERLAP, unsettled and unsettled - OVERLAP) if t is not None]
    since = min(starts) if starts else now - lookback
    report = SyncReport(since=since, cursor=cursor, notes=finished)
    page: list[MessageRecord] = []
    for record in gateway.list_messages(since=since):
        page.append(record)
        if len(page) >= PAGE:
            report = _then(report, _record(sessions, page))
            page = []
    if page:
        report = _then(report, _record(sessions, page))
    # statuses that came (by webhook) before a SID this sync or another process recorded
    late = inbox.apply_pending(sessions).applied
    report = replace(report, statuses=report.statuses + service.RecordResult(applied=late))
    if report.cursor is not None:
        with sessions.begin() as session:
            session.merge(SyncState(key=key, value=report.cursor.isoformat()))
    # a STOP recorded now (or earlier, without a gateway) does not cancel what Twilio holds: the SDK does
    canceled = cancel_opted_out(sessions, gateway)
    warn_opt_out_failures(canceled)
    return replace(report, notes=[*report.notes, *opt_out_notes(canceled)])


def _record(sessions: sessionmaker[Session], page: list[MessageRecord]) -> SyncReport:
    """Record one page in one transaction; what it did, as a report of its own."""
    unusable: list[dict[str, str]] = []
    with sessions.begin() as session:
        known = service.known_sids(session, [r.sid for r in page if not r.inbound])
        statuses = [
            {"sid": r.sid, "status": r.status, "timestamp": r.date_updated or r.date_created,
             "error_code": r.error_code}
            # every status, known or not: the recorder keeps an unknown one verbatim, with a warning
            for r in page if not r.inbound and r.sid in known and r.status
        ]
        replies = []
        for r in page:
            if not r.inbound:
                continue
            try:
                sender = normalize_phone(r.from_)
            except PhoneNumberError as exc:
                unusable.append({"sid": r.sid, "from": r.from_, "reason": str(exc)})
                continue
            replies.append({"sid": r.sid, "from": sender, "body": r.body or "",
                            "received_at": r.date_sent or r.date_created})
        recorded_statuses = service.record_statuses(session, statuses)
        recorded_replies = service.record_replies(session, replies)
    times = [r.date_sent for r in page if r.date_sent is not None]
    return SyncReport(since=None, cursor=max(times, default=None), listed=len(page), statuses=recorded_statuses,
                      replies=recorded_replies, unusable=unusable)


def _then(report: SyncReport, page: SyncReport) -> SyncReport:
    """``report`` followed by one more page's report."""
    cursor = max((t for t in (report.cursor, page.cursor) if t is not None), default=None)
    return replace(report, cursor=cursor, listed=report.listed + page.listed,
                   statuses=report.statuses + page.statuses, replies=report.replies + page.replies,
                   unusable=[*report.unusable, *page.unusable])
