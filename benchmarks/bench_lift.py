"""How fast is ``campaign.lift()`` for 5 arms over 1M leads, against ``client.metrics()`` on the
same store (the issue's target: within 2x), measured in one run and one process.

    python benchmarks/bench_lift.py [--store /tmp/bench/lift.db] [--leads 1000000] [--repeat 5]

The store (one marketing campaign, 1M leads over 1.2M people, 4 variants + a 20% holdout, one
message per treated lead with its statuses, 150k inbound messages, 50k conversions) is made on
first use with ``make_bench_store.generate``; the arms are assigned with the SDK's own hash and
the holdout's messages removed (a holdout is never sent). Some messages failed or are still
queued, and lift() counts those leads too (intention to treat: n = assigned per arm). Both calls
read the same DuckDB mirror:
each is called once first (the first call of the process builds the mirror, reported apart),
then ``--repeat`` times alternately (the machine is shared, so only side-by-side ratios count).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_bench_store import generate  # noqa: E402

from campaign_sdk import CampaignClient  # noqa: E402
from campaign_sdk.experiments import assign  # noqa: E402

SEED = "bench-lift"
WEIGHTS = {f"V{i}": 0.25 for i in range(1, 5)}
HOLDOUT = 0.2


def make_store(path: Path, leads: int) -> None:
    start = time.perf_counter()
    generate(path, campaigns=1, leads=leads, users=leads * 6 // 5, replies=leads * 3 // 20, conversions=leads // 20)
    con = sqlite3.connect(path)
    with con:
        content = json.dumps({"body": "Hi {{lead_name}}, new offers in {{city}} this week!"})
        con.execute("UPDATE campaigns SET experiment_seed = ?, holdout_fraction = ? WHERE id = 1", (SEED, HOLDOUT))
        con.executemany(
            "INSERT INTO campaign_variants (campaign_id, name, position, weight, content_type, content, approval_state,"
            " created_at) VALUES (1, ?, ?, ?, 'twilio/text', ?, 'approved', '2026-01-01 00:00:00.000000')",
            [(name, i, w, content) for i, (name, w) in enumerate(WEIGHTS.items())],
        )
        rows = con.execute(
            "SELECT l.id, u.phone_number FROM campaign_leads l JOIN conversation_users u ON u.id = l.user_id"
        ).fetchall()
        arms = assign(SEED, [phone for _, phone in rows], WEIGHTS, holdout=HOLDOUT)
        con.executemany("UPDATE campaign_leads SET variant = ? WHERE id = ?", zip(arms, (i for i, _ in rows)))
        con.execute("DELETE FROM outbound_messages WHERE lead_id IN "
                    "(SELECT id FROM campaign_leads WHERE variant = 'holdout')")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    print(f"made {path} ({leads:,} leads, 5 arms) in {time.perf_counter() - start:.1f} s")


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=Path("/tmp/bench/lift.db"))
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    args.store.parent.mkdir(parents=True, exist_ok=True)
    if not args.store.exists():
        make_store(args.store, args.leads)
    with CampaignClient(f"sqlite:///{args.store}") as client:
        campaign = client.campaign(1)
        first_metrics = timed(client.metrics)  # builds (or checks) the mirror: both calls then read it
        first_lift = timed(campaign.lift)
        metrics_s, lift_s = [], []
        for _ in range(args.repeat):
            metrics_s.append(timed(client.metrics))
            lift_s.append(timed(campaign.lift))
        table = campaign.lift()
    m, lft = statistics.median(metrics_s), statistics.median(lift_s)
    print(table[(table.metric == "conversion_rate") & (table.test == "fixed")][["arm", "assigned", "n", "events", "rate"]]
          .to_string(index=False))
    print(f"first call in the process: metrics() {first_metrics:.2f} s (mirror build), then lift() {first_lift:.2f} s")
    print(f"median of {args.repeat}: metrics() {m:.3f} s, lift() {lft:.3f} s -> lift / metrics = {lft / m:.2f}x"
          f" (target: within 2x)")


if __name__ == "__main__":
    main()
