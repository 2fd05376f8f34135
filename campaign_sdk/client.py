"""``CampaignClient``: the one object users hold."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from campaign_sdk import analytics, service
from campaign_sdk._campaign import Campaign
from campaign_sdk._exceptions import CampaignError
from campaign_sdk._store import open_engine, safe_url
from campaign_sdk.models import Campaign as CampaignRow
from campaign_sdk.models import CampaignType
from campaign_sdk.schemas import CampaignSchema, ContentContext
from campaign_sdk.templates import default_templates

_EVENT_COLUMNS = {
    "record_statuses": ("sid", "status"),
    "record_replies": ("sid", "from", "body"),
    "record_conversions": ("external_id", "phone_number"),
}


class CampaignClient:
    """Campaigns, leads, events and metrics on one store.

    >>> client = CampaignClient("sqlite:///:memory:")
    >>> campaign = client.create_campaign("Welcome", template="welcome_offer")
    >>> campaign.status
    <CampaignStatus.UNSUBMITTED: 'unsubmitted'>

    ``url`` is any SQLAlchemy URL (default ``sqlite:///campaigns.db`` in the working directory;
    ``postgresql+psycopg://...`` for PostgreSQL). The database is migrated to the latest schema
    on open. ``gateway`` is the messaging gateway (Twilio or the sandbox).
    """

    def __init__(self, url: str | sa.URL | None = None, *, gateway: Any = None, echo: bool = False) -> None:
        self.engine = open_engine(url, echo=echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.gateway = gateway

    # -- plumbing -------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits on success and rolls back entirely on any exception."""
        with self._sessions.begin() as session:
            yield session

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> CampaignClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<CampaignClient {safe_url(self.engine)}>"

    # -- campaigns ------------------------------------------------------------------------
    def create_campaign(
        self,
        name: str,
        *,
        campaign_type: CampaignType | str = CampaignType.MARKETING,
        content: ContentContext | None = None,
        content_type: str | None = None,
        content_context: Mapping[str, Any] | str | None = None,
        template: str | None = None,
    ) -> Campaign:
        """Create a campaign from ``content`` (a content model), ``content_type`` +
        ``content_context`` (raw JSON), or ``template`` (a default template key)."""
        with self.transaction() as session:
            row = service.create_campaign(
                session, name, campaign_type=campaign_type, content=content,
                content_type=content_type, content_context=content_context, template=template,
            )
            return Campaign(self, row.id)

    def campaign(self, id_or_name: int | str) -> Campaign:
        """Open a campaign by id or name (CampaignNotFoundError if there is none)."""
        with self.transaction() as session:
            return Campaign(self, service.get_campaign(session, id_or_name).id)

    def schemas(self, ids: Iterable[int] | None = None, *, include_leads: bool = False) -> list[CampaignSchema]:
        """``CampaignSchema`` for many campaigns, aggregates computed in one pass."""
        wanted = None if ids is None else list(ids)
        metrics = analytics.campaign_metrics(self.engine, campaign_ids=wanted).set_index("campaign_id")
        facts = analytics.lead_facts(self.engine, campaign_ids=wanted) if include_leads else None
        with self.transaction() as session:
            query = sa.select(CampaignRow).order_by(CampaignRow.id)
            if wanted is not None:
                query = query.where(CampaignRow.id.in_(wanted))
            rows = list(session.scalars(query))
            keys = _custom_variable_keys(session, [r.id for r in rows])
        from campaign_sdk._campaign import schema_for

        return [
            schema_for(row, metrics.loc[row.id].to_dict(), keys.get(row.id, []), facts)
            for row in rows
        ]

    def campaigns(self) -> pd.DataFrame:
        """All campaigns with the seed's fields, one row each (aggregates in one pass)."""
        schemas = self.schemas()
        columns = list(CampaignSchema.model_fields)
        columns.remove("leads")
        return pd.DataFrame([s.model_dump(exclude={"leads"}) for s in schemas], columns=columns)

    def default_templates(self) -> pd.DataFrame:
        """The catalogue of ready templates (key, content type, variables, category)."""
        return pd.DataFrame(
            [
                {
                    "key": t.key,
                    "title": t.title,
                    "content_type": t.content_type,
                    "category": t.category,
                    "context_variables": list(t.context_variables),
                    "description": t.description,
                }
                for t in default_templates()
            ]
        )

    # -- events ---------------------------------------------------------------------------
    def record_statuses(self, events: pd.DataFrame | Sequence[Mapping[str, Any]]) -> service.RecordResult:
        """Apply message status events: columns ``sid``, ``status``, optional ``timestamp`` and
        ``error_code``. Idempotent; a status never moves a message backwards."""
        rows = _event_rows(events, "record_statuses")
        with self.transaction() as session:
            return service.record_statuses(session, rows)

    def record_replies(self, events: pd.DataFrame | Sequence[Mapping[str, Any]]) -> service.RecordResult:
        """Store inbound messages: columns ``sid``, ``from``, ``body``, optional ``received_at``
        and ``button_payload``. STOP-family keywords opt the user out, START-family back in."""
        rows = _event_rows(events, "record_replies")
        with self.transaction() as session:
            return service.record_replies(session, rows)

    def record_conversions(self, events: pd.DataFrame | Sequence[Mapping[str, Any]]) -> service.RecordResult:
        """Store conversions: columns ``external_id``, ``phone_number``, optional ``occurred_at``
        and ``value``. Idempotent by ``external_id``."""
        rows = _event_rows(events, "record_conversions")
        with self.transaction() as session:
            return service.record_conversions(session, rows)

    # -- metrics --------------------------------------------------------------------------
    def metrics(
        self,
        *,
        campaigns: Iterable[int | str] | None = None,
        reply_window: str | dt.timedelta = "7d",
        attribution_window: str | dt.timedelta = "7d",
        shape: str = "wide",
    ) -> pd.DataFrame:
        """Funnel counts and rates per campaign (definitions in the README), every rate with a
        95% Wilson interval. ``shape="long"`` gives one row per campaign x metric."""
        ids = None if campaigns is None else [self.campaign(c).id for c in campaigns]
        wide = analytics.campaign_metrics(
            self.engine, campaign_ids=ids, reply_window=reply_window, attribution_window=attribution_window
        )
        if shape == "wide":
            return wide
        if shape == "long":
            return analytics.to_long(wide)
        raise ValueError(f"shape must be 'wide' or 'long', not {shape!r}")


def _event_rows(events: pd.DataFrame | Sequence[Mapping[str, Any]], what: str) -> list[dict[str, Any]]:
    frame = events if isinstance(events, pd.DataFrame) else pd.DataFrame(list(events))
    missing = [c for c in _EVENT_COLUMNS[what] if c not in frame.columns]
    if missing and not (what == "record_replies" and missing == ["body"]):
        raise CampaignError(
            f"{what} needs columns {list(_EVENT_COLUMNS[what])}; missing {missing} "
            f"(got {list(frame.columns)})"
        )
    frame = frame.astype(object).where(frame.notna(), None)
    return frame.to_dict("records")


def _custom_variable_keys(session: Session, ids: list[int]) -> dict[int, list[str]]:
    from campaign_sdk.models import CampaignLead

    keys: dict[int, set[str]] = {}
    rows = session.execute(
        sa.select(CampaignLead.campaign_id, CampaignLead.custom_variables).where(
            CampaignLead.campaign_id.in_(ids), CampaignLead.removed_at.is_(None)
        )
    )
    for campaign_id, variables in rows:
        keys.setdefault(campaign_id, set()).update(variables or {})
    return {k: sorted(v) for k, v in keys.items()}


def _html_table(rows: Mapping[str, Any]) -> str:
    cells = "".join(
        f"<tr><th style='text-align:left'>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in rows.items()
    )
    return f"<table>{cells}</table>"
