"""``Campaign``: a handle on one stored campaign, reading fresh state on every access."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from campaign_sdk import analytics, delivery, experiments, sending, service
from campaign_sdk._experiment_api import ExperimentMixin
from campaign_sdk._exceptions import CampaignStateError, InvalidArgumentError, LeadValidationError
from campaign_sdk.gateways import SentMessage
from campaign_sdk.leads import LeadInput, LeadLoadReport, load_leads, template_variables
from campaign_sdk.models import ApprovalState, CampaignStatus, CampaignType
from campaign_sdk.models import Campaign as CampaignRow
from campaign_sdk.phones import normalize_phones
from campaign_sdk.schemas import CampaignSchema, ContentContext
from campaign_sdk.schemas._dto import lead_records

if TYPE_CHECKING:
    from campaign_sdk.client import CampaignClient

LEAD_COLUMNS = [
    "lead_id", "phone_number", "conversation_user_id", "status", "reason", "due_at", "skipped_at",
    "message_status", "error_code", "message_sid", "sent_at", "first_reply_at", "converted_at",
    "custom_variables", "variant",
]


class Campaign(ExperimentMixin):
    """One campaign. Obtain it from ``client.create_campaign`` or ``client.campaign``."""

    def __init__(self, client: CampaignClient, campaign_id: int) -> None:
        self._client = client
        self.id = campaign_id
        # what the last set_delivery() did to the messages Twilio's scheduler held
        self.rescheduled: sending.RescheduleReport | None = None

    def _row(self) -> CampaignRow:
        with self._client.transaction() as session:
            return service.get_campaign(session, self.id)

    # -- state ----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._row().name

    @property
    def status(self) -> CampaignStatus:
        """unsubmitted, pending, approved or rejected."""
        return self._row().status

    @property
    def approval_state(self) -> ApprovalState:
        """WhatsApp's own status (received, paused, disabled ... as Twilio reports it)."""
        return self._row().approval_state

    @property
    def enabled(self) -> dt.datetime | None:
        """When the campaign was enabled; None means paused."""
        return self._row().enabled

    @property
    def campaign_type(self) -> CampaignType:
        return self._row().campaign_type

    @property
    def language(self) -> str:
        """The template's WhatsApp locale (``en`` by default), sent with the Content resource."""
        return self._row().language

    @property
    def approval_samples(self) -> dict[str, str]:
        """The example values submitted for approval, by variable name (empty before a submission)."""
        return dict(self._row().approval_samples or {})

    @property
    def rejection(self) -> str | None:
        """Why WhatsApp rejected the template and what to change (None unless rejected).

        >>> print(campaign.rejection)  # doctest: +SKIP
        INVALID_FORMAT
        What to change: remove tabs, line breaks in values and runs of more than 4 spaces; ...
        """
        reason = self._row().rejection_reason
        if not reason:
            return None
        return f"{reason}\nWhat to change: {service.rejection_advice(reason)}"

    @property
    def content(self) -> ContentContext:
        """The template as a validated content model."""
        return service.content_of(self._row())

    @property
    def expires_at(self) -> dt.datetime | None:
        """After this moment no message of the campaign is sent (None: never expires)."""
        return self._row().expires_at

    @property
    def variables(self) -> list[str]:
        """The variables every lead needs for its message (in order of first appearance)."""
        return template_variables(self._row())

    # -- leads ----------------------------------------------------------------------------
    def add_leads(
        self,
        data: LeadInput,
        *,
        phone_column: str = "phone_number",
        user_id_column: str | None = None,
        default_region: str | None = None,
        variables: Sequence[str] | None = None,
        strict: bool = False,
        progress: bool | None = None,
        chunk_size: int = 200_000,
        encoding: str | None = None,
    ) -> LeadLoadReport:
        """Add leads from a DataFrame, a CSV / Parquet / ``.xlsx`` path or ``CampaignLeadUser`` items.

        Phone numbers are normalised to E.164 with libphonenumber's verdicts (``+`` / ``00``
        international input; national input for ``default_region``; ``whatsapp:`` prefixes).
        Rows with a ``user_id_column`` value name an existing conversation user instead. Every
        other column (or the ``variables`` subset) becomes a custom variable (strings; empty,
        NaN and None are missing, and in a CSV pandas' NA markers such as ``NA`` / ``nan`` too).
        Bad rows are reported in ``report.rejected`` with a reason, never silently dropped;
        ``strict=True`` also rejects rows lacking a template variable.
        Duplicates collapse (the last row wins); people who opted out are skipped.

        The load is atomic (an exception or Ctrl-C stores nothing), re-running it changes
        nothing, and a large file is read in chunks of ``chunk_size`` rows. ``progress``
        shows a progress bar (None: only for large inputs; False: never). A CSV's delimiter
        (``,`` ``;`` tab ``|``), UTF-8 BOM and header line are detected and reported in
        ``report.input_format``; ``encoding`` reads a CSV that is not UTF-8 (e.g. ``"cp1252"``).

        >>> report = campaign.add_leads("leads.csv", default_region="US")  # doctest: +SKIP
        >>> report.inserted, report.rejected.head()                       # doctest: +SKIP
        """
        with self._client.transaction() as session:
            report = load_leads(
                session, service.get_campaign(session, self.id), data, phone_column=phone_column,
                user_id_column=user_id_column, default_region=default_region,
                variables=variables, strict=strict, progress=progress, chunk_size=chunk_size,
                encoding=encoding,
            )
            experiments.assign_leads(session, service.get_campaign(session, self.id))  # arms, same transaction
            return report

    def remove_leads(
        self,
        phone_numbers: Iterable[str] | pd.DataFrame | None = None,
        *,
        user_ids: Iterable[int] = (),
        phone_column: str = "phone_number",
        default_region: str | None = None,
    ) -> int:
        """Soft-remove leads by phone numbers (any format ``add_leads`` takes), a DataFrame's
        phone column, or conversation user ids. Returns how many leads were removed now."""
        if isinstance(phone_numbers, pd.DataFrame):
            if phone_column not in phone_numbers.columns:
                raise LeadValidationError(f"the DataFrame has no {phone_column!r} column")
            phone_numbers = phone_numbers[phone_column].tolist()
        raw = list(phone_numbers or ())
        verdicts = normalize_phones(raw, default_region)
        bad = [i for i, reason in enumerate(verdicts.reason.tolist()) if reason]
        if bad:
            messages = verdicts.messages([raw[i] for i in bad[:10]], bad[:10])
            shown = "\n".join(f"  - item {i}: {m}" for i, m in zip(bad, messages))
            raise LeadValidationError(
                f"cannot remove leads: {len(bad)} of {len(raw)} phone numbers are unusable "
                f"(nothing was removed):\n{shown}\nFix or drop them (or pass default_region for national numbers)."
            )
        phones = [p for p in verdicts.e164.to_pylist() if p is not None]
        with self._client.transaction() as session:
            row = service.get_campaign(session, self.id)
            return service.remove_leads(session, row, phone_numbers=phones, user_ids=user_ids)

    @property
    def leads(self) -> pd.DataFrame:
        """One row per lead (not removed) with its status (:class:`~campaign_sdk.LeadStatus`), what
        explains a lead without a message yet (``reason``: why it is deferred or skipped; ``due_at``:
        when a deferred or Twilio-scheduled message goes; ``skipped_at``), its message and custom
        variables. Times are naive UTC."""
        facts = analytics.lead_facts(self._client.engine, campaign_ids=[self.id])
        return _lead_frame(self._client, facts)

    # -- lifecycle ------------------------------------------------------------------------
    def update(self, **changes: Any) -> Campaign:
        """Rename (``name=``) or, while unsubmitted or rejected, change ``content=`` /
        ``content_type=`` + ``content_context=`` / ``campaign_type=``."""
        with self._client.transaction() as session:
            row = service.get_campaign(session, self.id)
            if row.variants and {"content", "content_context"} & set(changes):
                raise InvalidArgumentError(
                    f"campaign {row.name!r} sends its variants' contents; change them with "
                    "campaign.set_experiment({...}) instead of update(content=...)"
                )
            service.update_campaign(session, row, **changes)
        return self

    def delete(self, *, force: bool = False) -> None:
        """Delete the campaign and its leads (``force=True`` if it has sent messages)."""
        with self._client.transaction() as session:
            service.delete_campaign(session, service.get_campaign(session, self.id), force=force)

    def submit_for_approval(self, *, category: str = "MARKETING", samples: Mapping[str, str] | None = None) -> Campaign:
        """Lint the template locally (refusing with every reason), then create the Content
        resource (in the campaign's :attr:`language`) and submit it for WhatsApp approval through
        the client's gateway. The campaign becomes pending; follow it with :meth:`sync_approval`.

        ``samples`` are example values by variable name, declared by you: Twilio refuses an
        approval request without one per variable, and Meta's reviewers read them, so never use
        a customer's data. They are merged over the ones stored with the campaign (and a default
        template's own). The category must fit the content (AUTHENTICATION only for
        whatsapp/authentication). If the gateway refuses, nothing is recorded and the state is
        unchanged.

        >>> campaign.submit_for_approval(category="UTILITY", samples={"lead_name": "Ana"})  # doctest: +SKIP
        """
        with self._client.transaction() as session:
            row = service.get_campaign(session, self.id)
            chosen = sending.pick_samples(session, row, samples)
            variant_samples = experiments.check_variants(session, row, samples)  # lint all before any request
            sending.submit(session, row, self._client.gateway, category=category, samples=chosen)
            experiments.submit_variants(session, row, self._client.gateway, variant_samples)
        return self

    def register_content(self) -> Campaign:
        """Create the Content resource of a service campaign's template without an approval
        request: a template WhatsApp has not approved (or never approves: list-picker, location)
        goes only inside the person's 24-hour customer-service window, free-form. Then
        :meth:`enable` and :meth:`trigger` work, and :meth:`plan` shows ``outside_service_window``
        for the people outside it; a trigger to someone outside it is refused with that reason.

        >>> menu = client.create_campaign("Menu", content=picker, campaign_type="service")  # doctest: +SKIP
        >>> menu.register_content().enable()  # doctest: +SKIP
        """
        with self._client.transaction() as session:
            sending.register(session, service.get_campaign(session, self.id), self._client.gateway)
        return self

    def sync_approval(self) -> ApprovalState:
        """Ask the gateway for the template's WhatsApp status and record it (any of Twilio's
        seven: unsubmitted, received, pending, approved, rejected with its reason, paused,
        disabled). Rejected, paused or disabled templates stop the campaign. Returns the state.

        >>> campaign.sync_approval()  # doctest: +SKIP
        <ApprovalState.PENDING: 'pending'>
        """
        with self._client.transaction() as session:
            row = service.get_campaign(session, self.id)
        result = sending.fetch(row, self._client.gateway)
        with self._client.transaction() as session:
            row = service.get_campaign(session, self.id)
            service.apply_approval_result(session, row, result.state, reason=result.reason)
            experiments.sync_variants(session, row, self._client.gateway)  # every variant's approval
            return row.approval_state

    def set_approval_status(
        self, state: ApprovalState | str, *, reason: str | None = None, variant: str | None = None
    ) -> Campaign:
        """Apply an approval outcome reported by WhatsApp (e.g. from a webhook or Twilio's
        console): any of unsubmitted, received, pending, approved, rejected, paused, disabled.

        An experiment's variants are separate templates: name the one decided on with
        ``variant=`` (required when the campaign has variants). The campaign's own status then
        follows its variants: rejected, paused or disabled when one of them is (the reason names
        it), else as far along as the least advanced one: approved when all are."""
        with self._client.transaction() as session:
            experiments.set_variant_approval(session, service.get_campaign(session, self.id), state,
                                             variant=variant, reason=reason)
        return self

    def enable(self) -> Campaign:
        """Enable an approved campaign (marketing: sends may start; service: triggers work)."""
        with self._client.transaction() as session:
            service.enable_campaign(session, service.get_campaign(session, self.id))
        return self

    def disable(self) -> Campaign:
        """Pause the campaign (``enabled`` becomes None) and cancel the messages it handed to
        Twilio's scheduler (:meth:`cancel_scheduled`): a canceled lead is planned and sent again by
        the next :meth:`send` after :meth:`enable`, once. Raises ``CancelError`` (the campaign is
        paused all the same) when some could not be canceled; messages Twilio already sent stay sent."""
        with self._client.transaction() as session:
            row = service.disable_campaign(session, service.get_campaign(session, self.id))
            name = row.name
        if self._client.gateway is not None:
            sending.raise_failures(self.cancel_scheduled(), name)
        return self

    def cancel_scheduled(self) -> sending.CancelReport:
        """Cancel this campaign's messages that Twilio's scheduler still holds (status ``scheduled``)
        and free their leads; returns a ``CancelReport`` (canceled, already sent, failed). Safe to
        call again: :meth:`disable` calls it, and a failed cancel is retried by calling it again."""
        if self._client.gateway is None:
            raise CampaignStateError("the client has no gateway; pass gateway=TwilioGateway(...) to CampaignClient")
        return sending.cancel_scheduled(self._client._sessions, self._client.gateway, self.id)

    # -- delivery -------------------------------------------------------------------------
    def set_delivery(
        self, policy: delivery.DeliveryPolicy | None = None, *, expires_at: dt.datetime | None = None,
    ) -> Campaign:
        """Store this campaign's delivery policy (None: use the client's ``delivery_policy``) and
        its expiry (None: never); a message is never sent after ``expires_at``.

        The messages Twilio's scheduler holds for this campaign are checked against them at their
        SendAt (``sending.reschedule_held``): one held at a moment they forbid (outside the send
        window in the recipient's zone, on a day it leaves out, over a frequency cap, after
        ``expires_at``) is canceled at Twilio and its lead deferred to the next moment allowed (the
        worker sends it then, once) or skipped (``expired``); the others stay scheduled, untouched.
        ``self.rescheduled`` is the ``RescheduleReport`` of what was done. A held message Twilio
        had already sent counts as sent (``RescheduleWarning``); a ``CancelError`` lists the ones
        that could not be canceled (the policy and expiry are stored all the same; call
        ``set_delivery`` again to retry).

        >>> campaign.set_delivery(cs.DeliveryPolicy(caps=[{"limit": 1, "per": "24h"}]),
        ...                       expires_at=dt.datetime(2026, 12, 24, tzinfo=dt.UTC))  # doctest: +SKIP
        >>> campaign.rescheduled                                # doctest: +SKIP
        <RescheduleReport checked=3 kept=2 canceled=1 deferred=1 skipped=0 already_sent=0 failed=0>
        """
        with self._client.transaction() as session:
            row = service.get_campaign(session, self.id)
            row.delivery_policy = policy.model_dump(mode="json") if policy is not None else None
            row.expires_at = None if expires_at is None else delivery.utc(expires_at)
            name = row.name
        self.rescheduled = sending.reschedule_held(self._client._sessions, self._client.gateway, [self.id],
                                                   client_policy=self._client.delivery_policy)
        sending.raise_reschedule_failures(self.rescheduled, f"campaign {name!r}")
        return self

    def plan(
        self, *, at: dt.datetime | str | None = None, local_time: str | None = None,
        policy: delivery.DeliveryPolicy | None = None, prices: Any = None,
        messaging_tier: int | None = None, now: dt.datetime | None = None,
    ) -> delivery.DeliveryPlan:
        """What a send will do, person by person, without sending: a DataFrame, one row per lead,
        with ``action`` (send / defer / skip), ``reason``, the recipient's zone(s) and local send
        time, the UTC moment, the rendered message, SMS segments and the estimated cost.
        ``plan.summary()`` totals it by action, reason, local hour and country.

        ``at`` (one moment; without a zone it is UTC) or ``local_time="10:00"`` (each recipient
        at 10:00 in their zone; on a day the window forbids, at 10:00 on the next allowed day)
        schedule the send; ``policy`` overrides the campaign's (and the client's) delivery
        policy; ``prices`` is a table (country, channel, category, price, currency) used instead
        of the gateway's; ``messaging_tier`` is WhatsApp's messaging limit: unique users per rolling
        24 h outside their service window, per business portfolio (shared by all its numbers).

        >>> plan = campaign.plan(local_time="10:00")            # doctest: +SKIP
        >>> plan.summary()                                      # doctest: +SKIP
        """
        gateway = self._client.gateway
        self._assign()
        with self._client.transaction() as session:
            row = service.get_campaign(session, self.id)
            chosen, source = delivery.policy_choice(row, given=policy, client_policy=self._client.delivery_policy)
            problems = sending.blockers(row, gateway, campaign_type=row.campaign_type)
            arms = delivery.plan_arms(row, gateway.channel)
        return delivery.plan_campaign(
            self._client.engine, row, gateway, arms=arms, policy=chosen,
            at=at, local_time=local_time, prices=prices, messaging_tier=messaging_tier, now=now,
            problems=problems, policy_source=source,
        )

    # -- sending --------------------------------------------------------------------------
    def preflight(self, *, rate: float | None = None, sample: int = 3) -> sending.Preflight:
        """What :meth:`send` would do now, without sending (a view of :meth:`plan`): leads sent
        now, leads deferred (by reason, with the next and the last due moment), leads skipped and
        why (opted out, already messaged, missing variables -> would fail 21656, invalid number,
        removed, frequency cap, held out), a rendered preview, approval and enabled state, and the
        estimated duration of the requests the send makes now at ``rate`` (default: the gateway's)."""
        return self._preflight(rate=rate, sample=sample)[0]

    def _preflight(self, *, rate: float | None, sample: int = 3) -> tuple[sending.Preflight, delivery.DeliveryPlan]:
        gateway = self._client.gateway
        plan = self.plan()  # assigns experiment arms first
        with self._client.transaction() as session:
            row = service.get_campaign(session, self.id)
            check = sending.preflight(session, row, gateway, plan=plan, rate=rate or gateway.default_rate, sample=sample)
        return check, plan

    def send(
        self,
        *,
        rate: float | None = None,
        max_in_flight: int = 16,
        dry_run: bool = False,
        progress: bool = True,
        retry: sending.RetryPolicy | None = None,
        at: dt.datetime | str | None = None,
        local_time: str | None = None,
    ) -> sending.SendReport:
        """Send the template to every sendable lead, at most once each; returns a ``SendReport``.

        The delivery policy (:meth:`plan`) decides per lead: due now, *deferred* to the next
        allowed moment (quiet hours in the recipient's zone, ``at=`` / ``local_time=``, WhatsApp's
        messaging limit; never dropped, never early: ``client.run_due()`` or ``campaign-sdk
        worker`` sends them when due) or skipped (``frequency_cap``, ``expired``, ...: counted in
        ``report.skipped``).

        Only an approved, enabled marketing campaign sends. ``rate`` caps messages per second
        (default: the gateway's), ``max_in_flight`` caps concurrent requests. 429 / 20429, 5xx
        and connection errors are retried with backoff (after checking Twilio's message list when
        the request may have been processed); permanent errors (21211, 21610 -> opt-out, 63024,
        ...) are recorded on the lead. Safe to call again after a crash, an interruption or
        :meth:`disable`: it resumes and never sends a lead twice. ``dry_run=True`` only reports
        what the send would report now (nothing is sent): its requests (``to_send``: sent now or handed
        to Twilio's scheduler), the leads the worker would hold (``deferred``, ``next_due``) and the skipped.
        ``progress=False`` hides the progress bar.
        """
        gateway = self._client.gateway
        rate = rate or gateway.default_rate
        if dry_run:
            return sending.dry_run(*self._preflight(rate=rate))
        if gateway is None:
            raise CampaignStateError("the client has no gateway; pass gateway=TwilioGateway(...) to CampaignClient")
        self._assign()
        return sending.send_campaign(
            self._client._sessions, gateway, self.id, rate=rate, max_in_flight=max_in_flight,
            retry=retry, progress=progress, client_policy=self._client.delivery_policy,
            at=at, local_time=local_time,
        )

    def schedule(
        self, *, at: dt.datetime | str | None = None, local_time: str | None = None, **options: Any,
    ) -> sending.SendReport:
        """Send at ``at`` (one moment; a datetime or ISO string without a zone is UTC, as the
        store's times are: give ``tzinfo`` for another zone) or at ``local_time="10:00"`` in each
        recipient's zone: :meth:`send` with a schedule. Deferred messages are held by Twilio's scheduler when the
        gateway sends through a Messaging Service and the moment is in Twilio's SendAt window,
        else by the local worker (``client.run_due()`` / ``campaign-sdk worker``).

        >>> campaign.schedule(local_time="10:00")   # doctest: +SKIP
        """
        if at is None and local_time is None:
            raise InvalidArgumentError("schedule() needs at= (a moment) or local_time= ('10:00'); use send() to send now")
        return self.send(at=at, local_time=local_time, **options)

    def trigger(
        self, lead_or_phone: int | str, variables: Mapping[str, Any] | None = None, *, key: str | None = None,
        retry: sending.RetryPolicy | None = None,
    ) -> SentMessage:
        """Send one transactional message of this (enabled, approved) service campaign to a lead
        (id) or a phone number (added as a lead if new), with ``variables`` on top of the lead's
        own. ``key`` makes retries safe: the same key never sends twice. ``retry`` as in :meth:`send`.
        The delivery policy applies as in :meth:`plan` (``service_window``, ``expires_at``, WhatsApp's
        messaging limit): a message the plan would defer or skip is not sent but refused with
        :class:`~campaign_sdk.sending.TriggerRefused`, whose ``reason`` and ``retry_at`` say why and
        from when a trigger is allowed; it is never deferred.

        >>> campaign.trigger("+14155552671", {"order_id": "A-7"}, key="order-A-7")  # doctest: +SKIP
        SentMessage(sid='SM...', status='accepted', ...)
        """
        return sending.trigger(
            self._client._sessions, self._client.gateway, self.id, lead_or_phone, variables, key=key, retry=retry,
            client_policy=self._client.delivery_policy,
        )

    # -- analytics ------------------------------------------------------------------------
    def metrics(self, **options: Any) -> pd.DataFrame:
        """This campaign's rows of :meth:`CampaignClient.metrics` (same options: ``by``,
        ``reply_window``, ``attribution_window``, ``start``, ``end``, ``shape``)."""
        return self._client.metrics(campaigns=[self.id], **options)

    def funnel(
        self, *, reply_window: str | dt.timedelta = analytics.DEFAULT_WINDOW,
        attribution_window: str | dt.timedelta = analytics.DEFAULT_WINDOW, by: str | None = None,
    ) -> pd.DataFrame:
        """sent -> delivered -> read -> replied -> converted (per ``by`` group, e.g. "variant"):
        leads at each step, the step rate
        (with its 95% Wilson interval) and the rate of sent. Draw it with
        ``campaign_sdk.analytics.funnel_chart(campaign.funnel())``."""
        return analytics.funnel(
            self._client.engine, campaign_ids=[self.id], reply_window=reply_window,
            attribution_window=attribution_window, by=by,
        )

    def to_schema(self, *, include_leads: bool = False) -> CampaignSchema:
        """The seed's ``CampaignSchema`` DTO for this campaign."""
        return self._client.schemas([self.id], include_leads=include_leads)[0]

    # -- display --------------------------------------------------------------------------
    def __repr__(self) -> str:
        try:
            row = self._row()
            state = "enabled" if row.enabled else "paused"
            return f"<Campaign {row.id} {row.name!r} {row.campaign_type} {row.status} {state}>"
        except Exception:
            return f"<Campaign {self.id}>"

    def _repr_html_(self) -> str:
        try:
            schema = self.to_schema()
            fields = {
                "id": schema.id, "type": schema.campaign_type.value, "status": schema.status.value,
                "WhatsApp": schema.approval_state.value,
                "enabled": schema.enabled.isoformat(timespec="seconds") if schema.enabled else "paused",
                "template": schema.content_type, "experiment": self._experiment_summary() or "none",
                "leads": f"{schema.total_leads:,}",
                "sent": f"{schema.messages_sent:,}", "replied": f"{schema.messages_replied:,}",
                "reply rate": _pct(schema.reply_rate), "conversion rate": _pct(schema.conversion_rate),
            }
            cells = "".join(
                f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                for k, v in fields.items()
            )
            body = html.escape((schema.body or "")[:300])
            return (
                f"<div><strong>Campaign {html.escape(schema.name)}</strong><table>{cells}</table>"
                f"<pre style='white-space:pre-wrap'>{body}</pre></div>"
            )
        except Exception:
            return html.escape(repr(self))


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}%"


def _lead_frame(client: CampaignClient, facts: pd.DataFrame) -> pd.DataFrame:
    records = lead_records(facts)
    frame = pd.DataFrame(records)
    if frame.empty:
        return pd.DataFrame(columns=LEAD_COLUMNS)
    frame = frame.rename(columns={"user_id": "conversation_user_id"})
    return frame[LEAD_COLUMNS].reset_index(drop=True)
