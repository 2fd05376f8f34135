"""A send's scan of its leads, in lead order, in stretches, with the census each stretch counts.

A send scans its leads once: each lead is counted in the report's census (to send, deferred or
skipped, by reason) as it is looked at. The leads after the last one the plan sends now need no
request: a stretch of their own, scanned by another thread while the requests go out (their
deferred rows are written meanwhile, not after the last request).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaign_sdk import service
from campaign_sdk.models import CampaignLead, DeferredSend, OutboundMessage


@dataclass
class Scan:
    """The leads after ``cursor`` up to ``end`` (None: to the campaign's last), and the counts
    of those scanned so far. ``cursor`` is the last lead counted; None once the stretch is done."""

    campaign_id: int
    cursor: int | None = 0
    end: int | None = None
    counts: Counter[str] = field(default_factory=Counter)
    deferred: Counter[str] = field(default_factory=Counter)

    def fetch(self, session: Session, size: int) -> list[service.LeadCandidate]:
        """The next leads of the stretch (at most ``size``); [] when it is done."""
        if self.cursor is None:
            return []
        batch = service.lead_candidates(session, self.campaign_id, after_id=self.cursor, limit=size)
        inside = [lead for lead in batch if self.end is None or lead.lead_id <= self.end]
        if not inside:
            self.cursor = None
        return inside

    def counted(self, batch: list[service.LeadCandidate]) -> None:
        """``batch`` is counted: the scan goes on after it."""
        if batch and self.cursor is not None:
            self.cursor = batch[-1].lead_id


def census(scans: list[Scan]) -> tuple[Counter[str], Counter[str]]:
    """The counts of the stretches together, in lead order: (reasons and ``send``, deferred)."""
    counts: Counter[str] = Counter()
    deferred: Counter[str] = Counter()
    for scan in scans:
        counts.update(scan.counts)
        deferred.update(scan.deferred)
    return counts, deferred


def every_lead_handled(campaign_id: int) -> sa.Select[tuple[bool]]:
    """Whether every lead of the campaign (not removed) has a message or a deferred row: then
    none is left to send now, without looking at each lead."""
    lead = CampaignLead
    return sa.select(~sa.exists().where(
        lead.campaign_id == campaign_id, lead.removed_at.is_(None),
        ~sa.exists().where(OutboundMessage.campaign_id == campaign_id, OutboundMessage.lead_id == lead.id),
        ~sa.exists().where(DeferredSend.campaign_id == campaign_id, DeferredSend.lead_id == lead.id),
    ))
