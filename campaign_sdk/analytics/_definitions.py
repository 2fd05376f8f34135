"""The metric definitions, written down once (README "Metric definitions" mirrors this text).

- A *touch* is a campaign message that reached the recipient side: status sent, delivered,
  partially_delivered or read (``facts.statuses.TOUCH``). Its time is the message's ``created_at``
  (when Twilio accepted it). If one number got two touches at the same instant, the later-created message (higher id) is the touch.
- total_leads: leads not removed. Every other count is of unique leads, never of messages.
- A lead's *message* is its latest campaign message (by ``created_at``, then id).
  messages_sent: leads whose message is a touch. delivered: message delivered, partially
  delivered or read. read: message read. not_received: message failed or undelivered; ``top_errors``
  lists the most frequent Twilio error codes among them. attempted: messages_sent plus
  not_received (the messages whose fate is known).
- Inbound messages are attributed *last touch*: to the most recent touch to that number at or
  before the inbound's time, from any campaign, if it arrived within ``reply_window`` (default
  7 days) of that touch; otherwise to nothing. STOP-family keywords (STOP, STOPALL, UNSUBSCRIBE,
  CANCEL, END, QUIT, REVOKE, OPTOUT) are opt-outs, START-family keywords (START, YES, UNSTOP)
  opt-ins, HELP / INFO help requests; only the rest are replies. messages_replied: sent leads with at least one
  attributed reply. opted_out: sent leads with an attributed opt-out keyword.
- converted: sent leads with a conversion attributed the same way (last touch) within
  ``attribution_window`` (default 7 days) after the touch. A lead converts at most once, however
  many conversions it has.
- reply_rate = messages_replied / messages_sent x 100 (the seed's definition); conversion_rate = converted /
  messages_sent x 100; delivery_rate = delivered / attempted x 100; read_rate = read /
  delivered x 100; opt_out_rate = opted_out / messages_sent x 100. Every rate comes with its
  numerator, its denominator and a 95% Wilson score interval (``<rate>_low``,
  ``<rate>_high``). A rate with a zero denominator is missing (NaN), never 0.
- Groups (``by=``): ``"day"`` / ``"week"`` is the UTC day / ISO week (from Monday) of the
  lead's message (leads never messaged have none); ``"campaign_type"`` is the campaign's type;
  ``"variant"`` is the lead's experiment arm; any other name is a custom variable of the lead
  (leads without it have none). ``start`` / ``end`` keep only leads whose message was created
  in [start, end).
- Experiments (``lift``), intention to treat: a lead's *arm* is its stored variant: a
  variant's name, ``holdout`` (the campaign's control), ``global_holdout`` or ``rest``
  (waiting for ``send_winner``; not in the lift table). A campaign's leads form one *cohort*;
  its *send time* is the creation of the campaign's first message Twilio accepted (one with a
  SID). Until then the cohort's send has not started and no lead counts (n = 0). From then on
  every lead assigned to an arm counts in its arm's n, whatever happened to its message
  (accepted, failed, undelivered, refused, skipped, not sent yet): n is the same rule on both
  sides, the leads of the arm whose user had not opted out at the cohort's send time and that
  were not removed before it (a lead removed later still counts, so that dropping failed
  numbers cannot bring back a per-protocol comparison). ``assigned`` (the sample-ratio check)
  counts the arm's leads not removed before the send time. A lead's *exposure time* is, for a
  treatment lead, the creation of its first campaign message Twilio accepted, or the cohort's
  send time if it has none (refused, skipped or not sent yet); for a control lead, the
  cohort's send time. A campaign mid-send therefore counts its treatment leads not sent yet
  from the send time: the lift is diluted toward zero until the send ends, never inflated.
  The *conversion window* is ``attribution_window`` (default 7 days): a lead converted if its
  user has a conversion at or after its exposure time and within that window, whichever
  touch last-touch attribution would credit it to, so that the control and treatment arms
  are measured the same way; replied: a reply (not a keyword) within ``reply_window`` after
  the exposure. Rates are events / n x 100. A control cannot reply, so reply lift compares
  variants with the first variant.
"""

