"""Twilio's message scheduling and validity period: when a send may be scheduled, for how long a
queued message stays valid.

Data only. Each fact cites its source; where Twilio's pages disagree the stricter value is kept
and both are listed.
"""

from __future__ import annotations

import datetime as dt

from campaign_sdk.facts.errors import Code

# Scheduling needs a Messaging Service: with only a From number "the scheduling parameters will
# be dropped from the API request and the message will be sent immediately".
# https://support.twilio.com/hc/en-us/articles/4412165297947-Message-Scheduling-FAQs-and-Beta-Limitations
SCHEDULING_NEEDS_MESSAGING_SERVICE = True

# ScheduleType's only value.
# OpenAPI twilio_api_v2010.json: components.schemas.message_enum_schedule_type (enum ["fixed"]);
# POST /2010-04-01/Accounts/{AccountSid}/Messages.json form fields ScheduleType, SendAt.
SCHEDULE_TYPE = "fixed"
# SendAt: "The time that Twilio will send the message. Must be in ISO 8601 format" (same path);
# the error pages ask for UTC written "YYYY-MM-DDTHH:MM:SSZ".
SEND_AT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# The allowed SendAt window, counted from when Twilio receives the request.
# https://www.twilio.com/docs/api/errors/35114 and /35115: the 2026 pages say at least 15 minutes
# ahead (older copies said 900 s; one revision said 300 s / 5 minutes, also error 35117) and at
# most 35 days (3,024,000 s). The stricter minimum, 15 minutes, is kept. The same window in
# https://www.twilio.com/docs/messaging/features/message-scheduling ("at least 15 minutes before
# the intended send time") and the GA support FAQ (link above: "at least 15 minutes in advance",
# "not more than 35 days in advance of the request"). Both ends are taken as allowed.
SEND_AT_MIN_AHEAD = dt.timedelta(seconds=900)
SEND_AT_MIN_AHEAD_LENIENT = dt.timedelta(seconds=300)  # 35114 revision / 35117; not relied on
SEND_AT_MAX_AHEAD = dt.timedelta(seconds=3_024_000)  # 35 days
# The support FAQ (beta, 2022) said at most 7 days ahead; superseded by the error pages' 35 days.
SEND_AT_MAX_AHEAD_BETA = dt.timedelta(days=7)

# Error codes of scheduled sends, with their kinds in facts.errors (one row per code there).
# https://www.twilio.com/docs/api/errors/<code>
SEND_AT_MISSING = Code.SEND_AT_MISSING  # 35111: ScheduleType=fixed without SendAt
SEND_AT_OUT_OF_WINDOW = Code.SEND_AT_UNSUPPORTED  # 35114: SendAt outside the window (or not ISO 8601 UTC)
SEND_AT_OUT_OF_WINDOW_2 = Code.SEND_AT_UNSUPPORTED_2  # 35115: same rule, another code for it
SCHEDULING_NEEDS_SERVICE = Code.SCHEDULING_NEEDS_SERVICE  # 35118: no Messaging Service sender
SCHEDULE_TYPE_UNSUPPORTED = Code.SCHEDULE_TYPE_UNSUPPORTED  # 35126: a ScheduleType other than "fixed"
SCHEDULING_ERRORS = {
    SEND_AT_MISSING: "SendAt is missing: it is required when ScheduleType is 'fixed'",
    SEND_AT_OUT_OF_WINDOW: "SendAt must be 15 minutes to 35 days ahead, in ISO 8601 UTC",
    SEND_AT_OUT_OF_WINDOW_2: "SendAt must be 15 minutes to 35 days ahead, in ISO 8601 UTC",
    SCHEDULE_TYPE_UNSUPPORTED: "ScheduleType must be 'fixed'",
}
# A scheduled message is cancelled by updating it with Status=canceled; its status becomes
# "canceled" and it is never sent. OpenAPI: POST /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json
# ("Update a Message resource (used to redact Message body text and to cancel not-yet-sent
# messages)"), form field Status, components.schemas.message_enum_update_status (enum ["canceled"]);
# https://www.twilio.com/docs/messaging/features/message-scheduling ("Cancel a scheduled message").
CANCEL_STATUS = "canceled"
# Only a message still "scheduled" can be canceled; later (queued, sent, delivered, ...) the update
# fails with 30409 (https://www.twilio.com/docs/api/errors/30409): a message Twilio sent stays sent.
CANNOT_CANCEL = Code.CANNOT_CANCEL
# At most 500,000 scheduled messages per account at any time (GA support FAQ above). Not enforced
# by the SDK: Twilio refuses the excess.
MAX_SCHEDULED_PER_ACCOUNT = 500_000
# Opt-outs (STOP) do not cancel messages already scheduled (support FAQ above).
OPT_OUT_CANCELS_SCHEDULED = False

# ValidityPeriod: "The maximum length in seconds that the Message can remain in Twilio's outgoing
# message queue ... integers from 1 to 36000. Default value is 36000. A validity_period greater
# than 5 is recommended." OpenAPI: POST /2010-04-01/Accounts/{AccountSid}/Messages.json, field
# ValidityPeriod. A message that outlives it fails with error 30036
# (https://www.twilio.com/docs/api/errors/30036).
VALIDITY_PERIOD_MIN = 1
VALIDITY_PERIOD_MAX = 36_000
VALIDITY_PERIOD_DEFAULT = 36_000
VALIDITY_PERIOD_RECOMMENDED_MIN = 5
VALIDITY_EXPIRED_ERROR = Code.VALIDITY_EXPIRED  # 30036
