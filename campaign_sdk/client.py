"""``CampaignClient``: the one object users hold."""

from __future__ import annotations

import datetime as dt
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from campaign_sdk import analytics, delivery, experiments, inbox, sending, service
from campaign_sdk._campaign import Campaign
from campaign_sdk._exceptions import CampaignError, UnknownStatusWarning
from campaign_sdk._store import open_engine, safe_url
from campaign_sdk.delivery import DeliveryPolicy
from campaign_sdk.gateways import Gateway, SandboxGateway
from campaign_sdk.gateways._base import missing_members
from campaign_sdk.models import Campaign as CampaignRow
from campaign_sdk.models import CampaignType
from campaign_sdk.schemas import CampaignSchema, ContentContext
from campaign_sdk.schemas._dto import campaign_schema
from campaign_sdk.templates import default_templates, get_default_template

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
    ``postgresql+psycopg://...`` for PostgreSQL) or the path of a SQLite file (``"campaigns.db"``,
    a ``pathlib.Path``). The database is migrated to the latest schema
    on open. ``gateway`` is the messaging gateway: a ``TwilioGateway`` for real sends; by
    default a ``SandboxGateway(seed=0)``, a simulator that sends nothing to anybody. Any other
    gateway must have every member of the ``Gateway`` protocol; one that lacks some is refused
    with a ``TypeError`` naming them.
    """

    def __init__(self, url: str | os.PathLike[str] | sa.URL | None = None, *, gateway: Gateway | None = None, echo: bool = False) -> None:
        if gateway is not None and (missing := missing_members(gateway)):
            raise TypeError(f"{type(gateway).__name__} is not a Gateway: it lacks {', '.join(missing)} "
                            "(see campaign_sdk.gateways.Gateway; TwilioGateway and SandboxGateway have them all)")
        self.engine = open_engine(url, echo=echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.gateway: Gateway = gateway if gateway is not None else SandboxGateway(seed=0)
        # what the last change of delivery_policy did to the messages Twilio's scheduler held
        self.rescheduled: sending.RescheduleReport | None = None

    # -- plumbing -------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits on success and rolls back entirely on any exception."""
        with self._sessions.begin() as session:
            yield session

    def close(self) -> None:
        """Release the database connections (and the analytics mirror's)."""
        analytics.close_mirror(self.engine)
        inbox.close_inbox(self.engine)
        self.engine.dispose()

    def __enter__(self) -> CampaignClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<CampaignClient {safe_url(self.engine)}>"

    # -- delivery policy ------------------------------------------------------------------
    @property
    def delivery_policy(self) -> DeliveryPolicy | None:
        """The delivery policy of the campaigns that set none (``campaign.set_delivery``); None:
        the default (``DeliveryPolicy()``). Setting it is :meth:`set_delivery`.

        It is the store's, not this object's: kept in the store (``store_settings``, migration
        0015) and read from it at each use (one small SELECT), so every process on the store
        plans and sends with the same one: another client, ``campaign-sdk worker`` (at each of
        its passes, so a change reaches a running worker), the HTTP service. Set by any client,
        read by all."""
        with self._sessions() as session:
            return delivery.stored_client_policy(session)

    @delivery_policy.setter
    def delivery_policy(self, policy: DeliveryPolicy | None) -> None:
        self.set_delivery(policy)

    def set_delivery(self, policy: DeliveryPolicy | None) -> CampaignClient:
        """Store :attr:`delivery_policy` (None deletes it: the default) for every client and
        worker on the store, and check against it the messages Twilio's scheduler holds
        for the campaigns that set no policy of their own: one held at a moment it forbids
        (outside the send window in the recipient's zone, on a day it leaves out, over a
        frequency cap) is canceled at Twilio and its lead deferred to the next moment allowed
        (the worker sends it then, once); the others stay scheduled, untouched.
        :attr:`rescheduled` is the ``RescheduleReport`` of what was done. A held message Twilio
        had already sent counts as sent (``RescheduleWarning``); a ``CancelError`` lists the
        ones that could not be canceled (the policy is set all the same; set it again to retry).

        >>> client.delivery_policy = cs.DeliveryPolicy(window=cs.SendWindow(start="10:00", end="18:00"))  # doctest: +SKIP
        >>> client.rescheduled.deferred                         # doctest: +SKIP
        {'quiet_hours': 4}
        >>> cs.CampaignClient("campaigns.db").delivery_policy.window.end  # another process on the store  # doctest: +SKIP
        '18:00'
        """
        with self.transaction() as session:
            delivery.save_client_policy(session, policy)
        self.rescheduled = sending.reschedule_held(self._sessions, self.gateway, None, client_policy=policy)
        sending.raise_reschedule_failures(self.rescheduled, "the client's delivery_policy")
        return self

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
        language: str | None = None,
    ) -> Campaign:
        """Create a campaign from ``content`` (a content model), ``content_type`` +
        ``content_context`` (raw JSON), or ``template`` (a default template key). ``language`` is
        the template's WhatsApp locale (``en`` by default; e.g. ``en_US``, ``pt_BR``)."""
        with self.transaction() as session:
            row = service.create_campaign(
                session, name, campaign_type=campaign_type, content=content,
                content_type=content_type, content_context=content_context, template=template,
                language=language,
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
        keys = self._custom_variable_keys()
        # split the lead facts once, not once per campaign
        by_campaign = {} if facts is None else dict(tuple(facts.groupby("campaign_id")))
        return [
            campaign_schema(
                row, metrics.loc[row.id].to_dict(), keys.get(row.id, []),
                None if facts is None else by_campaign.get(row.id, facts.iloc[0:0]),
                content=service.content_of(row),
                context_variables=get_default_template(row.template_key).context_variables if row.template_key else (),
            )
            for row in rows
        ]

    def _custom_variable_keys(self) -> dict[int, list[str]]:
        """The custom variable keys of each campaign's (not removed) leads, in one DuckDB pass."""
        frame = self.sql(
            "select campaign_id, list(distinct k order by k) as keys from leads, "
            "unnest(json_keys(custom_variables::json)) as t(k) where removed_at is null group by 1"
        ).df()
        return {int(row.campaign_id): list(row.keys) for row in frame.itertuples()}

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
        ``error_code``. Idempotent; a status never moves a message backwards. A status the SDK
        does not know is stored verbatim (``unknown_status``) with an :class:`UnknownStatusWarning`.
        The rows go through the inbox, as webhooks do: a status for a SID not recorded yet is
        kept (``pending``) and applied when a send or ``sync()`` records the SID."""
        rows = _event_rows(events, "record_statuses")
        result = inbox.record(self._sessions, "status", rows, source="record_statuses")
        _warn_unknown(result)
        return _warn_refused(result, "record_statuses")

    def record_replies(self, events: pd.DataFrame | Sequence[Mapping[str, Any]]) -> service.RecordResult:
        """Store inbound messages: columns ``sid``, ``from``, ``body``, optional ``received_at``
        and ``button_payload``. STOP-family keywords opt the user out, START-family back in.
        Twilio does not cancel a scheduled message on STOP: the messages its scheduler holds for
        someone who opted out are canceled here, through the gateway; one that could not be
        raises an :class:`~campaign_sdk.sending.OptOutCancelWarning` and is tried again by the
        next ``record_replies``, ``sync``, ``send`` or ``run_due`` (their reports' notes say so)."""
        rows = _event_rows(events, "record_replies")
        result = _warn_refused(inbox.record(self._sessions, "reply", rows, source="record_replies"), "record_replies")
        # Twilio does not cancel a scheduled message on STOP: messages it holds for people who
        # opted out are canceled now (a failure warns, and the next call tries again)
        for note in sending.sweep_notes(self._sessions, self.gateway, failures_only=True):
            warnings.warn(note, sending.OptOutCancelWarning, stacklevel=2)
        return result

    def record_conversions(self, events: pd.DataFrame | Sequence[Mapping[str, Any]]) -> service.RecordResult:
        """Store conversions: columns ``external_id``, ``phone_number``, optional ``occurred_at``
        and ``value``. Idempotent by ``external_id``."""
        rows = _event_rows(events, "record_conversions")
        with self.transaction() as session:
            return service.record_conversions(session, rows)

    def pending_events(self, *, older_than: str | dt.timedelta | None = None) -> pd.DataFrame:
        """Events the inbox still holds: statuses waiting for their SID to be recorded (and any
        a recorder refused, ``state`` failed), oldest first, with ``age``. ``older_than``
        ("15m", "2h", a timedelta) keeps only those waiting at least that long. Nothing is
        ever dropped from here silently.

        >>> client.pending_events(older_than="1h")[["sid", "status", "age"]]  # doctest: +SKIP
        """
        age = None if older_than is None else analytics.parse_window(older_than)
        return inbox.pending_events(self.engine, older_than=age)

    # -- gateway sync ---------------------------------------------------------------------
    def sync(self) -> sending.SyncReport:
        """Pull message status updates and inbound replies from the gateway since the last sync
        and record them (STOP-family replies opt users out, and what Twilio's scheduler holds for
        them is canceled, see :meth:`record_replies`). Idempotent and resumable: running
        it twice, or again after an interruption, records nothing twice. Statuses the SDK does not
        know are stored verbatim with an :class:`UnknownStatusWarning`, never dropped."""
        report = sending.sync(self._sessions, self.gateway)
        _warn_unknown(report.statuses)
        return report

    def run_due(self, *, rate: float | None = None, max_in_flight: int = 16,
                retry: sending.RetryPolicy | None = None) -> sending.DueReport:
        """Send every deferred message that is due now (quiet hours over, scheduled moment
        reached), of every enabled campaign, exactly once; a paused campaign's messages wait and
        an expired campaign's are dropped (``skipped["expired"]``). ``campaign-sdk worker`` does
        the same in a loop. Safe to run in several processes at once on one PostgreSQL store.
        ``rate`` (messages per second, shared by every process on the store) defaults to the
        gateway's ``default_rate``; ``max_in_flight`` requests are under way at once. Only the
        messages deferred by a send on this gateway's channel, from its sender, are sent (an SMS
        campaign's wait for an SMS gateway, another Messaging Service's or number's for a gateway
        of theirs; the report's ``notes`` say so). A campaign without a policy of its own is
        planned again with the store's :attr:`delivery_policy` as it is now, whichever client or
        process set it.

        >>> import datetime as dt, pandas as pd, campaign_sdk as cs
        >>> sandbox = cs.SandboxGateway(start=dt.datetime(2026, 11, 2, 17, tzinfo=dt.UTC), realtime=False)
        >>> client = CampaignClient("sqlite:///:memory:", gateway=sandbox)
        >>> campaign = client.create_campaign("Later", template="order_confirmation")
        >>> _ = campaign.add_leads(pd.DataFrame({"phone_number": ["+14155552671"], "lead_name": ["Ana"],
        ...                                      "order_id": ["A-1"]}))
        >>> _ = campaign.submit_for_approval(category="UTILITY"), sandbox.advance(hours=48), campaign.sync_approval()
        >>> campaign.enable()
        <Campaign 1 'Later' marketing approved enabled>
        >>> campaign.schedule(at=sandbox.now() + dt.timedelta(hours=1), progress=False).deferred
        {'scheduled': 1}
        >>> client.run_due()                    # not due yet: it waits
        <DueReport claimed=0 sent=0 reconciled=0 failed=0 skipped={} moved={} unresolved=0 waiting=1 next_due=2026-11-04T18:00:00+00:00>
        >>> sandbox.advance(hours=1)            # an hour later
        datetime.datetime(2026, 11, 4, 18, 0, tzinfo=datetime.timezone.utc)
        >>> client.run_due()
        <DueReport claimed=1 sent=1 reconciled=0 failed=0 skipped={} moved={} unresolved=0 waiting=0>
        """
        return sending.run_due(
            self._sessions, self.gateway, rate=rate or self.gateway.default_rate,
            max_in_flight=max_in_flight, retry=retry,
        )  # the client policy: the store's, read by the worker at each batch

    def sync_approvals(self) -> pd.DataFrame:
        """Refresh the WhatsApp approval status of every campaign submitted through the gateway.

        One row per campaign: ``campaign_id``, ``campaign``, ``before``, ``after`` (Twilio's
        status), ``status`` (the campaign's), ``rejection_reason``, ``what_to_change`` (advice for
        a rejection) and ``error`` (when the gateway could not answer for that campaign; the
        others are still synced).
        """
        with self.transaction() as session:
            rows = list(session.scalars(
                sa.select(CampaignRow).where(CampaignRow.content_sid.is_not(None)).order_by(CampaignRow.id)
            ))
        records = []
        for row in rows:
            record = {"campaign_id": row.id, "campaign": row.name, "before": str(row.approval_state),
                      "after": str(row.approval_state), "status": str(row.status),
                      "rejection_reason": row.rejection_reason, "error": None}
            try:
                state = Campaign(self, row.id).sync_approval()
                with self.transaction() as session:
                    fresh = service.get_campaign(session, row.id)
                record.update(after=str(state), status=str(fresh.status), rejection_reason=fresh.rejection_reason)
            except CampaignError as exc:
                record["error"] = str(exc)
            records.append(record)
        for record in records:
            reason = record["rejection_reason"]
            record["what_to_change"] = service.rejection_advice(reason if isinstance(reason, str) else None)
        columns = ["campaign_id", "campaign", "before", "after", "status", "rejection_reason", "what_to_change",
                   "error"]
        return pd.DataFrame(records, columns=columns)

    # -- metrics --------------------------------------------------------------------------
    def metrics(
        self,
        *,
        campaigns: Iterable[int | str] | None = None,
        by: str | None = None,
        reply_window: str | dt.timedelta = analytics.DEFAULT_WINDOW,
        attribution_window: str | dt.timedelta = analytics.DEFAULT_WINDOW,
        start: str | dt.datetime | None = None,
        end: str | dt.datetime | None = None,
        shape: str = "wide",
    ) -> pd.DataFrame:
        """Funnel counts and rates per campaign (x ``by``: "day", "week", "campaign_type" or a
        custom variable such as "city"), definitions in the README. Every rate comes with its
        numerator, denominator and 95% Wilson interval; ``shape="long"`` gives one row per
        campaign x group x metric. ``start`` / ``end`` keep leads messaged in [start, end).

        >>> client.metrics(by="week", reply_window="3d")        # doctest: +SKIP
        >>> client.metrics(campaigns=["Black Friday"], shape="long")  # doctest: +SKIP
        """
        if shape not in ("wide", "long"):
            raise analytics.AnalyticsError(f"shape must be 'wide' or 'long', not {shape!r}")
        ids = None if campaigns is None else [self.campaign(c).id for c in campaigns]
        wide = analytics.campaign_metrics(
            self.engine, campaign_ids=ids, by=by, reply_window=reply_window,
            attribution_window=attribution_window, start=start, end=end,
        )
        return wide if shape == "wide" else analytics.to_long(wide)

    def lift(self, *, campaigns: Iterable[int | str] | None = None, **options: Any) -> pd.DataFrame:
        """:meth:`Campaign.lift` of every experiment campaign (or those named), in one frame.

        >>> client.lift(campaigns=["Spring test"], alpha=0.01)  # doctest: +SKIP
        """
        if campaigns is None:
            with self.transaction() as session:
                ids = list(session.scalars(
                    sa.select(CampaignRow.id).where(CampaignRow.experiment_seed.is_not(None)).order_by(CampaignRow.id)
                ))
        else:
            ids = [self.campaign(c).id for c in campaigns]
        frames = [Campaign(self, i).lift(**options) for i in ids]
        if not frames:
            return experiments.lift_table(
                experiments.Design("", {"treatment": 1.0}, None, None, None, None),
                experiments.ArmCounts.empty(), campaign_id=0, campaign="",
            ).iloc[0:0]
        return pd.concat(frames, ignore_index=True)

    def set_global_holdout(
        self, fraction: float, *, seed: str | None = None, start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> dict[str, Any]:
        """Keep a stable ``fraction`` of users (by phone number and ``seed``) out of every
        marketing campaign from ``start`` (default now) until ``end`` (default open): leads
        assigned meanwhile become ``global_holdout`` and are never sent. Service campaigns are
        never held out. Returns the holdout's id, seed, fraction and period."""
        with self.transaction() as session:
            row = experiments.set_global_holdout(session, fraction, seed=seed, start=start, end=end)
            return {"id": row.id, "seed": row.seed, "fraction": row.fraction, "start": row.starts_at,
                    "end": row.ends_at}

    def reply_times(
        self, *, campaigns: Iterable[int | str] | None = None, reply_window: str | dt.timedelta = analytics.DEFAULT_WINDOW
    ) -> pd.DataFrame:
        """Time from message to first reply, one row per replied lead (same attribution as
        :meth:`metrics`); ``analytics.reply_times_chart`` draws its histogram."""
        ids = None if campaigns is None else [self.campaign(c).id for c in campaigns]
        return analytics.reply_times(self.engine, campaign_ids=ids, reply_window=reply_window)

    def export(
        self, path: str | Any, *, reply_window: str | dt.timedelta = analytics.DEFAULT_WINDOW,
        attribution_window: str | dt.timedelta = analytics.DEFAULT_WINDOW,
    ) -> analytics.ExportReport:
        """Write the event tables (``message_events``, ``replies``, ``conversions``) under
        ``path`` as Parquet, partitioned by campaign and day, for a warehouse or a DuckDB /
        Spark cluster. Each event is written exactly once: running it again writes only the
        events that are new since the last export to ``path``. Replies and conversions carry
        the campaign they are attributed to (last touch within the windows; 0: none). The
        README's "Parquet export" section lists the columns.

        >>> client.export("exports/")  # doctest: +SKIP
        <ExportReport run 1: 4211 new events in 12 files>
        >>> duckdb.sql("select event, count(*) from 'exports/message_events/**/*.parquet' group by 1")  # doctest: +SKIP
        """
        return analytics.export_events(self.engine, path, reply_window=analytics.parse_window(reply_window),
                                       attribution_window=analytics.parse_window(attribution_window))

    def sql(self, query: str, params: Mapping[str, Any] | Sequence[Any] | None = None) -> Any:
        """A DuckDB relation over up-to-date views ``campaigns``, ``users``, ``leads``,
        ``messages``, ``replies`` (all inbound, with ``kind``) and ``conversions``.

        >>> client.sql("select kind, count(*) n from replies group by kind").df()  # doctest: +SKIP
        """
        return analytics.sql(self.engine, query, params)


def _warn_refused(result: service.RecordResult, what: str) -> service.RecordResult:
    refused = [u for u in result.unmatched if str(u.get("reason", "")).startswith("refused")]
    if refused:
        shown = "; ".join(f"{u['sid']}: {u['reason']}" for u in refused[:5])
        warnings.warn(f"{what}: {len(refused)} row(s) could not be applied and are kept in the inbox as failed "
                      f"(client.pending_events() lists them); the other rows were recorded. {shown}",
                      UserWarning, stacklevel=3)
    return result


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


def _warn_unknown(result: service.RecordResult) -> None:
    if result.unknown:
        shown = sorted({u["status"] for u in result.unknown})
        warnings.warn(
            UnknownStatusWarning(
                f"{len(result.unknown)} status update(s) carry a status this SDK does not know "
                f"({', '.join(map(repr, shown[:5]))}); they are stored verbatim in unknown_status and each "
                "message keeps its latest known status. Upgrade campaign_sdk if Twilio added a status"
            ),
            stacklevel=3,
        )
