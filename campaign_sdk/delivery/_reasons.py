"""Why a lead is skipped or deferred in a plan: stable codes and what each means / what to do."""

from __future__ import annotations

SKIP = {
    # the send path's own reasons (service.SKIP_REASONS)
    "removed": "the lead was removed from the campaign",
    "holdout": "the lead is in the experiment's holdout (control group): never sent (action 'holdout')",
    "global_holdout": "the person is in the global holdout: never sent by any campaign (action 'holdout')",
    "awaiting_winner": "the lead waits for the experiment's winner before it is sent",
    "opted_out": "the person opted out (STOP); they are never messaged until they opt back in",
    "already_messaged": "this campaign already messaged the lead",
    "failed_before": "this campaign's message to the lead failed; it is not retried",
    "unresolved": "a send to this lead may or may not have reached Twilio; send() reconciles it first",
    "invalid_number": "Twilio called the number invalid (21211 / 21614 / 63024) or it is not E.164",
    "missing_variables": "a template variable has no value (the send would fail with 21656); fill it in",
    "value_format": "a value holds a line break, a tab or more than 4 consecutive spaces (WhatsApp refuses it); "
                    "put the value on one line",
    "message_too_long": "the message is longer than the channel takes once the values are filled in "
                        "(WhatsApp 1,024 characters: 63021; SMS 1,600); shorten the values",
    # delivery policy
    "invalid_timezone": "the lead's timezone value is not an IANA zone name; fix it (e.g. 'America/New_York')",
    "unknown_timezone": "libphonenumber knows no time zone for the number; give the lead a timezone value",
    "no_common_window": "the number's possible zones share no allowed minute; give the lead a timezone value",
    "frequency_cap": "the person reached a frequency cap across campaigns by the send moment",
    "expired": "the send moment is after the campaign's expires_at: a stale message is never sent",
    "outside_service_window": "a free-form WhatsApp message needs the person's message in the last 24 h (63016)",
}
DEFER = {
    "scheduled": "held until the scheduled moment (at= / local_time=)",
    "quiet_hours": "moved to the next moment allowed by the send window in the recipient's zone(s)",
    "messaging_tier": "beyond the WhatsApp messaging limit for the next 24 h; moved to a later day",
}
REASONS = {**SKIP, **DEFER}
