"""Saving a studio's template into a campaign, and reading sample values out of one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from campaign_sdk import Campaign, CampaignClient
from campaign_sdk._exceptions import Issue, TemplateValidationError
from campaign_sdk.schemas import ContentContext
from campaign_sdk.templates import default_templates


def save_content(
    target: CampaignClient | Campaign,
    content: ContentContext | None,
    errors: list[Issue],
    *,
    content_type: str,
    name: str | None = None,
    campaign_type: str | None = None,
    template: str | None = None,
    approval_samples: Mapping[str, str] | None = None,
) -> Campaign:
    """Update ``target`` (a Campaign) or create a campaign on ``target`` (a client) with ``content``.

    Refused with :class:`TemplateValidationError` listing ``errors`` while there are any. ``template``
    is the default template key to record when ``content`` is that template unchanged (so its
    samples are used when it is submitted for approval). ``approval_samples`` are stored with the
    campaign for its approval request.
    """
    if errors or content is None:
        raise TemplateValidationError(errors, content_type=content_type)
    if isinstance(target, Campaign):
        changes: dict[str, Any] = {"content": content}
        if name and name != target.name:
            changes["name"] = name
        if campaign_type:
            changes["campaign_type"] = campaign_type
        if approval_samples:
            changes["approval_samples"] = approval_samples
        return target.update(**changes)
    if isinstance(target, CampaignClient):
        source: dict[str, Any] = {"template": template} if template else {"content": content}
        created = target.create_campaign(name or "", campaign_type=campaign_type or "marketing", **source)
        return created.update(approval_samples=approval_samples) if approval_samples else created
    raise TypeError(
        f"save into a CampaignClient (creates a campaign) or a Campaign (updates it), not {type(target).__name__}"
    )


def campaign_samples(campaign: Campaign, *, limit: int) -> tuple[list[dict[str, str]], list[str] | None]:
    """Up to ``limit`` leads' custom variables as samples, and the variables the leads have
    (None when the campaign has no leads: then a default template's samples are used if it is one)."""
    leads = campaign.leads
    if len(leads):
        samples = [_strings(variables) for variables in leads["custom_variables"].head(limit)]
        columns = sorted({key for variables in leads["custom_variables"] for key in (variables or {})})
        return samples, columns
    content = campaign.content
    return [dict(t.samples) for t in default_templates() if t.context == content], None


def _strings(variables: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(key): str(value) for key, value in (variables or {}).items() if value is not None}
