"""``service.create_intents`` returns each intent's id in the order given, on SQLite and
PostgreSQL, whether its ids come back by dedupe key (every intent has a distinct one: the
send's path, one INSERT for the chunk) or in parameter order (a key missing or repeated)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from campaign_sdk import service
from campaign_sdk.models import Campaign, OutboundMessage

from tests.sending.conftest import numbers


def _intents(session, campaign_id: int, *, keys: list[str | None] | None = None) -> list[dict]:
    leads = service.lead_candidates(session, campaign_id)
    rows = [{"lead_id": lead.lead_id, "user_id": lead.user_id, "to_number": lead.phone_number,
             "content_sid": "HX" + "2" * 32, "content_variables": {"1": f"v{lead.lead_id}"}}
            for lead in reversed(leads)]  # not in id order: the ids must still match the rows
    for row, key in zip(rows, keys or [], strict=False):
        row["dedupe_key"] = key
    return rows


@pytest.mark.parametrize("keys", ["default", "none_missing"], ids=["by dedupe key", "a key missing"])
def test_create_intents_returns_the_id_of_each_row_in_order(sender, ready_campaign, keys: str) -> None:
    campaign = ready_campaign(30)
    with sender.transaction() as session:
        row = session.get_one(Campaign, campaign.id)
        given = _intents(session, campaign.id, keys=None if keys == "default" else [None])
        ids = service.create_intents(session, row, given)
    assert len(ids) == len(set(ids)) == 30
    with sender.transaction() as session:
        stored = {m.id: m for m in session.scalars(sa.select(OutboundMessage).where(OutboundMessage.id.in_(ids)))}
    for intent_id, wanted in zip(ids, given, strict=True):
        message = stored[intent_id]
        assert (message.lead_id, message.user_id, message.to_number) == (
            wanted["lead_id"], wanted["user_id"], wanted["to_number"])
        assert message.content_variables == wanted["content_variables"]
        assert message.sid is None and message.status == "queued"
    assert sorted(m.to_number for m in stored.values()) == numbers(30)


def test_create_intents_refuses_a_second_intent_for_a_lead(sender, ready_campaign) -> None:
    campaign = ready_campaign(2)
    with sender.transaction() as session:
        service.create_intents(session, session.get_one(Campaign, campaign.id), _intents(session, campaign.id))
    with pytest.raises(sa.exc.IntegrityError), sender.transaction() as session:
        service.create_intents(session, session.get_one(Campaign, campaign.id), _intents(session, campaign.id)[:1])
