"""Finding campaigns: filters and pages over the campaigns table."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaign_sdk.models import Campaign, CampaignStatus, CampaignType


def list_campaigns(
    session: Session,
    *,
    status: CampaignStatus | str | None = None,
    campaign_type: CampaignType | str | None = None,
    enabled: bool | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[Campaign], int]:
    """One page of campaigns (oldest first) matching every given filter, and how many match.

    ``enabled=True`` keeps campaigns with an ``enabled`` timestamp, ``False`` the paused ones.
    """
    if offset < 0 or (limit is not None and limit < 0):
        raise ValueError(f"limit and offset must not be negative (got limit={limit}, offset={offset})")
    where = []
    if status is not None:
        where.append(Campaign.status == CampaignStatus(status))
    if campaign_type is not None:
        where.append(Campaign.campaign_type == CampaignType(campaign_type))
    if enabled is not None:
        where.append(Campaign.enabled.is_not(None) if enabled else Campaign.enabled.is_(None))
    total = session.scalar(sa.select(sa.func.count()).select_from(Campaign).where(*where)) or 0
    query = sa.select(Campaign).where(*where).order_by(Campaign.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query)), int(total)
