"""A lead's status and what explains it (``campaign.leads``): which of its message, its deferred
send and its skip mark decides, on a SQLite file and on PostgreSQL (the mirror carries the
marks and the SendAt; deferred sends are read from the store)."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from campaign_sdk.models import CampaignLead, DeferredSend, OutboundMessage

from ._helpers import at, campaign, send

PHONES = [f"+1415555{n:04d}" for n in range(7100, 7107)]


def _lead(client, target, phone: str) -> tuple[int, int]:
    leads = target.leads.set_index("phone_number")
    return int(leads.loc[phone, "lead_id"]), int(leads.loc[phone, "conversation_user_id"])


def _mark(client, lead_id: int, reason: str, when) -> None:
    with client.transaction() as session:
        session.execute(sa.update(CampaignLead).where(CampaignLead.id == lead_id)
                        .values(skip_reason=reason, skipped_at=when))


def test_the_message_then_the_deferred_send_then_the_skip_mark_decide(client) -> None:
    target = campaign(client, "Order", PHONES)
    ids = {phone: _lead(client, target, phone) for phone in PHONES}
    skipped, held_after_skip, sent_after_skip, canceled_after, skipped_after_cancel, scheduled, pending = PHONES
    for phone in PHONES[:5]:
        _mark(client, ids[phone][0], "frequency_cap", at(hours=1))
    with client.transaction() as session:
        lead, user = ids[held_after_skip]
        session.add(DeferredSend(campaign_id=target.id, lead_id=lead, user_id=user, due_at=at(hours=5),
                                 reason="quiet_hours"))
    send(client, target, sent_after_skip, at(hours=2), "delivered")
    send(client, target, canceled_after, at(hours=2), "canceled")  # freed again, after the drop
    send(client, target, skipped_after_cancel, at(hours=0), "canceled")  # dropped after it
    sid = send(client, target, scheduled, at(hours=0))
    with client.transaction() as session:  # as send() records a message handed to Twilio's scheduler
        session.execute(sa.update(OutboundMessage).where(OutboundMessage.sid == sid)
                        .values(status="scheduled", scheduled_for=at(days=2)))

    leads = target.leads.set_index("phone_number")

    naive = lambda moment: pd.Timestamp(moment.replace(tzinfo=None))  # noqa: E731
    expected = {
        skipped: ("skipped", "frequency_cap", None, naive(at(hours=1))),
        held_after_skip: ("deferred", "quiet_hours", naive(at(hours=5)), None),
        sent_after_skip: ("delivered", None, None, None),
        canceled_after: ("pending", None, None, None),
        skipped_after_cancel: ("skipped", "frequency_cap", None, naive(at(hours=1))),
        scheduled: ("scheduled", None, naive(at(days=2)), None),
        pending: ("pending", None, None, None),
    }
    found = {phone: tuple(None if pd.isna(v) else v for v in leads.loc[phone, ["status", "reason", "due_at",
                                                                                  "skipped_at"]])
             for phone in PHONES}
    assert found == expected
    # the mirror carries the new columns for client.sql
    marks = client.sql("select count(*) from leads where skip_reason = 'frequency_cap'").fetchall()[0]
    assert marks == (5,)
    assert client.sql("select count(*) from messages where channel is null").fetchall()[0] == (4,)
