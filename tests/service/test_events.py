"""Recording statuses, replies and conversions: idempotent and order-independent."""

from __future__ import annotations

import datetime as dt
import itertools

import pandas as pd
import pytest
import sqlalchemy as sa

import campaign_sdk as cs
from campaign_sdk import CampaignClient
from campaign_sdk.models import ConversationUser, InboundMessage, MessageStatus, OutboundMessage
from campaign_sdk.service import classify_inbound

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
_sids = itertools.count(1)


def add_sent_message(
    client: CampaignClient, campaign: cs.Campaign, phone: str, *, at: dt.datetime = T0,
    status: MessageStatus = MessageStatus.SENT,
) -> str:
    """Enrol ``phone`` in ``campaign`` and store a campaign message to it; returns its SID."""
    campaign.add_leads(pd.DataFrame({"phone_number": [phone], "lead_name": ["Ana"], "order_id": ["1"]}))
    sid = f"SM{next(_sids):032x}"
    with client.transaction() as session:
        user = session.scalar(sa.select(ConversationUser).where(ConversationUser.phone_number == phone))
        lead_id = next(lead.id for lead in campaign_leads(session, campaign.id) if lead.user_id == user.id)
        session.add(
            OutboundMessage(
                sid=sid, campaign_id=campaign.id, lead_id=lead_id, user_id=user.id,
                to_number=f"whatsapp:{phone}", status=status, created_at=at, status_at=at,
            )
        )
    return sid


def campaign_leads(session, campaign_id):
    from campaign_sdk.models import CampaignLead

    return session.scalars(sa.select(CampaignLead).where(CampaignLead.campaign_id == campaign_id))


def _message(client: CampaignClient, sid: str) -> OutboundMessage:
    with client.transaction() as session:
        return session.scalar(sa.select(OutboundMessage).where(OutboundMessage.sid == sid))


@pytest.fixture
def campaign(client: CampaignClient) -> cs.Campaign:
    return client.create_campaign("C", template="order_confirmation")


def test_statuses_never_move_backwards_but_keep_their_times(client, campaign) -> None:
    sid = add_sent_message(client, campaign, "+14155552671")
    events = [
        {"sid": sid, "status": "read", "timestamp": T0 + dt.timedelta(minutes=5)},
        {"sid": sid, "status": "delivered", "timestamp": T0 + dt.timedelta(minutes=1)},
        {"sid": sid, "status": "sent", "timestamp": T0},
    ]
    result = client.record_statuses(events)
    message = _message(client, sid)
    assert message.status is MessageStatus.READ
    assert message.delivered_at == T0 + dt.timedelta(minutes=1)
    assert message.read_at == T0 + dt.timedelta(minutes=5)
    assert result.applied == 3
    again = client.record_statuses(pd.DataFrame(events))
    assert (again.applied, again.ignored) == (0, 3)


def test_failure_after_delivery_is_stale_and_error_codes_are_kept(client, campaign) -> None:
    delivered = add_sent_message(client, campaign, "+14155552671")
    failed = add_sent_message(client, campaign, "+14155552672")
    client.record_statuses(
        [
            {"sid": delivered, "status": "delivered"},
            {"sid": delivered, "status": "undelivered", "error_code": 30008},
            {"sid": failed, "status": "failed", "error_code": "63024"},
        ]
    )
    assert _message(client, delivered).status is MessageStatus.DELIVERED
    assert _message(client, delivered).error_code is None
    assert (_message(client, failed).status, _message(client, failed).error_code) == (MessageStatus.FAILED, 63024)


def test_unknown_sids_are_reported_not_dropped(client, campaign) -> None:
    result = client.record_statuses([{"sid": "SMnope", "status": "delivered"}])
    assert result.unmatched == [{"sid": "SMnope", "status": "delivered", "reason": "unknown_sid"}]
    # an unknown SID with a status the SDK does not know is still reported, never raised
    assert client.record_statuses([{"sid": "SMnope", "status": "bogus"}]).unmatched[0]["status"] == "bogus"
    with pytest.raises(cs.CampaignError, match=r"missing \['status'\]"):
        client.record_statuses(pd.DataFrame({"sid": ["x"]}))


@pytest.mark.parametrize(
    ("body", "kind"),
    [("STOP", "opt_out"), (" stop. ", "opt_out"), ("Unsubscribe", "opt_out"), ("start", "opt_in"),
     ("YES", "opt_in"), ("help", "help"), ("stop sending me these", "reply"), ("Yes please!", "reply"), ("", "reply")],
)
def test_keywords_are_whole_messages(body: str, kind: str) -> None:
    assert classify_inbound(body).value == kind


def test_opt_out_follows_the_latest_keyword_whatever_the_arrival_order(client) -> None:
    phone = "+14155552671"
    stop = {"sid": "IM1", "from": f"whatsapp:{phone}", "body": "STOP", "received_at": T0}
    start = {"sid": "IM2", "from": phone, "body": "START", "received_at": T0 + dt.timedelta(hours=1)}
    client.record_replies([start])
    client.record_replies([stop])  # older STOP arrives late: the user stays opted in
    with client.transaction() as session:
        user = session.scalar(sa.select(ConversationUser).where(ConversationUser.phone_number == phone))
        assert user.opted_out_at is None
    client.record_replies([{**stop, "sid": "IM3", "received_at": T0 + dt.timedelta(hours=2)}])
    with client.transaction() as session:
        user = session.scalar(sa.select(ConversationUser).where(ConversationUser.phone_number == phone))
        assert user.opted_out_at == T0 + dt.timedelta(hours=2)
        assert user.opt_out_keyword == "STOP"


def test_replies_are_idempotent_by_sid(client) -> None:
    reply = {"sid": "IM1", "from": "+14155552671", "body": "Thanks!", "received_at": T0}
    assert client.record_replies([reply, reply]).applied == 1
    assert client.record_replies(pd.DataFrame([reply])).ignored == 1
    with client.transaction() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(InboundMessage)) == 1


def test_opted_out_users_are_not_enrolled_again(client, campaign) -> None:
    client.record_replies([{"sid": "IM1", "from": "+14155552671", "body": "STOP", "received_at": T0}])
    report = campaign.add_leads(pd.DataFrame({"phone_number": ["+14155552671", "+14155552672"]}))
    assert (report.inserted, report.skipped_opted_out) == (1, 1)


def test_conversions_are_idempotent_by_external_id(client) -> None:
    rows = [
        {"external_id": "order-1", "phone_number": "+14155552671", "occurred_at": T0, "value": 10.5},
        {"external_id": "order-1", "phone_number": "+14155552671", "occurred_at": T0, "value": 99},
        {"external_id": "order-2", "phone_number": "whatsapp:+14155552671", "value": float("nan")},
    ]
    assert client.record_conversions(rows).applied == 2
    assert client.record_conversions(rows).applied == 0
    with client.engine.connect() as connection:
        values = connection.execute(sa.text("SELECT external_id, value FROM conversions ORDER BY external_id")).all()
    assert [tuple(v) for v in values] == [("order-1", 10.5), ("order-2", None)]
