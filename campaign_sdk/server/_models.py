"""Request and response bodies of the HTTP API (domain payloads are the SDK's own schemas)."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from campaign_sdk._enums import CampaignType
from campaign_sdk.schemas import CampaignLeadUser

T = TypeVar("T")


class IssueOut(BaseModel):
    """One problem: a field path, a stable rule code, and what to do."""

    field: str
    rule: str
    message: str


class ErrorBody(BaseModel):
    """Every error response: ``detail`` says what went wrong and what to do."""

    detail: str
    error: str | None = None
    issues: list[IssueOut] = Field(default_factory=list)


class Page(BaseModel, Generic[T]):
    """One page of a list: ``total`` items match the filters; ``items`` start at ``offset``."""

    items: list[T]
    total: int
    limit: int
    offset: int


class CampaignCreate(BaseModel):
    """A new campaign: give ``template`` (a default template key) or ``content_type`` plus
    ``content_context`` (the template's JSON, an object or a string)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    campaign_type: CampaignType = CampaignType.MARKETING
    content_type: str | None = None
    content_context: dict[str, Any] | str | None = None
    template: str | None = None
    language: str | None = Field(default=None, description="WhatsApp template locale, e.g. en, en_US, pt_BR (default en)")


class CampaignUpdate(BaseModel):
    """Changes to a campaign; content and type only while it is unsubmitted or rejected."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    campaign_type: CampaignType | None = None
    content_type: str | None = None
    content_context: dict[str, Any] | str | None = None


class LeadItem(BaseModel):
    """The JSON shape of :class:`~campaign_sdk.CampaignLeadUser` (a test pins them equal; ids
    are also capped at the largest id the store can hold).

    Only the shape is checked here; the lead rules (a valid number, exactly one identity) are
    ``CampaignLeadUser``'s, and a lead breaking them is reported as a rejected row.
    """

    model_config = ConfigDict(extra="forbid", strict=True, title="CampaignLeadUser")

    phone_number: StrictStr | None = None
    conversation_user_id: StrictInt | None = Field(default=None, gt=0, le=2**31 - 1)
    custom_variables: dict[StrictStr, StrictStr] = Field(default_factory=dict)

    def to_lead(self) -> CampaignLeadUser:
        return CampaignLeadUser.model_validate(self.model_dump(exclude_unset=True))


class RejectedRow(BaseModel):
    row: int
    column: str | None = None
    value: Any = None
    reason: str
    message: str


class MissingVariables(BaseModel):
    row: int
    phone_number: str | None = None
    missing: list[str]


class InvalidTimezone(BaseModel):
    """A stored lead whose ``timezone`` variable names no IANA zone: plans skip it until fixed."""

    row: int
    phone_number: str | None = None
    value: str
    suggestion: str | None = None  # the zone it probably means (e.g. Europe/Paris for europe/paris)


class LeadLoadOut(BaseModel):
    """The load report: counts, every rejected item (index in the request) and its reason, the
    stored leads lacking template variables and those whose ``timezone`` is no IANA zone name."""

    campaign: str
    total_rows: int
    inserted: int
    updated: int
    unchanged: int
    duplicates: int
    skipped_opted_out: int
    rejected: list[RejectedRow]
    missing_variables: list[MissingVariables]
    invalid_timezones: list[InvalidTimezone] = Field(default_factory=list)


class RemoveLeads(BaseModel):
    """Leads to remove, by phone number (any format add-leads takes) or conversation user id."""

    model_config = ConfigDict(extra="forbid")

    phone_numbers: list[str] = Field(default_factory=list)
    conversation_user_ids: list[Annotated[int, Field(gt=0, le=2**31 - 1)]] = Field(default_factory=list)
    default_region: str | None = Field(default=None, min_length=2, max_length=2)


class RemovedOut(BaseModel):
    removed: int


class TemplateOut(BaseModel):
    key: str
    title: str
    description: str
    content_type: str
    category: str
    context_variables: list[str]
    context: dict[str, Any]
    samples: dict[str, str]


class DraftIn(BaseModel):
    """A template draft to check without saving it."""

    model_config = ConfigDict(extra="forbid")

    content_type: str
    content_context: dict[str, Any] | str
    samples: dict[str, str] | None = None
    lead_columns: list[str] | None = None


class Counter(BaseModel):
    characters: int
    limit: int


class VariableOut(BaseModel):
    name: str
    number: str
    fields: list[str]
    source: str
    sample: str | None = None


class DraftOut(BaseModel):
    """``errors`` block saving (Twilio would refuse the content); ``warnings`` are what
    WhatsApp's approval or a send with the samples would reject - the widget's checks."""

    valid: bool
    errors: list[IssueOut]
    warnings: list[IssueOut]
    counters: dict[str, Counter]
    variables: list[VariableOut]


class MediaOut(BaseModel):
    url: str
    filename: str
    content_type: str
    size: int
    media: list[str]


class HealthOut(BaseModel):
    status: str
    database: str


class RecordOut(BaseModel):
    """What a webhook did: ``pending`` events are stored in the inbox and applied later (a
    status for a SID not recorded yet, or a store busy with a long write)."""

    applied: int
    ignored: int
    unmatched: list[dict[str, Any]]
    pending: int = 0
