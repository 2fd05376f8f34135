"""Adding and removing a campaign's leads (validated rows in, counts out)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaign_sdk.models import Campaign, CampaignLead, ConversationUser, utcnow
from campaign_sdk.service._events import ensure_users


@dataclass(frozen=True)
class NormalizedLead:
    """One lead ready to store: an E.164 number (or a known user id) and string variables."""

    phone_number: str | None
    custom_variables: dict[str, str]
    conversation_user_id: int | None = None
    row: int | None = None


@dataclass
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_opted_out: int = 0
    unknown_user_rows: list[int | None] | None = None


def upsert_leads(session: Session, campaign: Campaign, leads: Sequence[NormalizedLead]) -> UpsertCounts:
    """Insert new leads, update changed custom variables, restore soft-removed leads.

    Users who opted out are skipped (never enrolled). The caller owns the transaction: on any
    exception nothing of this call should be committed.
    """
    counts = UpsertCounts(unknown_user_rows=[])
    by_phone = ensure_users(session, (lead.phone_number for lead in leads if lead.phone_number))
    ids = {lead.conversation_user_id for lead in leads if lead.conversation_user_id is not None}
    users = {
        u.id: u
        for u in session.scalars(
            sa.select(ConversationUser).where(
                ConversationUser.id.in_(ids | set(by_phone.values()))
            )
        )
    }
    existing = {
        lead.user_id: lead
        for lead in session.scalars(
            sa.select(CampaignLead).where(CampaignLead.campaign_id == campaign.id)
        )
    }
    for lead in leads:
        user_id = by_phone[lead.phone_number] if lead.phone_number else lead.conversation_user_id
        user = users.get(user_id) if user_id is not None else None
        if user is None:
            counts.unknown_user_rows.append(lead.row)
            continue
        if user.opted_out_at is not None:
            counts.skipped_opted_out += 1
            continue
        current = existing.get(user.id)
        if current is None:
            current = CampaignLead(
                campaign_id=campaign.id, user_id=user.id, custom_variables=lead.custom_variables
            )
            session.add(current)
            existing[user.id] = current
            counts.inserted += 1
        elif current.removed_at is not None or current.custom_variables != lead.custom_variables:
            current.custom_variables = dict(lead.custom_variables)
            current.removed_at = None
            counts.updated += 1
        else:
            counts.unchanged += 1
    session.flush()
    return counts


def remove_leads(
    session: Session,
    campaign: Campaign,
    *,
    phone_numbers: Iterable[str] = (),
    user_ids: Iterable[int] = (),
) -> int:
    """Soft-remove leads (they keep their history but are no longer sent to). Returns how many
    leads were removed now (already removed ones do not count)."""
    phones = set(phone_numbers)
    ids = set(user_ids)
    if phones:
        ids |= set(
            session.scalars(
                sa.select(ConversationUser.id).where(ConversationUser.phone_number.in_(phones))
            )
        )
    if not ids:
        return 0
    result = session.execute(
        sa.update(CampaignLead)
        .where(
            CampaignLead.campaign_id == campaign.id,
            CampaignLead.user_id.in_(ids),
            CampaignLead.removed_at.is_(None),
        )
        .values(removed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return int(result.rowcount or 0)
