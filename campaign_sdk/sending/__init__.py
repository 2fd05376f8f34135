"""Sending campaigns: approval through a gateway, preflight, the crash-safe send loop, triggers, sync.

Users reach all of this through ``Campaign`` (``submit_for_approval``, ``sync_approval``,
``preflight``, ``send``, ``trigger``) and ``CampaignClient`` (``sync``, ``sync_approvals``).

>>> from campaign_sdk.sending import RateLimiter, RetryPolicy
>>> RetryPolicy().attempts
6
"""

from __future__ import annotations

from campaign_sdk.sending._approval import content_request, fetch, pick_samples, register, submit
from campaign_sdk.sending._cancel import (
    CancelError,
    CancelReport,
    OptOutCancelWarning,
    cancel_opted_out,
    cancel_scheduled,
    raise_failures,
    sweep_notes,
    warn_opt_out_failures,
)
from campaign_sdk.sending._due import DueReport, DueSender, SharedRateLimiter, run_due
from campaign_sdk.sending._engine import CampaignSender, send_campaign
from campaign_sdk.sending._limiter import RateLimiter
from campaign_sdk.sending._policy import Action, RetryPolicy, classify
from campaign_sdk.sending._preflight import blockers, dry_run, preflight
from campaign_sdk.sending._reschedule import RescheduleReport, RescheduleWarning, raise_reschedule_failures, reschedule_held
from campaign_sdk.sending._report import Preflight, SendReport
from campaign_sdk.sending._sync import SyncReport, sync
from campaign_sdk.sending._trigger import trigger
from campaign_sdk.sending._trigger_rules import TriggerRefused

__all__ = [
    "Action",
    "CampaignSender",
    "CancelError",
    "CancelReport",
    "DueReport",
    "DueSender",
    "OptOutCancelWarning",
    "Preflight",
    "RateLimiter",
    "RescheduleReport",
    "RescheduleWarning",
    "RetryPolicy",
    "SendReport",
    "SharedRateLimiter",
    "SyncReport",
    "TriggerRefused",
    "blockers",
    "cancel_opted_out",
    "cancel_scheduled",
    "classify",
    "content_request",
    "dry_run",
    "fetch",
    "pick_samples",
    "preflight",
    "raise_failures",
    "raise_reschedule_failures",
    "register",
    "reschedule_held",
    "run_due",
    "send_campaign",
    "submit",
    "sweep_notes",
    "sync",
    "trigger",
    "warn_opt_out_failures",
]
