"""Every Twilio message status, one order, and one behaviour for a status the SDK does not know."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

import campaign_sdk as cs
from campaign_sdk.facts import statuses
from campaign_sdk.models import Campaign as CampaignRow
from campaign_sdk.models import CampaignLead, MessageStatus, OutboundMessage
from campaign_sdk import UnknownStatusWarning
from campaign_sdk.service._events import _apply_status

from .test_events import T0, _message, add_sent_message

SPEC = Path("/work/shared/twilio-oai/twilio_api_v2010.json")
LATER = [T0 + dt.timedelta(minutes=i) for i in range(10)]


@pytest.fixture
def campaign(client) -> cs.Campaign:
    return client.create_campaign("C", template="order_confirmation")


@pytest.mark.skipif(not SPEC.exists(), reason="the shared OpenAPI spec is not on this machine")
def test_the_statuses_are_exactly_the_enum_of_twilios_messages_spec() -> None:
    schemas = json.loads(SPEC.read_text())["components"]["schemas"]
    assert schemas["api.v2010.account.message"]["properties"]["status"] == {
        "$ref": "#/components/schemas/message_enum_status"}
    enum = schemas["message_enum_status"]["enum"]
    assert len(enum) == 13
    assert list(statuses.NAMES) == enum
    assert [s.value for s in MessageStatus] == enum


def test_one_order_for_outbound_messages() -> None:
    ladder = ["scheduled", "queued", "sending", "sent", "failed", "partially_delivered", "delivered", "read",
              "canceled"]
    ranks = [statuses.RANK[name] for name in ladder]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)
    assert statuses.RANK["accepted"] == statuses.RANK["queued"]
    assert statuses.RANK["undelivered"] == statuses.RANK["failed"]
    assert list(statuses.ORDER) == sorted(statuses.NAMES, key=lambda n: statuses.RANK[n])
    assert set(statuses.TOUCH) == {"sent", "partially_delivered", "delivered", "read"}
    assert set(statuses.NOT_RECEIVED) == {"failed", "undelivered"}


def _fresh(status: str) -> OutboundMessage:
    return OutboundMessage(status=MessageStatus(status), status_at=T0, sid="SM1")


@pytest.mark.parametrize(("first", "second"), list(itertools.product(statuses.NAMES, repeat=2)))
def test_any_two_statuses_end_on_the_one_that_ranks_higher(first: str, second: str) -> None:
    message = _fresh(first)
    _apply_status(message, MessageStatus(second), LATER[1], None)
    if first == "canceled":
        expected = "canceled"  # nothing moves a canceled message
    else:
        expected = second if statuses.RANK[second] > statuses.RANK[first] else first
    assert message.status.value == expected


def test_scheduled_then_queued_moves_the_message_on(client, campaign) -> None:
    sid = add_sent_message(client, campaign, "+14155552671", status=MessageStatus.SCHEDULED)
    result = client.record_statuses([{"sid": sid, "status": "queued", "timestamp": LATER[1]}])
    assert result.applied == 1
    assert (_message(client, sid).status, _message(client, sid).status_at) == (MessageStatus.QUEUED, LATER[1])
    client.record_statuses([{"sid": sid, "status": "scheduled", "timestamp": LATER[2]}])  # stale
    assert _message(client, sid).status is MessageStatus.QUEUED


def test_nothing_changes_a_canceled_message(client, campaign) -> None:
    sid = add_sent_message(client, campaign, "+14155552671", status=MessageStatus.SCHEDULED)
    client.record_statuses([{"sid": sid, "status": "canceled", "timestamp": LATER[1]}])
    late = [{"sid": sid, "status": s, "timestamp": LATER[2]} for s in ("sent", "delivered", "read", "failed")]
    result = client.record_statuses(late)
    assert (result.applied, result.ignored) == (0, 4)
    message = _message(client, sid)
    assert message.status is MessageStatus.CANCELED
    assert (message.sent_at, message.delivered_at, message.read_at, message.failed_at) == (None,) * 4
    assert campaign.metrics().iloc[0]["messages_sent"] == 0


def test_a_delivery_after_a_failure_clears_the_error(client, campaign) -> None:
    phone = "+14155552671"
    sid = add_sent_message(client, campaign, phone)
    client.record_statuses([{"sid": sid, "status": "failed", "error_code": 63024, "timestamp": LATER[1]}])
    failed = _message(client, sid)
    assert (failed.status, failed.error_code, failed.error_kind) == (MessageStatus.FAILED, 63024, "invalid_number")
    client.record_statuses([{"sid": sid, "status": "delivered", "timestamp": LATER[2]}])
    delivered = _message(client, sid)
    assert (delivered.status, delivered.error_code, delivered.error_kind) == (MessageStatus.DELIVERED, None, None)
    assert delivered.failed_at == LATER[1] and delivered.delivered_at == LATER[2]
    # the number is no longer taken for invalid: a later campaign may message it
    other = campaign_for(client, "Later", phone)
    assert other.preflight().skipped.get("invalid_number", 0) == 0
    row = campaign.leads.iloc[0]
    assert row["message_status"] == "delivered" and pd.isna(row["error_code"])


def campaign_for(client, name: str, phone: str) -> cs.Campaign:
    later = client.create_campaign(name, template="order_confirmation")
    later.add_leads(pd.DataFrame({"phone_number": [phone], "lead_name": ["Ana"], "order_id": ["2"]}))
    return later


def test_an_invalid_number_failure_is_remembered_by_kind(client, campaign) -> None:
    phone = "+14155552672"
    sid = add_sent_message(client, campaign, phone)
    client.record_statuses([{"sid": sid, "status": "undelivered", "error_code": "63024"}])
    assert campaign_for(client, "Later", phone).preflight().skipped == {"invalid_number": 1}


def test_partially_delivered_counts_as_sent_and_delivered(client, campaign) -> None:
    sid = add_sent_message(client, campaign, "+14155552671")
    client.record_statuses([{"sid": sid, "status": "partially_delivered", "timestamp": LATER[1]}])
    assert _message(client, sid).delivered_at == LATER[1]
    metrics = campaign.metrics().iloc[0]
    assert (metrics["messages_sent"], metrics["delivered"]) == (1, 1)


@pytest.mark.parametrize("status", statuses.NAMES)
def test_every_status_is_stored_on_both_engines(client, campaign, status: str) -> None:
    sid = add_sent_message(client, campaign, "+14155552671", status=MessageStatus.SCHEDULED)
    client.record_statuses([{"sid": sid, "status": status.upper()}])  # Twilio's case is not relied on
    assert _message(client, sid).status.value == status


def test_an_unknown_status_is_stored_verbatim_and_never_stops_the_batch(client, campaign, caplog) -> None:
    first = add_sent_message(client, campaign, "+14155552671")
    second = add_sent_message(client, campaign, "+14155552672")
    events = [
        {"sid": first, "status": "delivered_to_watch", "timestamp": LATER[1]},
        {"sid": second, "status": "delivered", "timestamp": LATER[1]},
        {"sid": first, "status": "x" * 60},  # longer than the column: kept, cut to its size
    ]
    with pytest.warns(UnknownStatusWarning, match="2 status update.*delivered_to_watch"):
        result = client.record_statuses(events)
    assert result.unknown == [{"sid": first, "status": "delivered_to_watch"}, {"sid": first, "status": "x" * 60}]
    assert (result.applied, result.ignored) == (3, 0)
    stored = _message(client, first)
    assert (stored.status, stored.unknown_status) == (MessageStatus.SENT, "x" * statuses.MAX_LENGTH)
    assert _message(client, second).status is MessageStatus.DELIVERED
    assert "does not know" in caplog.text
    with pytest.warns(UnknownStatusWarning):  # the same unknown status again changes nothing
        assert client.record_statuses([events[2]]).ignored == 1
    client.record_statuses([{"sid": first, "status": "read", "timestamp": LATER[3]}])
    stored = _message(client, first)
    assert (stored.status, stored.unknown_status) == (MessageStatus.READ, None)


def test_an_unknown_first_status_from_the_gateway_is_kept_with_the_intent_status(client, campaign) -> None:
    from campaign_sdk import service

    add_sent_message(client, campaign, "+14155552671")
    with client.transaction() as session:
        lead = session.scalar(sa.select(CampaignLead).where(CampaignLead.campaign_id == campaign.id))
        row = session.get_one(CampaignRow, campaign.id)
        [intent] = service.create_intents(session, row, [{"lead_id": lead.id, "user_id": lead.user_id,
                                                         "to_number": "+14155552671", "dedupe_key": "k"}])
        service.record_accepted(session, [{"id": intent, "sid": "SMnew", "status": "warming_up"}])
    stored = _message(client, "SMnew")
    assert (stored.status, stored.unknown_status) == (MessageStatus.QUEUED, "warming_up")
