"""Cancels at Twilio that a crash cannot leave half done: the intent first, then the request,
then its outcome.

A cancel is a request to Twilio and a record in the store (the message ``canceled``, its lead
freed, and for a new delivery policy the lead deferred or skipped in the same transaction). A
process killed between the two would leave the message shown ``scheduled`` although Twilio
canceled it, and the lead neither deferred nor sent. So each cancel (a pause's, an opt-out's, a
new policy's) is first an *intent*: a ``sync_state`` row (key ``cancel-intent:<SID>``) holding
the planned outcome (the ``deferred_sends`` row, or the skip, or nothing) and a random token,
committed before the request. The transaction that records Twilio's answer deletes the intent
and applies the outcome only if it deleted that very intent (key and value): the outcome is
applied once, whoever finishes it. A cancel that failed while Twilio shows the message still
scheduled drops its intent (the message is left as it was: set the policy, cancel again); one
whose outcome Twilio did not tell keeps it.

:func:`finish` completes the intents left behind (a crash; a cancel that failed). The next
reschedule or ``cancel_scheduled`` of the campaign, ``sync()`` and the calls that sweep opt-outs
(``send``, ``run_due``, ``record_replies``, the server's inbox worker: ``_cancel.sweep_notes``)
call it. For each: the store shows the message canceled (a sync or a status callback recorded
it) -> the outcome (unless a send planned the freed lead again since: it has a newer message);
shows it sent (or further) -> nothing more (it counts as sent); still
``scheduled`` -> the cancel is asked again (Twilio answers ``canceled``, also when it had canceled
it before: the outcome; sent: recorded, counts as sent; still scheduled: left as it was; no
answer: the intent stays for the next call). A finisher running beside the process that wrote the intent at most repeats the cancel
request: the token decides which of them applies the outcome.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased, sessionmaker

from campaign_sdk import service
from campaign_sdk._exceptions import GatewayError
from campaign_sdk.delivery import utc
from campaign_sdk.gateways import Gateway, MessageRecord, strip_channel
from campaign_sdk.models import MessageStatus, OutboundMessage, SyncState
from campaign_sdk.sending import _deferred

if TYPE_CHECKING:
    from campaign_sdk.sending._cancel import CancelReport

log = logging.getLogger(__name__)
PREFIX = "cancel-intent:"
BATCH = 200  # cancels recorded per transaction
SUPERSEDED = "superseded"  # not a Twilio status: a canceled message whose lead was planned again since


_MOMENTS = ("due_at", "not_before")  # the moments of ``Intent.later``, kept as ISO 8601 text


@dataclass(frozen=True)
class Intent:
    """One planned cancel: the message (``sid``, ``to``) and what its lead becomes once Twilio
    canceled it: ``later`` (a ``deferred_sends`` row: ``lead_id``, ``user_id``, ``due_at``,
    ``reason``, possibly its send's ``local_time``, ``not_before``; for the worker of ``channel``
    and ``sender``: ``_deferred.sender_of`` the gateway that planned it), ``skip`` ((lead, reason): marked skipped) or
    neither (freed: a later send plans it again). ``why``: the reschedule's reason (its
    report's key), None for a pause's or an opt-out's cancel."""

    sid: str
    to: str
    campaign_id: int
    channel: str | None = None
    later: Mapping[str, Any] | None = None
    skip: tuple[int, str] | None = None
    why: str | None = None
    sender: str | None = None
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    raw: str = field(default="", compare=False)  # the stored value it was read from

    @property
    def key(self) -> str:
        return PREFIX + self.sid

    @property
    def due(self) -> dt.datetime | None:
        return None if self.later is None else self.later["due_at"]

    def dump(self) -> str:
        later = None if self.later is None else {**self.later, **{
            k: self.later[k].isoformat() for k in _MOMENTS if self.later.get(k) is not None}}
        return self.raw or json.dumps({"sid": self.sid, "to": self.to, "campaign_id": self.campaign_id,
                                       "channel": self.channel, "later": later, "skip": self.skip, "why": self.why,
                                       "sender": self.sender, "token": self.token}, sort_keys=True)

    @classmethod
    def load(cls, value: str) -> Intent | None:
        try:
            data = json.loads(value)
            later = data["later"]
            if later is not None:  # one written before not_before was kept: never before its due moment
                later = {"not_before": later["due_at"], **later}
                later = {**later, **{k: utc(dt.datetime.fromisoformat(later[k])) for k in _MOMENTS if later[k] is not None}}
            skip = tuple(data["skip"]) if data["skip"] is not None else None
            return cls(str(data["sid"]), str(data["to"]), int(data["campaign_id"]), data["channel"], later,
                       skip, data["why"], data.get("sender"), str(data["token"]), raw=value)
        except (ValueError, KeyError, TypeError):
            return None


