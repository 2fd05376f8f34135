"""Business rules on a SQLAlchemy Session (the seed's "Service" page).

Functions here never import the client, widgets or pandas-facing code, and never commit: the
caller owns the transaction, so a failure leaves nothing half-written. Gateways are passed in.
"""

from __future__ import annotations

from campaign_sdk.service._approval import check_language, rejection_advice
from campaign_sdk.service._campaigns import (
    check_session_content,
    sends_without_approval,
    APPROVAL_CATEGORIES,
    apply_approval_result,
    content_of,
    create_campaign,
    default_approval_name,
    delete_campaign,
    disable_campaign,
    enable_campaign,
    get_campaign,
    submit_for_approval,
    update_campaign,
)
from campaign_sdk.service._events import (
    HELP_KEYWORDS,
    OPT_IN_KEYWORDS,
    OPT_OUT_KEYWORDS,
    RecordResult,
    classify_inbound,
    ensure_users,
    mark_opted_out,
    record_conversions,
    record_replies,
    record_statuses,
)
from campaign_sdk.service._leads import NormalizedLead, UpsertCounts, remove_leads, upsert_leads
from campaign_sdk.service._jobs import JOB_TTL, beat_job, finish_job, get_job, message_status_counts, start_job
from campaign_sdk.service._listing import list_campaigns
from campaign_sdk.service._media import MAX_MEDIA_BYTES, MEDIA_TYPES, MediaType, attach_media, check_media
from campaign_sdk.service._messages import (
    INVALID_NUMBER,
    SKIP_REASONS,
    LeadCandidate,
    create_intents,
    dedupe_key,
    known_sids,
    lead_candidates,
    oldest_unsettled,
    open_intents,
    record_accepted,
    record_rejected,
    release_intents,
    skip_reason,
)

__all__ = [
    "APPROVAL_CATEGORIES",
    "check_language",
    "check_session_content",
    "sends_without_approval",
    "rejection_advice",
    "HELP_KEYWORDS",
    "INVALID_NUMBER",
    "JOB_TTL",
    "LeadCandidate",
    "MAX_MEDIA_BYTES",
    "MEDIA_TYPES",
    "MediaType",
    "NormalizedLead",
    "OPT_IN_KEYWORDS",
    "OPT_OUT_KEYWORDS",
    "RecordResult",
    "SKIP_REASONS",
    "UpsertCounts",
    "apply_approval_result",
    "attach_media",
    "beat_job",
    "check_media",
    "classify_inbound",
    "content_of",
    "create_campaign",
    "create_intents",
    "dedupe_key",
    "default_approval_name",
    "delete_campaign",
    "disable_campaign",
    "enable_campaign",
    "ensure_users",
    "finish_job",
    "get_campaign",
    "get_job",
    "known_sids",
    "lead_candidates",
    "list_campaigns",
    "mark_opted_out",
    "message_status_counts",
    "oldest_unsettled",
    "open_intents",
    "record_accepted",
    "record_conversions",
    "record_rejected",
    "record_replies",
    "record_statuses",
    "release_intents",
    "remove_leads",
    "skip_reason",
    "start_job",
    "submit_for_approval",
    "update_campaign",
    "upsert_leads",
]