from __future__ import annotations

from campaign_sdk.facts import statuses

# The default reply_window and attribution_window ("default 7 days" above), for every caller.
DEFAULT_WINDOW = "7d"

# From campaign_sdk.facts.statuses (the one list of Twilio's statuses): a touch is sent,
# partially_delivered, delivered or read; delivered includes partially_delivered and read.
SENT_STATUSES = statuses.TOUCH
DELIVERED_STATUSES = statuses.DELIVERED
NOT_RECEIVED_STATUSES = statuses.NOT_RECEIVED
TIME_GROUPS = {"day": "day", "week": "week"}

# count column -> SQL condition on the lead facts (f)
COUNTS: dict[str, str] = {
    "total_leads": "true",
    "messages_sent": "f.is_sent",
    "delivered": "f.is_delivered",
    "read": "f.is_read",
    "not_received": "f.is_not_received",
    "attempted": "f.is_sent OR f.is_not_received",
    "messages_replied": "f.is_replied",
    "opted_out": "f.is_opted_out",
    "converted": "f.is_converted",
}

# rate name -> (numerator column, denominator column)
RATES: dict[str, tuple[str, str]] = {
    "reply_rate": ("messages_replied", "messages_sent"),
    "conversion_rate": ("converted", "messages_sent"),
    "delivery_rate": ("delivered", "attempted"),
    "read_rate": ("read", "delivered"),
    "opt_out_rate": ("opted_out", "messages_sent"),
}

