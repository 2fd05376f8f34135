"""Generate the metrics benchmark store (deterministic) on a SQLite file.

    python benchmarks/make_bench_store.py /tmp/bench.db [--leads 1000000]

100 campaigns, 1,000,000 leads over 800,000 people (many are in several campaigns, so replies
and conversions must be attributed to the right one), one campaign message per lead with about
four status events each (queued -> sent -> delivered -> read, or failed/undelivered with an error
code) collapsed into the message row the way ``record_statuses`` stores them, 150,000 inbound
messages (replies, STOP / HELP keywords, some outside the 7-day window) and 50,000 conversions
(some duplicated by phone, some outside the window).

The schema comes from the real migrations (``CampaignClient`` opens the file); the rows go in
through raw ``sqlite3`` inserts, not the per-row recorders, so a million leads take seconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sqlite3
import time
from pathlib import Path

import numpy as np

from campaign_sdk import CampaignClient, TwilioTextContext

BASE = dt.datetime(2026, 1, 5, 9, 0, 0)
STATUSES = np.array(["queued", "sent", "delivered", "read", "failed", "undelivered"])
STATUS_P = [0.01, 0.09, 0.40, 0.42, 0.04, 0.04]
ERRORS = np.array([63016, 63024, 30008, 21211, 63032])
CITIES = np.array(["Austin", "Boston", "Chicago", "Denver", "Miami", "Seattle"])
VARIANTS = np.array(["A", "B"])


def _iso(seconds: np.ndarray) -> np.ndarray:
    """Seconds after BASE -> the text SQLAlchemy stores in SQLite ('YYYY-MM-DD HH:MM:SS.ffffff')."""
    stamps = np.datetime64(BASE, "us") + (seconds * 1e6).astype("int64").astype("timedelta64[us]")
    return np.char.replace(np.datetime_as_string(stamps, unit="us"), "T", " ")


def _nullable(values: np.ndarray, mask: np.ndarray) -> list:
    out = values.astype(object)
    out[~mask] = None
    return out.tolist()


def generate(path: Path, *, campaigns: int = 100, leads: int = 1_000_000, users: int = 800_000,
             replies: int = 150_000, conversions: int = 50_000, seed: int = 4) -> dict[str, int]:
    """Create ``path`` (which must not exist) and fill it; returns the row counts."""
    if path.exists():
        raise FileExistsError(f"{path} exists; delete it or pick another path")
    rng = np.random.default_rng(seed)
    with CampaignClient(f"sqlite:///{path}") as client:
        content = TwilioTextContext(body="Hi {{lead_name}}, new offers in {{city}} this week!")
        for c in range(campaigns):
            client.create_campaign(
                f"Campaign {c:03d}", content=content,
                campaign_type="service" if c % 10 == 9 else "marketing",
            )
    per_campaign = leads // campaigns
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    with con:
        phones = [f"+1555{n:07d}" for n in range(users)]
        con.executemany(
            "INSERT INTO conversation_users (id, phone_number, created_at) VALUES (?, ?, ?)",
            zip(range(1, users + 1), phones, [BASE.isoformat(sep=" ", timespec="microseconds")] * users),
        )
        # leads: every campaign picks distinct people; ids grouped by campaign
        lead_campaign = np.repeat(np.arange(1, campaigns + 1), per_campaign)
        lead_user = np.concatenate([rng.choice(users, per_campaign, replace=False) + 1 for _ in range(campaigns)])
        n = lead_campaign.size
        lead_id = np.arange(1, n + 1)
        city = CITIES[rng.integers(0, CITIES.size, n)]
        variant = VARIANTS[rng.integers(0, 2, n)]
        variables = [json.dumps({"lead_name": f"P{u}", "city": c, "variant": v})
                     for u, c, v in zip(lead_user.tolist(), city.tolist(), variant.tolist())]
        launch = (lead_campaign - 1) * 6 * 3600.0  # a campaign every 6 hours
        created = _iso(launch - 86400.0)
        removed = rng.random(n) < 0.01
        con.executemany(
            "INSERT INTO campaign_leads (id, campaign_id, user_id, custom_variables, removed_at, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            zip(lead_id.tolist(), lead_campaign.tolist(), lead_user.tolist(), variables,
                _nullable(created, removed), created.tolist(), created.tolist()),
        )
        # one message per lead for 97% of leads, sent within 2 hours of the campaign's launch
        has_message = rng.random(n) < 0.97
        m_lead = lead_id[has_message]
        m_campaign = lead_campaign[has_message]
        m_user = lead_user[has_message]
        m = m_lead.size
        sent_s = launch[has_message] + rng.uniform(0, 7200, m)
        status = STATUSES[rng.choice(STATUSES.size, m, p=STATUS_P)]
        reached = np.isin(status, ["sent", "delivered", "read"])
        delivered = np.isin(status, ["delivered", "read"])
        read = status == "read"
        failed = np.isin(status, ["failed", "undelivered"])
        delivered_s = sent_s + rng.exponential(30, m)
        read_s = delivered_s + rng.exponential(3600, m)
        failed_s = sent_s + rng.exponential(60, m)
        status_s = np.select([read, delivered, failed, reached], [read_s, delivered_s, failed_s, sent_s], sent_s)
        error = np.where(failed, ERRORS[rng.integers(0, ERRORS.size, m)], 0)
        con.executemany(
            "INSERT INTO outbound_messages (id, sid, campaign_id, lead_id, user_id, to_number, status,"
            " error_code, created_at, status_at, sent_at, delivered_at, read_at, failed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            zip(range(1, m + 1), [f"SM{i:032x}" for i in range(m)], m_campaign.tolist(), m_lead.tolist(),
                m_user.tolist(), [f"whatsapp:{phones[u - 1]}" for u in m_user.tolist()], status.tolist(),
                _nullable(error, failed), _iso(sent_s).tolist(), _iso(status_s).tolist(),
                _nullable(_iso(sent_s), reached | failed), _nullable(_iso(delivered_s), delivered),
                _nullable(_iso(read_s), read), _nullable(_iso(failed_s), failed)),
        )
        # inbound: from people who were messaged; mostly hours after a send, 5% weeks later
        pick = rng.choice(m, replies, replace=True)
        delay = np.where(rng.random(replies) < 0.95, rng.exponential(6 * 3600, replies),
                         rng.uniform(8, 30, replies) * 86400)
        body = np.where(rng.random(replies) < 0.04, "STOP", np.where(rng.random(replies) < 0.02, "HELP", "Yes please"))
        kind = np.select([body == "STOP", body == "HELP"], ["opt_out", "help"], "reply")
        con.executemany(
            "INSERT INTO inbound_messages (id, sid, user_id, body, kind, received_at) VALUES (?, ?, ?, ?, ?, ?)",
            zip(range(1, replies + 1), [f"SMin{i:030x}" for i in range(replies)], m_user[pick].tolist(),
                body.tolist(), kind.tolist(), _iso(sent_s[pick] + delay).tolist()),
        )
        for user_id, at in con.execute(
            "SELECT user_id, max(received_at) FROM inbound_messages WHERE kind = 'opt_out' GROUP BY user_id"
        ).fetchall():
            con.execute("UPDATE conversation_users SET opted_out_at = ?, opt_out_keyword = 'STOP' WHERE id = ?",
                        (at, user_id))
        # conversions: 2 days on average after a send, some weeks later
        pick = rng.choice(m, conversions, replace=True)
        delay = np.where(rng.random(conversions) < 0.9, rng.exponential(2 * 86400, conversions),
                         rng.uniform(10, 40, conversions) * 86400)
        con.executemany(
            "INSERT INTO conversions (id, external_id, user_id, occurred_at, value) VALUES (?, ?, ?, ?, ?)",
            zip(range(1, conversions + 1), [f"order-{i}" for i in range(conversions)], m_user[pick].tolist(),
                _iso(sent_s[pick] + delay).tolist(), np.round(rng.uniform(5, 200, conversions), 2).tolist()),
        )
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("ANALYZE")
    con.close()
    return {"campaigns": campaigns, "leads": n, "users": users, "messages": m,
            "inbound": replies, "conversions": conversions}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--leads", type=int, default=1_000_000)
    args = parser.parse_args()
    start = time.perf_counter()
    counts = generate(args.path, leads=args.leads, users=max(args.leads * 4 // 5, 10_000),
                      replies=args.leads * 3 // 20, conversions=args.leads // 20)
    print(f"{counts} in {time.perf_counter() - start:.1f} s -> {args.path}")


if __name__ == "__main__":
    main()
