"""SQLAlchemy 2.0 models: the system of record (the seed's "Models & Constants" page).

Imports only the enums (``campaign_sdk._enums``); business rules live in ``campaign_sdk.service``.
"""

from __future__ import annotations

from campaign_sdk._enums import (
    ApprovalState,
    CampaignStatus,
    CampaignType,
    LeadStatus,
    MessageStatus,
)
from campaign_sdk.models._tables import (
    Base,
    Campaign,
    CampaignLead,
    CampaignVariant,
    Conversion,
    ConversationUser,
    DeferredSend,
    GlobalHoldout,
    InboundKind,
    InboundMessage,
    InboxEvent,
    OutboundMessage,
    RowDeletion,
    StoreSetting,
    SyncState,
    UTCDateTime,
    utcnow,
)

__all__ = [
    "ApprovalState",
    "Base",
    "Campaign",
    "CampaignLead",
    "CampaignStatus",
    "CampaignVariant",
    "CampaignType",
    "Conversion",
    "ConversationUser",
    "DeferredSend",
    "GlobalHoldout",
    "InboundKind",
    "InboundMessage",
    "InboxEvent",
    "LeadStatus",
    "MessageStatus",
    "OutboundMessage",
    "RowDeletion",
    "StoreSetting",
    "SyncState",
    "UTCDateTime",
    "utcnow",
]
