"""Building the seed's DTOs (:class:`CampaignSchema` with its :class:`CampaignLeadSchema` leads)
from a campaign row and what the analytics layer computed for it. Pure: no query, no I/O."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from campaign_sdk.schemas._compile import preview_text
from campaign_sdk.schemas._content import ContentContext
from campaign_sdk.schemas._payloads import CampaignLeadSchema, CampaignSchema


def campaign_schema(
    row: Any, metrics: Mapping[str, Any], keys: list[str], facts: pd.DataFrame | None, *,
    content: ContentContext, context_variables: Sequence[str] = (),
) -> CampaignSchema:
    """A CampaignSchema from a ``models.Campaign`` row and precomputed pieces: its metrics row,
    its leads' custom variable keys, its template ``content`` and the template's context
    variables; ``facts`` are the campaign's lead facts, or None to leave ``leads`` out."""
    leads = None
    if facts is not None:
        leads = [
            CampaignLeadSchema(
                id=int(f["lead_id"]), campaign_id=row.id, conversation_user_id=int(f["user_id"]),
                phone_number=f["phone_number"], custom_variables=f["custom_variables"],
                status=f["status"], reason=f.get("reason"), due_at=_utc(f.get("due_at")),
                skipped_at=_utc(f.get("skipped_at")), error_code=f["error_code"], message_sid=f["message_sid"],
                created_at=_utc(f["lead_created_at"]),
            )
            for f in lead_records(facts)
        ]
    return CampaignSchema.from_model(
        row, metrics, custom_variable_keys=keys, context_variables=list(context_variables),
        body=preview_text(content, {}, missing="keep"), leads=leads,
    )


def lead_records(facts: pd.DataFrame) -> list[dict[str, Any]]:
    """The analytics layer's lead facts as plain records (``status``, decoded ``custom_variables``,
    None where missing)."""
    frame = facts.assign(
        status=facts["lead_status"],
        custom_variables=facts["custom_variables"].map(lambda v: json.loads(v) if isinstance(v, str) else {}),
    )
    frame = frame.astype(object).where(frame.notna(), None)
    return frame.to_dict("records")


def _utc(value: Any) -> dt.datetime | None:
    """The analytics layer's naive-UTC timestamps as aware UTC datetimes."""
    if value is None or value is pd.NaT:
        return None
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).to_pydatetime()