# what a cancel came to: (the intent, the event to record or None, the status Twilio or the store
# shows; None: Twilio did not say, the intent stays)
Answer = tuple[Intent, Mapping[str, Any] | None, str | None]
Done = tuple[Intent, str]  # an intent this process completed, and the message's final status


def cancel(sessions: sessionmaker[Session], gateway: Gateway, intents: Sequence[Intent], report: CancelReport, *,
           now: dt.datetime) -> list[Done]:
    """Cancel at Twilio, intent first (see the module); the intents completed here."""
    done: list[Done] = []
    for start in range(0, len(intents), BATCH):
        batch = intents[start:start + BATCH]
        with sessions.begin() as session:
            for intent in batch:
                session.merge(SyncState(key=intent.key, value=intent.dump()))
        done += settle(sessions, [_cancel(intent, gateway, report) for intent in batch], now=now)
    return done


def settle(sessions: sessionmaker[Session], answers: Iterable[Answer], *, now: dt.datetime) -> list[Done]:
    """In one transaction: for each answer with a final status, take its intent (delete it, if it
    is still the one read) and, if taken, record the event and apply the outcome of a canceled
    message (defer or skip its lead)."""
    final = [a for a in answers if a[2] is not None]
    if not final:
        return []
    done: list[Done] = []
    with sessions.begin() as session:
        taken = [(i, e, s) for i, e, s in final if _take(session, i)]
        service.record_statuses(session, [e for _, e, _ in taken if e is not None])  # a canceled message frees its lead ...
        later: dict[tuple[int, str | None, str | None, str | None], list[Mapping[str, Any]]] = defaultdict(list)
        dropped: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for intent, _, status in taken:
            assert status is not None
            done.append((intent, status))
            if status != MessageStatus.CANCELED:
                continue  # Twilio had sent it (it counts as sent), or holds it still (left as it was)
            if intent.later is not None:
                later[intent.campaign_id, intent.channel, intent.sender, intent.later.get("local_time")].append(intent.later)
            elif intent.skip is not None:
                dropped[intent.campaign_id].append(intent.skip)
        for (campaign_id, channel, sender, local_time), rows in later.items():  # ... deferred to its new moment
            # in the same transaction, for its own channel's and sender's worker (with its send's local_time)
            _deferred.defer(session, campaign_id, rows, channel=channel, sender=sender, local_time=local_time)
        for campaign_id, skips in dropped.items():
            _deferred.mark_skipped(session, campaign_id, skips, now=now)
    return done


def _take(session: Session, intent: Intent) -> bool:
    result = session.execute(sa.delete(SyncState).where(SyncState.key == intent.key, SyncState.value == intent.dump())
                             .execution_options(synchronize_session=False))
    return bool(getattr(result, "rowcount", 0))


