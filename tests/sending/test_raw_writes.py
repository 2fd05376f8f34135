"""The send's bookkeeping writes go straight through the DBAPI (``campaign_sdk._store.RawTable``):
what they store reads back exactly as what the Core stores, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from campaign_sdk import service
from campaign_sdk._store import raw_table
from campaign_sdk.models import Campaign, DeferredSend, OutboundMessage
from campaign_sdk.sending import _deferred

COLUMNS = ("campaign_id", "lead_id", "user_id", "to_number", "content_sid", "content_variables", "status",
           "sid", "error_code", "error_kind", "unknown_status")


def shape(text: str) -> str:
    """A stored time's text with every digit a 0 and any fraction of a second written ``.f``."""
    return re.sub(r"\d", "0", re.sub(r"\.\d+", ".f", text))


def _intent(lead, **more) -> dict:
    return {"lead_id": lead.lead_id, "user_id": lead.user_id, "to_number": lead.phone_number,
            "content_sid": "HX" + "3" * 32, "content_variables": {"1": "Ana é", "2": f"v{lead.lead_id}"}, **more}


def test_the_raw_writes_are_used_on_both_engines(sender) -> None:
    with sender.transaction() as session:
        assert raw_table(session, OutboundMessage.__table__) is not None


def test_intents_and_sids_read_back_as_the_core_writes_them(sender, ready_campaign) -> None:
    campaign = ready_campaign(4)
    with sender.transaction() as session:
        row = session.get_one(Campaign, campaign.id)
        leads = service.lead_candidates(session, campaign.id)
        fast = service.create_intents(session, row, [_intent(lead) for lead in leads[:2]])  # by dedupe key
        # a key missing: the Core's path (ids in the rows' order)
        core = service.create_intents(session, row, [_intent(leads[2], dedupe_key=None), _intent(leads[3])])
    with sender.transaction() as session:
        intended = session.get_one(OutboundMessage, fast[1]).created_at
    accepted_at = dt.datetime(2026, 3, 1, 9, 30, 5, 123456, tzinfo=ZoneInfo("Europe/Berlin"))
    created = dt.datetime(2026, 3, 1, 8, 30, 4, tzinfo=dt.UTC)
    with sender.transaction() as session:
        service.record_accepted(session, [
            {"id": fast[0], "sid": "SM" + "a" * 32, "status": "accepted", "at": accepted_at, "created_at": created},
            {"id": fast[1], "sid": "SM" + "b" * 32, "status": "warming_up", "at": accepted_at},
            {"id": core[0], "sid": "SM" + "c" * 32, "status": "accepted", "at": accepted_at, "created_at": created},
        ])
    with sender.transaction() as session:
        stored = {m.id: m for m in session.scalars(sa.select(OutboundMessage))}
    a, b, c, d = (stored[i] for i in (*fast, *core))
    assert (a.sid, a.status, a.unknown_status, a.error_code, a.error_kind) == ("SM" + "a" * 32, "accepted", None, None, None)
    assert a.created_at == created and a.created_at.tzinfo is not None
    assert a.status_at == accepted_at and a.status_at.utcoffset() == dt.timedelta(0)
    assert (b.status, b.unknown_status) == ("queued", "warming_up")  # unknown status: kept verbatim
    assert b.created_at == intended  # no Twilio time: the intent's own stays
    assert a.content_variables == {"1": "Ana é", "2": f"v{a.lead_id}"}
    assert a.dedupe_key == service.dedupe_key(campaign.id, a.lead_id) and c.dedupe_key is None
    # the rows the raw path wrote and the ones the Core wrote hold the same kinds of values
    for name in ("campaign_id", "to_number", "content_sid", "status", "created_at", "status_at"):
        assert type(getattr(a, name)) is type(getattr(c, name)), name
        assert type(getattr(b, name)) is type(getattr(d, name)), name
    with sender.engine.connect() as connection:  # and the same text in the database
        raw = dict(connection.execute(sa.select(OutboundMessage.__table__.c.id,
                                                sa.cast(OutboundMessage.__table__.c.created_at, sa.String))).all())
    # digits and the fraction's length aside (PostgreSQL drops a fraction's trailing zeros)
    assert shape(raw[a.id]) == shape(raw[c.id]) and shape(raw[b.id]) == shape(raw[d.id])


def test_defer_keeps_a_lead_s_first_row(sender, ready_campaign) -> None:
    campaign = ready_campaign(3)
    first = dt.datetime(2026, 3, 1, 10, 0, tzinfo=ZoneInfo("America/New_York"))
    with sender.transaction() as session:
        leads = service.lead_candidates(session, campaign.id)
        rows = [{"lead_id": lead.lead_id, "user_id": lead.user_id, "due_at": first, "reason": "quiet_hours"}
                for lead in leads[:2]]
        assert _deferred.defer(session, campaign.id, rows) == 2
    with sender.transaction() as session:
        again = [{"lead_id": lead.lead_id, "user_id": lead.user_id, "due_at": first + dt.timedelta(hours=1),
                  "reason": "scheduled"} for lead in leads]
        assert _deferred.defer(session, campaign.id, again) == 1  # only the third lead is new
    with sender.transaction() as session:
        stored = {d.lead_id: d for d in session.scalars(sa.select(DeferredSend))}
    assert [(stored[lead.lead_id].due_at, stored[lead.lead_id].reason) for lead in leads] == [
        (first, "quiet_hours"), (first, "quiet_hours"), (first + dt.timedelta(hours=1), "scheduled")]
    assert stored[leads[0].lead_id].due_at.utcoffset() == dt.timedelta(0)
    assert {d.campaign_id for d in stored.values()} == {campaign.id}
    assert all(d.claimed_by is None and d.created_at is not None for d in stored.values())
