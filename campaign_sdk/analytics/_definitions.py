"""The metric definitions, written down once (README "Metric definitions" mirrors this text).

- A *touch* is a campaign message that reached the recipient side: status sent, delivered or read.
  Its time is the message's ``created_at`` (when Twilio accepted it).
- total_leads: leads not removed. Every other metric counts unique (not removed) leads.
- messages_sent: leads whose latest campaign message is sent, delivered or read.
  delivered: latest message delivered or read. read: latest message read.
  not_received: latest message failed or undelivered (with its error code).
- Inbound messages are attributed *last touch*: to the most recent touch to that number at or
  before the inbound's time, from any campaign, if it arrived within ``reply_window`` of that touch.
  STOP-family keywords are opt-outs, START-family opt-ins, HELP/INFO help requests; only the rest
  are replies. messages_replied: sent leads with at least one attributed reply.
  opted_out: sent leads with an attributed opt-out keyword.
- converted: sent leads with a conversion event attributed the same way (last touch) within
  ``attribution_window`` after the touch.
- reply_rate = messages_replied / messages_sent x 100; conversion_rate = converted /
  messages_sent x 100; delivery_rate = delivered / messages_sent x 100; read_rate = read /
  delivered x 100; opt_out_rate = opted_out / messages_sent x 100. A rate with a zero
  denominator is missing (NaN), never 0.
"""

from __future__ import annotations

SENT_STATUSES = ("sent", "delivered", "read")
NOT_RECEIVED_STATUSES = ("failed", "undelivered")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


# One row per (not removed) lead with the facts every metric is built from. Parameters:
# $reply_window and $attribution_window are DuckDB INTERVALs.
LEAD_FACTS_SQL = f"""
WITH latest AS (
    SELECT lead_id, status, error_code, sid, created_at
    FROM messages
    QUALIFY row_number() OVER (PARTITION BY lead_id ORDER BY created_at DESC, id DESC) = 1
),
touches AS (
    SELECT id AS message_id, campaign_id, lead_id, user_id, created_at AS touched_at
    FROM messages WHERE status IN {_in(SENT_STATUSES)}
),
inbound_attributed AS (
    SELECT t.lead_id, i.kind, i.received_at, t.touched_at
    FROM inbound i ASOF JOIN touches t
      ON i.user_id = t.user_id AND i.received_at >= t.touched_at
    WHERE i.received_at <= t.touched_at + $reply_window
),
per_lead_inbound AS (
    SELECT lead_id,
           bool_or(kind = 'reply') AS replied,
           bool_or(kind = 'opt_out') AS opted_out,
           min(received_at) FILTER (WHERE kind = 'reply') AS first_reply_at,
           min(touched_at) FILTER (WHERE kind = 'reply') AS replied_touch_at
    FROM inbound_attributed GROUP BY lead_id
),
conversions_attributed AS (
    SELECT t.lead_id, min(c.occurred_at) AS converted_at
    FROM conversions c ASOF JOIN touches t
      ON c.user_id = t.user_id AND c.occurred_at >= t.touched_at
    WHERE c.occurred_at <= t.touched_at + $attribution_window
    GROUP BY t.lead_id
)
SELECT
    l.id AS lead_id, l.campaign_id, l.user_id, u.phone_number, l.custom_variables,
    l.created_at AS lead_created_at,
    m.status AS message_status, m.error_code, m.sid AS message_sid, m.created_at AS sent_at,
    coalesce(m.status IN {_in(SENT_STATUSES)}, false) AS is_sent,
    coalesce(m.status IN ('delivered', 'read'), false) AS is_delivered,
    coalesce(m.status = 'read', false) AS is_read,
    coalesce(m.status IN {_in(NOT_RECEIVED_STATUSES)}, false) AS is_not_received,
    coalesce(m.status IN {_in(SENT_STATUSES)} AND r.replied, false) AS is_replied,
    coalesce(m.status IN {_in(SENT_STATUSES)} AND r.opted_out, false) AS is_opted_out,
    coalesce(m.status IN {_in(SENT_STATUSES)} AND cv.converted_at IS NOT NULL, false) AS is_converted,
    r.first_reply_at, cv.converted_at, u.opted_out_at AS user_opted_out_at
FROM leads l
JOIN users u ON u.id = l.user_id
LEFT JOIN latest m ON m.lead_id = l.id
LEFT JOIN per_lead_inbound r ON r.lead_id = l.id
LEFT JOIN conversions_attributed cv ON cv.lead_id = l.id
WHERE l.removed_at IS NULL
"""

# Aggregate lead facts (a relation named lead_facts) per campaign.
CAMPAIGN_COUNTS_SQL = """
SELECT c.id AS campaign_id, c.name AS campaign,
       count(f.lead_id) AS total_leads,
       count(*) FILTER (WHERE f.is_sent) AS messages_sent,
       count(*) FILTER (WHERE f.is_delivered) AS delivered,
       count(*) FILTER (WHERE f.is_read) AS "read",
       count(*) FILTER (WHERE f.is_not_received) AS not_received,
       count(*) FILTER (WHERE f.is_replied) AS messages_replied,
       count(*) FILTER (WHERE f.is_opted_out) AS opted_out,
       count(*) FILTER (WHERE f.is_converted) AS converted
FROM campaigns c LEFT JOIN lead_facts f ON f.campaign_id = c.id
GROUP BY c.id, c.name
ORDER BY c.id
"""

# rate name -> (numerator column, denominator column)
RATES: dict[str, tuple[str, str]] = {
    "reply_rate": ("messages_replied", "messages_sent"),
    "conversion_rate": ("converted", "messages_sent"),
    "delivery_rate": ("delivered", "messages_sent"),
    "read_rate": ("read", "delivered"),
    "opt_out_rate": ("opted_out", "messages_sent"),
}