# funnel step -> count column (each step's rate is against the step before it)
FUNNEL: dict[str, str] = {
    "sent": "messages_sent",
    "delivered": "delivered",
    "read": "read",
    "replied": "messages_replied",
    "converted": "converted",
}


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def lead_facts_sql(*, campaigns: bool = False, period: bool = False) -> str:
    """One row per (not removed) lead with the facts every metric is built from.

    Views: leads, messages, replies, conversions (see ``_mirror``). Parameters: ``$reply_us``
    and ``$attribution_us`` (windows in microseconds); with ``campaigns=True`` ``$campaign_ids``
    (a list) restricts the leads, and with ``period=True`` ``$start`` / ``$end`` restrict the
    leads' message times (NULL for an open end).
    """
    lead_filter = "AND list_contains($campaign_ids::BIGINT[], l.campaign_id)" if campaigns else ""
    # last-touch attribution needs every touch to the measured people, from any campaign
    user_filter = "AND user_id IN (SELECT user_id FROM scope)" if campaigns else ""
    latest_filter = "AND lead_id IN (SELECT lead_id FROM scope)" if campaigns else ""
    period_filter = (
        "WHERE ($start::TIMESTAMP IS NULL OR lt.m.created_at >= $start::TIMESTAMP)"
        " AND ($end::TIMESTAMP IS NULL OR lt.m.created_at < $end::TIMESTAMP)"
        if period
        else ""
    )
    message_join = "JOIN" if period else "LEFT JOIN"
    return f"""
WITH scope AS (
    SELECT l.id AS lead_id, l.campaign_id, l.user_id, l.custom_variables, l.created_at, l.variant,
           l.skip_reason, l.skipped_at
    FROM leads l
    WHERE l.removed_at IS NULL {lead_filter}
),
latest AS (
    SELECT lead_id,
           arg_max({{'status': status, 'error_code': error_code, 'sid': sid,
                     'created_at': created_at, 'scheduled_for': scheduled_for}}, (created_at, id)) AS m
    FROM messages
    WHERE true {latest_filter}
    GROUP BY lead_id
),
touches AS (
    SELECT id AS message_id, lead_id, user_id, created_at AS touched_at
    FROM messages
    WHERE status IN {_in(SENT_STATUSES)} {user_filter}
),
events AS (
    SELECT id AS event_id, user_id, kind, received_at AS event_at FROM replies WHERE true {user_filter}
    UNION ALL
    SELECT id, user_id, 'conversion', occurred_at FROM conversions WHERE true {user_filter}
),
last_touch AS (
    SELECT e.event_id, e.kind, e.user_id, e.event_at, t.touched_at
    FROM events e
    ASOF JOIN (SELECT user_id, touched_at FROM touches) t
      ON e.user_id = t.user_id AND e.event_at >= t.touched_at
    WHERE e.event_at <= t.touched_at + to_microseconds(
        CASE WHEN e.kind = 'conversion' THEN $attribution_us::BIGINT ELSE $reply_us::BIGINT END)
),
attributed AS (
    -- several touches at that same instant: the later-created message wins
    SELECT a.event_id, a.kind, a.event_at, a.touched_at, arg_max(t.lead_id, t.message_id) AS lead_id
    FROM last_touch a
    JOIN touches t ON t.user_id = a.user_id AND t.touched_at = a.touched_at
    GROUP BY a.event_id, a.kind, a.event_at, a.touched_at
),
per_lead AS (
    SELECT lead_id,
           bool_or(kind = 'reply') AS replied,
           bool_or(kind = 'opt_out') AS opted_out,
           min(event_at) FILTER (WHERE kind = 'reply') AS first_reply_at,
           arg_min(touched_at, (event_at, touched_at)) FILTER (WHERE kind = 'reply') AS replied_touch_at,
           min(event_at) FILTER (WHERE kind = 'conversion') AS converted_at
    FROM attributed
    GROUP BY lead_id
),
joined AS (
    SELECT s.lead_id, s.campaign_id, s.user_id, s.custom_variables, s.created_at AS lead_created_at, s.variant,
           lt.m.status AS message_status, lt.m.error_code AS error_code, lt.m.sid AS message_sid,
           lt.m.created_at AS sent_at, lt.m.scheduled_for AS scheduled_for, s.skip_reason, s.skipped_at,
           r.replied, r.opted_out, r.first_reply_at, r.replied_touch_at, r.converted_at
    FROM scope s
    {message_join} latest lt ON lt.lead_id = s.lead_id
    LEFT JOIN per_lead r ON r.lead_id = s.lead_id
    {period_filter}
)
SELECT j.* EXCLUDE (replied, opted_out, first_reply_at, replied_touch_at, converted_at),
       coalesce(j.message_status IN {_in(SENT_STATUSES)}, false) AS is_sent,
       coalesce(j.message_status IN {_in(DELIVERED_STATUSES)}, false) AS is_delivered,
       coalesce(j.message_status = 'read', false) AS is_read,
       coalesce(j.message_status IN {_in(NOT_RECEIVED_STATUSES)}, false) AS is_not_received,
       coalesce(j.message_status IN {_in(SENT_STATUSES)} AND j.replied, false) AS is_replied,
       coalesce(j.message_status IN {_in(SENT_STATUSES)} AND j.opted_out, false) AS is_opted_out,
       coalesce(j.message_status IN {_in(SENT_STATUSES)} AND j.converted_at IS NOT NULL, false)
           AS is_converted,
       CASE WHEN j.message_status IN {_in(SENT_STATUSES)} THEN j.first_reply_at END AS first_reply_at,
       CASE WHEN j.message_status IN {_in(SENT_STATUSES)} THEN j.replied_touch_at END AS replied_touch_at,
       CASE WHEN j.message_status IN {_in(SENT_STATUSES)} THEN j.converted_at END AS converted_at
FROM joined j
"""


CONTROL_ARMS = ("holdout", "global_holdout")


