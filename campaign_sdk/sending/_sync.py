"""``client.sync()``: pull status updates and inbound replies from the gateway.

The listing starts a little before the last sync's cursor and no later than the oldest message
that may still change status; pages are recorded one transaction each with the idempotent
recorders of ``campaign_sdk.service``, so an interrupted sync simply runs again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from campaign_sdk import inbox, service
from campaign_sdk.phones import PhoneNumberError, normalize_phone
from campaign_sdk.gateways import Gateway, MessageRecord
from campaign_sdk.models import SyncState

PAGE = 1000
OVERLAP = dt.timedelta(minutes=10)
LOOKBACK = dt.timedelta(days=7)


@dataclass
class SyncReport:
    """What ``client.sync()`` recorded: ``statuses`` and ``replies`` are the recorders' results;
    ``unusable`` lists inbound messages whose sender is not a valid phone number (not recorded)."""

    since: dt.datetime | None
    cursor: dt.datetime | None
    listed: int = 0
    statuses: service.RecordResult = field(default_factory=service.RecordResult)
    replies: service.RecordResult = field(default_factory=service.RecordResult)
    unusable: list[dict[str, str]] = field(default_factory=list)

    def __repr__(self) -> str:
        return (
            f"<SyncReport listed={self.listed} statuses={self.statuses.applied} applied, "
            f"replies={self.replies.applied} new>"
        )


def sync(sessions: sessionmaker[Session], gateway: Gateway, *, lookback: dt.timedelta = LOOKBACK) -> SyncReport:
    """Record every status change and inbound message the gateway lists since the last sync."""
    key = f"sync:{gateway.key}"[:100]
    now = gateway.now()  # the sandbox simulates time; Twilio's is the wall clock
    with sessions() as session:
        state = session.get(SyncState, key)
        cursor = dt.datetime.fromisoformat(state.value) if state is not None else None
        unsettled = service.oldest_unsettled(session, since=now - lookback)
    starts = [t for t in (cursor and cursor - OVERLAP, unsettled and unsettled - OVERLAP) if t is not None]
    since = min(starts) if starts else now - lookback
    report = SyncReport(since=since, cursor=cursor)
    page: list[MessageRecord] = []
    for record in gateway.list_messages(since=since):
        page.append(record)
        if len(page) >= PAGE:
            _record(sessions, page, report)
            page = []
    _record(sessions, page, report)
    # statuses that came (by webhook) before a SID this sync or another process recorded
    report.statuses.applied += inbox.apply_pending(sessions).applied
    if report.cursor is not None:
        with sessions.begin() as session:
            session.merge(SyncState(key=key, value=report.cursor.isoformat()))
    return report


def _record(sessions: sessionmaker[Session], page: list[MessageRecord], report: SyncReport) -> None:
    if not page:
        return
    report.listed += len(page)
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
                report.unusable.append({"sid": r.sid, "from": r.from_, "reason": str(exc)})
                continue
            replies.append({"sid": r.sid, "from": sender, "body": r.body or "",
                            "received_at": r.date_sent or r.date_created})
        _merge(report.statuses, service.record_statuses(session, statuses))
        _merge(report.replies, service.record_replies(session, replies))
    times = [r.date_sent for r in page if r.date_sent is not None]
    if times:
        newest = max(times)
        report.cursor = newest if report.cursor is None else max(report.cursor, newest)


def _merge(total: service.RecordResult, part: service.RecordResult) -> None:
    total.applied += part.applied
    total.ignored += part.ignored
    total.unmatched.extend(part.unmatched)
    total.unknown.extend(part.unknown)
