"""campaign.trigger(): one transactional message of a service campaign."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import sqlalchemy as sa

from campaign_sdk import CampaignStateError, GatewayError, LeadValidationError, TemplateValidationError
from campaign_sdk.models import OutboundMessage

from .conftest import FAST_RETRY, approve

# For behaviour that does not depend on the database engine (the rest runs on both).
SQLITE_ONLY = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


@pytest.fixture
def receipts(sender, twilio_server):
    campaign = sender.create_campaign("Receipts", template="order_confirmation", campaign_type="service")
    return approve(campaign, twilio_server)


def _creates(server) -> list:
    return [r for r in server.requests if r.method == "POST" and r.path.endswith("/Messages.json")]


def _messages(sender) -> list:
    with sender.engine.connect() as connection:
        return connection.execute(
            sa.select(OutboundMessage.to_number, OutboundMessage.sid, OutboundMessage.status,
                      OutboundMessage.error_code, OutboundMessage.dedupe_key)
        ).all()


def test_trigger_to_a_new_phone_adds_the_lead_and_sends(sender, receipts, twilio_server) -> None:
    message = receipts.trigger("+1 415 555 0100", {"lead_name": "Ana", "order_id": "A-1"})
    [request] = _creates(twilio_server)
    assert request.field("To") == "whatsapp:+14155550100"
    assert json.loads(request.field("ContentVariables")) == {"1": "Ana", "2": "A-1"}
    [on_server] = twilio_server.sent()
    assert (message.sid, message.status, message.to) == (on_server["sid"], "accepted", "+14155550100")
    assert receipts.leads["phone_number"].tolist() == ["+14155550100"]
    assert _messages(sender) == [("+14155550100", message.sid, "accepted", None, None)]


@SQLITE_ONLY
def test_trigger_a_lead_by_id_with_overrides(sender, receipts, twilio_server) -> None:
    receipts.add_leads(pd.DataFrame({"phone_number": ["+14155550100"], "lead_name": ["Bo"], "order_id": ["B-1"]}))
    lead_id = int(receipts.leads["lead_id"][0])
    receipts.trigger(lead_id, {"order_id": "B-2"})
    receipts.trigger(lead_id)
    variables = [json.loads(r.field("ContentVariables")) for r in _creates(twilio_server)]
    assert variables == [{"1": "Bo", "2": "B-2"}, {"1": "Bo", "2": "B-1"}]


def test_the_same_key_never_sends_twice(sender, receipts, twilio_server) -> None:
    first = receipts.trigger("+14155550100", {"lead_name": "Ana", "order_id": "A-1"}, key="order-A-1")
    second = receipts.trigger("+14155550100", {"lead_name": "Ana", "order_id": "A-1"}, key="order-A-1")
    assert first.sid == second.sid and len(_creates(twilio_server)) == 1


def test_an_unanswered_trigger_is_reconciled_by_its_key(sender, receipts, twilio_server) -> None:
    twilio_server.fail("server_error", processed=True, times=1)
    twilio_server.fail("server_error", method="GET", times=None)
    with pytest.raises(GatewayError, match="may have been sent.*key='k1'"):
        receipts.trigger("+14155550100", {"lead_name": "Ana", "order_id": "A-1"}, key="k1", retry=FAST_RETRY)
    assert len(twilio_server.sent()) == 1  # processed once, never resent while unsure
    twilio_server.clear_faults()
    again = receipts.trigger("+14155550100", {"lead_name": "Ana", "order_id": "A-1"}, key="k1")
    [on_server] = twilio_server.sent()
    assert again.sid == on_server["sid"] and len(_creates(twilio_server)) == 1


def test_refusals_are_recorded_and_raised(sender, receipts, twilio_server) -> None:
    twilio_server.reject_number("+14155550100", 21211)
    with pytest.raises(GatewayError, match="21211") as raised:
        receipts.trigger("+14155550100", {"lead_name": "Ana", "order_id": "A-1"})
    assert raised.value.code == 21211
    [(to, sid, status, code, _)] = _messages(sender)
    assert (to, sid, status, code) == ("+14155550100", None, "failed", 21211)


@SQLITE_ONLY
def test_opted_out_users_are_never_triggered(sender, receipts, twilio_server) -> None:
    sender.record_replies([{"sid": "SMx", "from": "+14155550100", "body": "STOP"}])
    with pytest.raises(CampaignStateError, match="opted out"):
        receipts.trigger("+14155550100", {"lead_name": "Ana", "order_id": "A-1"})
    assert _creates(twilio_server) == []


@SQLITE_ONLY
def test_missing_variables_fail_before_sending(sender, receipts, twilio_server) -> None:
    with pytest.raises(TemplateValidationError, match="21656"):
        receipts.trigger("+14155550100", {"lead_name": "Ana"})
    assert _creates(twilio_server) == [] and _messages(sender) == []


@SQLITE_ONLY
def test_bad_numbers_and_unknown_leads_are_refused(receipts) -> None:
    with pytest.raises(LeadValidationError, match="cannot trigger to 'call me'"):
        receipts.trigger("call me", {})
    with pytest.raises(LeadValidationError, match="no lead with id 999"):
        receipts.trigger(999, {})


@SQLITE_ONLY
def test_only_enabled_service_campaigns_trigger(sender, receipts, ready_campaign, twilio_server) -> None:
    with pytest.raises(CampaignStateError, match="send\\(\\)"):
        ready_campaign(1).trigger("+14155550100", {"lead_name": "Ana", "order_id": "A-1"})
    receipts.disable()
    with pytest.raises(CampaignStateError, match="not enabled"):
        receipts.trigger("+14155550100", {"lead_name": "Ana", "order_id": "A-1"})
    assert _creates(twilio_server) == []