def lift_counts_sql() -> str:
    """Per arm of campaign ``$campaign_id`` (intention to treat, see the Experiments definition):
    leads ``assigned``, ``n`` counted, ``conversions`` and ``replies``. Parameters as in
    :func:`lead_facts_sql` (``$reply_us``, ``$attribution_us``)."""
    return f"""
WITH cohort AS (
    SELECT min(created_at) AS t0 FROM messages WHERE campaign_id = $campaign_id AND sid IS NOT NULL
),
scope AS (
    SELECT l.id AS lead_id, l.user_id, l.variant, ft.t0,
           l.removed_at IS NULL OR (ft.t0 IS NOT NULL AND l.removed_at > ft.t0) AS kept
    FROM leads l CROSS JOIN cohort ft
    WHERE l.campaign_id = $campaign_id AND l.variant IS NOT NULL
),
first_message AS (
    SELECT lead_id, min(created_at) AS at FROM messages
    WHERE campaign_id = $campaign_id AND sid IS NOT NULL GROUP BY lead_id
),
exposed AS (
    SELECT s.lead_id, s.user_id, s.variant, s.kept,
           CASE WHEN s.kept AND s.t0 IS NOT NULL AND (u.opted_out_at IS NULL OR u.opted_out_at > s.t0) THEN
                CASE WHEN s.variant IN {_in(CONTROL_ARMS)} THEN s.t0 ELSE coalesce(fm.at, s.t0) END
           END AS exposed_at
    FROM scope s
    LEFT JOIN first_message fm ON fm.lead_id = s.lead_id
    LEFT JOIN users u ON u.id = s.user_id
),
converted AS (
    SELECT DISTINCT e.lead_id FROM exposed e JOIN conversions c ON c.user_id = e.user_id
    WHERE c.occurred_at >= e.exposed_at AND c.occurred_at <= e.exposed_at + to_microseconds($attribution_us::BIGINT)
),
replied AS (
    SELECT DISTINCT e.lead_id FROM exposed e JOIN replies r ON r.user_id = e.user_id
    WHERE r.kind = 'reply' AND e.variant NOT IN {_in(CONTROL_ARMS)}
      AND r.received_at >= e.exposed_at AND r.received_at <= e.exposed_at + to_microseconds($reply_us::BIGINT)
)
SELECT e.variant AS arm, count(*) FILTER (WHERE e.kept) AS assigned, count(e.exposed_at) AS n,
       count(c.lead_id) AS conversions, count(r.lead_id) AS replies
FROM exposed e
LEFT JOIN converted c ON c.lead_id = e.lead_id
LEFT JOIN replied r ON r.lead_id = e.lead_id
GROUP BY 1 ORDER BY 1
"""


def group_sql(by: str | None) -> str | None:
    """The SQL expression of a group (over lead facts ``f`` and campaigns ``c``), None for none.
    A custom variable's JSON path is the ``$group_path`` parameter."""
    if by is None:
        return None
    if by in TIME_GROUPS:
        return f"date_trunc('{TIME_GROUPS[by]}', f.sent_at)"
    if by == "campaign_type":
        return "c.campaign_type"
    if by == "variant":
        return "f.variant"
    return "json_extract_string(f.custom_variables, $group_path::VARCHAR)"


def counts_sql(facts_sql: str, by: str | None) -> str:
    """Counts per campaign (x group) over the lead facts, plus ``errors`` (a map: error code ->
    not-received leads). Without a group every selected campaign has a row, zeros included;
    with one, only the groups that have leads."""
    counts = ",\n       ".join(
        f'count(*) FILTER (WHERE {condition}) AS "{name}"' for name, condition in COUNTS.items()
    )
    errors = "histogram(f.error_code) FILTER (WHERE f.is_not_received AND f.error_code IS NOT NULL) AS errors"
    group = group_sql(by)
    if group is None:
        zeros = ", ".join(f'coalesce(k."{name}", 0) AS "{name}"' for name in COUNTS)
        return f"""
WITH f AS ({facts_sql}),
k AS (SELECT f.campaign_id, {counts}, {errors} FROM f GROUP BY f.campaign_id)
SELECT c.id AS campaign_id, c.name AS campaign, {zeros}, k.errors
FROM campaigns c LEFT JOIN k ON k.campaign_id = c.id
WHERE $campaign_ids::BIGINT[] IS NULL OR list_contains($campaign_ids::BIGINT[], c.id)
ORDER BY c.id
"""
    return f"""
WITH f AS ({facts_sql})
SELECT f.campaign_id, c.name AS campaign, {group} AS grp, {counts}, {errors}
FROM f JOIN campaigns c ON c.id = f.campaign_id
GROUP BY ALL
ORDER BY f.campaign_id, grp NULLS LAST
"""
