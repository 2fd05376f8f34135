"""Business rules on a SQLAlchemy Session (the seed's "Service" page).

Functions here never import the client, widgets or pandas-facing code, and never commit: the
caller owns the transaction, so a failure leaves nothing half-written. Gateways are passed in.
"""

from __future__ import annotations

from campaign_sdk.service._campaigns import (
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

__all__ = [
    "APPROVAL_CATEGORIES",
    "HELP_KEYWORDS",
    "NormalizedLead",
    "OPT_IN_KEYWORDS",
    "OPT_OUT_KEYWORDS",
    "RecordResult",
    "UpsertCounts",
    "apply_approval_result",
    "classify_inbound",
    "content_of",
    "create_campaign",
    "default_approval_name",
    "delete_campaign",
    "disable_campaign",
    "enable_campaign",
    "ensure_users",
    "get_campaign",
    "mark_opted_out",
    "record_conversions",
    "record_replies",
    "record_statuses",
    "remove_leads",
    "submit_for_approval",
    "update_campaign",
]
