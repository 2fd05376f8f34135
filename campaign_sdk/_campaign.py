"""``Campaign``: a handle on one stored campaign, reading fresh state on every access."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from campaign_sdk import analytics, service
from campaign_sdk._exceptions import LeadValidationError
from campaign_sdk._phone import PhoneNumberError, normalize_phone
from campaign_sdk.leads import LeadInput, LeadLoadReport, load_leads, template_variables
from campaign_sdk.models import ApprovalState, CampaignStatus, CampaignType
from campaign_sdk.models import Campaign as CampaignRow
from campaign_sdk.schemas import CampaignLeadSchema, CampaignSchema, ContentContext, preview_text
from campaign_sdk.templates import get_default_template

if TYPE_CHECKING:
    from campaign_sdk.client import CampaignClient

LEAD_COLUMNS = [
    "lead_id", "phone_number", "conversation_user_id", "status", "message_status", "error_code",
    "message_sid", "sent_at", "first_reply_at", "converted_at", "custom_variables",
]


class Campaign:
    """One campaign. Obtain it from ``client.create_campaign`` or ``client.campaign``."""

    def __init__(self, client: CampaignClient, campaign_id: int) -> None:
        self._client = client
        self.id = campaign_id

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
    def content(self) -> ContentContext:
        """The template as a validated content model."""
        return service.content_of(self._row())

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
    ) -> LeadLoadReport:
        """Add leads from a DataFrame, a CSV / Parquet path or ``CampaignLeadUser`` items.

        Every other column (or the ``variables`` subset) becomes a custom variable. All rows are
        validated; bad rows are reported in ``report.rejected``, never silently dropped. The load
        is atomic: on any exception nothing is stored. Re-running a load changes nothing.
        """
        with self._client.transaction() as session:
            return load_leads(
                session, service.get_campaign(session, self.id), data, phone_column=phone_column,
                user_id_column=user_id_column, default_region=default_region,
                variables=variables, strict=strict,
            )

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
        phones = []
        for raw in phone_numbers or ():
            try:
                phones.append(normalize_phone(raw, default_region))
            except PhoneNumberError as exc:
                raise LeadValidationError(f"cannot remove {raw!r}: {exc}") from None
        with self._client.transaction() as session:
            row = service.get_campaign(session, self.id)
            return service.remove_leads(session, row, phone_numbers=phones, user_ids=user_ids)

    @property
    def leads(self) -> pd.DataFrame:
        """One row per lead (not removed) with its status, message and custom variables."""
        facts = analytics.lead_facts(self._client.engine, campaign_ids=[self.id])
        return _lead_frame(self._client, facts)

    # -- lifecycle ------------------------------------------------------------------------
    def update(self, **changes: Any) -> Campaign:
        """Rename (``name=``) or, while unsubmitted or rejected, change ``content=`` /
        ``content_type=`` + ``content_context=`` / ``campaign_type=``."""
        with self._client.transaction() as session:
            service.update_campaign(session, service.get_campaign(session, self.id), **changes)
        return self

    def delete(self, *, force: bool = False) -> None:
        """Delete the campaign and its leads (``force=True`` if it has sent messages)."""
        with self._client.transaction() as session:
            service.delete_campaign(session, service.get_campaign(session, self.id), force=force)

    def submit_for_approval(self, *, category: str = "MARKETING", samples: Mapping[str, str] | None = None) -> Campaign:
        """Lint the template locally (refusing with every reason), then submit it for WhatsApp
        approval through the client's gateway, if any. The campaign becomes pending."""
        with self._client.transaction() as session:
            row = service.get_campaign(session, self.id)
            service.submit_for_approval(session, row, category=category, samples=samples or self._samples(row))
        return self

    def set_approval_status(self, state: ApprovalState | str, *, reason: str | None = None) -> Campaign:
        """Apply an approval outcome reported by WhatsApp (e.g. from a webhook or Twilio's
        console): any of unsubmitted, received, pending, approved, rejected, paused, disabled."""
        with self._client.transaction() as session:
            service.apply_approval_result(session, service.get_campaign(session, self.id), state, reason=reason)
        return self

    def enable(self) -> Campaign:
        """Enable an approved campaign (marketing: sends may start; service: triggers work)."""
        with self._client.transaction() as session:
            service.enable_campaign(session, service.get_campaign(session, self.id))
        return self

    def disable(self) -> Campaign:
        """Pause the campaign (``enabled`` becomes None)."""
        with self._client.transaction() as session:
            service.disable_campaign(session, service.get_campaign(session, self.id))
        return self

    # -- analytics ------------------------------------------------------------------------
    def metrics(self, **options: Any) -> pd.DataFrame:
        """This campaign's row of :meth:`CampaignClient.metrics` (same options)."""
        return self._client.metrics(campaigns=[self.id], **options)

    def to_schema(self, *, include_leads: bool = False) -> CampaignSchema:
        """The seed's ``CampaignSchema`` DTO for this campaign."""
        return self._client.schemas([self.id], include_leads=include_leads)[0]

    def _samples(self, row: CampaignRow) -> dict[str, str]:
        if row.template_key:
            return dict(get_default_template(row.template_key).samples)
        return {}

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
                "template": schema.content_type, "leads": f"{schema.total_leads:,}",
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


def schema_for(
    row: CampaignRow, metrics: Mapping[str, Any], keys: list[str], facts: pd.DataFrame | None
) -> CampaignSchema:
    """Assemble a CampaignSchema from precomputed pieces (no query)."""
    content = service.content_of(row)
    context_variables = (
        list(get_default_template(row.template_key).context_variables) if row.template_key else []
    )
    leads = None
    if facts is not None:
        mine = facts[facts["campaign_id"] == row.id]
        leads = [
            CampaignLeadSchema(
                id=int(f["lead_id"]), campaign_id=row.id, conversation_user_id=int(f["user_id"]),
                phone_number=f["phone_number"], custom_variables=f["custom_variables"],
                status=f["status"], error_code=f["error_code"], message_sid=f["message_sid"],
                created_at=f["lead_created_at"],
            )
            for f in _lead_records(mine)
        ]
    return CampaignSchema.from_model(
        row, metrics, custom_variable_keys=keys, context_variables=context_variables,
        body=preview_text(content, {}, missing="keep"), leads=leads,
    )


def _lead_records(facts: pd.DataFrame) -> list[dict[str, Any]]:
    import json

    frame = facts.assign(
        status=facts["lead_status"],
        custom_variables=facts["custom_variables"].map(lambda v: json.loads(v) if isinstance(v, str) else {}),
    )
    frame = frame.astype(object).where(frame.notna(), None)
    return frame.to_dict("records")


def _lead_frame(client: CampaignClient, facts: pd.DataFrame) -> pd.DataFrame:
    records = _lead_records(facts)
    frame = pd.DataFrame(records)
    if frame.empty:
        return pd.DataFrame(columns=LEAD_COLUMNS)
    frame = frame.rename(columns={"user_id": "conversation_user_id"})
    return frame[LEAD_COLUMNS].reset_index(drop=True)