def finish(sessions: sessionmaker[Session], gateway: Gateway, report: CancelReport, *,
           campaign_ids: Iterable[int] | None = None) -> list[Done]:
    """Complete the intents left behind (of ``campaign_ids``; None: all), see the module; the
    intents completed here (a cancel that fails again is in ``report.failed``)."""
    wanted = None if campaign_ids is None else set(campaign_ids)
    with sessions() as session:
        values = session.scalars(sa.select(SyncState.value).where(SyncState.key.startswith(PREFIX, autoescape=True))
                                 .order_by(SyncState.key)).all()
    intents = [i for v in values if (i := Intent.load(v)) is not None and (wanted is None or i.campaign_id in wanted)]
    if not intents:
        return []
    now = utc(gateway.now())
    done: list[Done] = []
    for start in range(0, len(intents), BATCH):
        batch = intents[start:start + BATCH]
        with sessions() as session:
            stored = _stored(session, [i.sid for i in batch])
        answers: list[Answer] = []
        for intent in batch:
            status = stored.get(intent.sid)
            if status == MessageStatus.SCHEDULED:  # canceled at Twilio or not: ask again
                answers.append(_cancel(intent, gateway, report))
            else:  # recorded since (a sync, a status callback); "" (no such message): nothing to do
                answers.append((intent, None, "" if status is None else status))
        done += settle(sessions, answers, now=now)
    if done:
        log.info("completed %d cancel(s) a crash or a failure had left half done", len(done))
    return done


def _stored(session: Session, sids: list[str]) -> dict[str, str]:
    """The store's status of each message; ``superseded`` for a canceled one whose lead has had a
    newer message since (a send planned the freed lead again: its outcome is not applied)."""
    m, newer = OutboundMessage, aliased(OutboundMessage)
    again = sa.exists().where(newer.campaign_id == m.campaign_id, newer.lead_id == m.lead_id, newer.id > m.id)
    rows = session.execute(sa.select(m.sid, m.status, again).where(m.sid.in_(sids))).all()
    return {str(sid): SUPERSEDED if status == MessageStatus.CANCELED and later else str(status)
            for sid, status, later in rows}


def finish_notes(sessions: sessionmaker[Session], gateway: Gateway, report: CancelReport, *,
                 failures_only: bool = False) -> list[str]:
    """:func:`finish` for a call that reports in notes (sync, send, run_due, record_replies):
    what it did (``failures_only``: what it could not do)."""
    done = [d for d in finish(sessions, gateway, report) if d[1] != MessageStatus.SCHEDULED]
    notes = []
    if done and not failures_only:
        notes.append(f"completed {len(done)} cancel(s) of messages Twilio's scheduler held that a crash or a failure "
                     "had left half done (the store now shows what Twilio did)")
    if report.failed:
        notes.append(f"{len(report.failed)} cancel(s) left half done could not be completed (Twilio did not answer); "
                     "the next sync / send / run_due tries again")
    return notes


def _cancel(intent: Intent, gateway: Gateway, report: CancelReport) -> Answer:
    """Ask Twilio to cancel; what it came to (a failure Twilio shows still scheduled: status
    ``scheduled``, the intent is dropped and the message left as it was; Twilio silent: None)."""
    sid = intent.sid
    try:
        record = gateway.cancel_message(sid)
    except GatewayError as exc:
        current = _current(gateway, sid, intent.to)
        if current is None or current.status == MessageStatus.SCHEDULED:
            report.failed[sid] = str(exc)
            report.first_error = report.first_error or exc
            log.warning("could not cancel the scheduled message %s: %s", sid, exc)
            return intent, None, None if current is None else str(current.status)
        if current.status == MessageStatus.CANCELED:
            report.canceled += 1  # canceled before (an earlier cancel whose answer was lost)
        else:
            report.already_sent[sid] = current.status
        return intent, _event(current), str(current.status)
    report.canceled += 1
    return intent, _event(record), str(record.status)


def _current(gateway: Gateway, sid: str, to: str) -> MessageRecord | None:
    """The message as Twilio lists it now (None when Twilio does not answer)."""
    try:
        return next((r for r in gateway.list_messages(to=strip_channel(to), limit=50) if r.sid == sid), None)
    except GatewayError:
        return None


def _event(record: MessageRecord) -> dict[str, Any]:
    return {"sid": record.sid, "status": record.status, "timestamp": record.date_updated or record.date_created,
            "error_code": record.error_code}
