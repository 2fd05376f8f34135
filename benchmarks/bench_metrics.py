"""How fast is ``client.metrics()`` for every campaign, against the limit (the same query on
native DuckDB tables already in memory) and against pandas ``read_sql`` + groupby?

    python benchmarks/bench_metrics.py [--store /tmp/bench/bench.db] [--leads 1000000] [--repeat 5]

The store (100 campaigns, 1M leads, ~1M messages with ~4 status events each, 150k inbound, 50k
conversions) is generated on first use by ``make_bench_store.py``. Measured in one run, each in a fresh process:

- the limit: the SQL ``client.metrics()`` runs (plus the same pandas finishing) on plain
  in-memory DuckDB tables, timed in the same process right after / alternately with the calls
  it is compared with (the machine is shared with other work, so only ratios taken side by
  side mean anything);
- cold (first build): the first ``metrics()`` call in a fresh process, no mirror file yet;
- cold (mirror file): the first call in a fresh process when an earlier process left the mirror
  file beside the store (the usual case): every table is fingerprinted against the store;
- warm: repeated calls in one process, nothing changed;
- warm after a change: 100 status callbacks, 10 replies and a conversion written by another
  connection, then one call (it must, and is checked to, see them);
- pandas: ``read_sql`` of the same tables + pandas (merge_asof) computing the same definitions,
  its counts checked equal to the DuckDB ones.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_bench_store import generate  # noqa: E402

from campaign_sdk.analytics import _definitions as definitions  # noqa: E402
from campaign_sdk.analytics._metrics import _top_errors, add_rates  # noqa: E402
from campaign_sdk.analytics._mirror import CACHE_SUFFIX, VIEWS  # noqa: E402
from campaign_sdk.analytics._store import TABLES, Source  # noqa: E402

SENT = ("sent", "delivered", "read")
WEEK_US = 7 * 86400 * 1_000_000
COUNTS = list(definitions.COUNTS)

CHILD = r"""
import json, sqlite3, sys, time
t0 = time.perf_counter()
from campaign_sdk import CampaignClient
from campaign_sdk.analytics import mirror_for
client = CampaignClient(sys.argv[1])
opened = time.perf_counter() - t0
t = time.perf_counter(); first = client.metrics(); cold = time.perf_counter() - t
stats = dict(mirror_for(client.engine).stats)
# the limit, in this process: the same query on native in-memory DuckDB tables, timed
# alternately with the warm calls so that both see the same machine
import duckdb
sys.path.insert(0, sys.argv[4])
from bench_metrics import native_metrics
native_con = duckdb.connect()
native_con.execute("SET enable_progress_bar = false")
for name in ("campaigns", "users", "leads", "messages", "replies", "conversions"):
    native_con.register("src", client.sql(f"select * from {name}").arrow())
    native_con.execute(f"CREATE TABLE {name} AS SELECT * FROM src")
    native_con.unregister("src")
warm, native = [], []
for _ in range(int(sys.argv[2])):
    t = time.perf_counter(); again = client.metrics(); warm.append(time.perf_counter() - t)
    t = time.perf_counter(); limit = native_metrics(native_con); native.append(time.perf_counter() - t)
assert again.equals(first)
assert limit[%r].equals(first[%r])
native_con.close()
changed = None
if sys.argv[3] == "change":
    path = sys.argv[1].removeprefix("sqlite:///")
    with sqlite3.connect(path) as other:  # another process's writes: callbacks, replies, a conversion
        other.execute("UPDATE outbound_messages SET status = 'read', read_at = status_at, status_at = '2026-01-01 00:00:00.000000'"
                      " WHERE id IN (SELECT m.id FROM outbound_messages m JOIN campaign_leads l ON l.id = m.lead_id"
                      " WHERE m.status = 'delivered' AND l.removed_at IS NULL ORDER BY m.id DESC LIMIT 100)")
        user = other.execute("SELECT user_id, created_at FROM outbound_messages WHERE status = 'read' ORDER BY id DESC LIMIT 1").fetchone()
        for i in range(10):
            other.execute("INSERT INTO inbound_messages (sid, user_id, body, kind, received_at) VALUES (?, ?, 'ok', 'reply', ?)",
                          (f"bench-{time.time_ns()}-{i}", user[0], user[1]))
        other.execute("INSERT INTO conversions (external_id, user_id, occurred_at) VALUES (?, ?, ?)",
                      (f"bench-{time.time_ns()}", user[0], user[1]))
    t = time.perf_counter(); after = client.metrics(); changed = time.perf_counter() - t
    assert after["read"].sum() == first["read"].sum() + 100, "a warm call missed status updates"
    changed_stats = {k: v - stats.get(k, 0) for k, v in mirror_for(client.engine).stats.items()}
else:
    changed_stats = None
client.close()
print(json.dumps({"opened": opened, "cold": cold, "warm": warm, "native": native, "changed": changed, "stats": stats,
                  "changed_stats": changed_stats, "totals": first[%r].sum().astype(int).tolist()}))
""" % (COUNTS, COUNTS, COUNTS)  # noqa: UP031 - the child is Python source: braces stay literal


def child(url: str, repeat: int, change: bool) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, url, str(repeat), "change" if change else "-",
                          str(Path(__file__).resolve().parent)],
                         capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"the measuring process failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout[out.stdout.rindex('{"opened"'):].splitlines()[0])


def native_connection(engine: sa.Engine) -> duckdb.DuckDBPyConnection:
    """Plain in-memory DuckDB tables holding the store (loaded once, not timed)."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    source = Source(engine)
    con.execute("CREATE SCHEMA mirror")
    for table in TABLES.values():
        con.execute(f"CREATE TABLE mirror.{table.name} ({table.ddl})")
        rows, ranges = source.id_ranges(table)
        for chunk in source.fetch([(table, r) for r in ranges], rows=rows):
            con.register("chunk", chunk)
            con.execute(f"INSERT INTO mirror.{table.name} {table.duck_select()}")
            con.unregister("chunk")
        # native tables under the view names, without the mirror's version column
        con.execute(f"CREATE TABLE main.{table.name} AS {VIEWS[table.name]}")
    con.execute("DROP SCHEMA mirror CASCADE")
    source.close()
    return con


def native_metrics(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Exactly what ``campaign_metrics`` runs, on native tables."""
    sql = definitions.counts_sql(definitions.lead_facts_sql(), None)
    counts = con.execute(sql, {"reply_us": WEEK_US, "attribution_us": WEEK_US, "campaign_ids": None}).df()
    wide = add_rates(counts.drop(columns="errors"))
    wide["top_errors"] = [_top_errors(e) for e in counts["errors"]]
    return wide


def pandas_metrics(engine: sa.Engine) -> pd.DataFrame:
    """The same definitions with pandas: read_sql, merge_asof for last-touch attribution, groupby."""
    def read(sql: str, *times: str) -> pd.DataFrame:
        frame = pd.read_sql(sql, engine)
        for column in times:
            frame[column] = pd.to_datetime(frame[column], format="ISO8601")
        return frame

    campaigns = read("SELECT id, name FROM campaigns")
    leads = read("SELECT id, campaign_id, user_id, removed_at FROM campaign_leads")
    messages = read("SELECT id, lead_id, user_id, status, error_code, created_at FROM outbound_messages", "created_at")
    inbound = read("SELECT id, user_id, kind, received_at FROM inbound_messages", "received_at")
    conversions = read("SELECT id, user_id, occurred_at FROM conversions", "occurred_at")

    latest = messages.sort_values(["lead_id", "created_at", "id"]).drop_duplicates("lead_id", keep="last")
    touches = (messages[messages["status"].isin(SENT)].sort_values(["user_id", "created_at", "id"])
               .drop_duplicates(["user_id", "created_at"], keep="last")
               .rename(columns={"created_at": "touched_at"})[["user_id", "touched_at", "lead_id"]])
    events = pd.concat([
        inbound.rename(columns={"received_at": "event_at"})[["user_id", "kind", "event_at"]],
        conversions.rename(columns={"occurred_at": "event_at"}).assign(kind="conversion")[["user_id", "kind", "event_at"]],
    ], ignore_index=True)
    attributed = pd.merge_asof(events.sort_values("event_at"), touches.sort_values("touched_at"),
                               left_on="event_at", right_on="touched_at", by="user_id", direction="backward")
    attributed = attributed[attributed["touched_at"].notna()
                            & (attributed["event_at"] - attributed["touched_at"] <= pd.Timedelta(days=7))]
    by_kind = {k: set(g["lead_id"].astype("int64")) for k, g in attributed.groupby("kind")}

    facts = leads[leads["removed_at"].isna()].merge(
        latest[["lead_id", "status", "error_code"]], left_on="id", right_on="lead_id", how="left")
    sent = facts["status"].isin(SENT)
    facts = facts.assign(
        total_leads=True, messages_sent=sent, delivered=facts["status"].isin(["delivered", "read"]),
        read=facts["status"] == "read", not_received=facts["status"].isin(["failed", "undelivered"]),
        attempted=sent | facts["status"].isin(["failed", "undelivered"]),
        messages_replied=sent & facts["id"].isin(by_kind.get("reply", set())),
        opted_out=sent & facts["id"].isin(by_kind.get("opt_out", set())),
        converted=sent & facts["id"].isin(by_kind.get("conversion", set())),
    )
    counts = facts.groupby("campaign_id")[COUNTS].sum()
    wide = campaigns.rename(columns={"id": "campaign_id", "name": "campaign"}).merge(
        counts, left_on="campaign_id", right_index=True, how="left").fillna(dict.fromkeys(COUNTS, 0))
    return add_rates(wide)


def timed(function, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=Path("/tmp/campaign_sdk_bench/bench.db"))
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    store = args.store.resolve()
    url = f"sqlite:///{store}"
    if not store.exists():
        store.parent.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        counts = generate(store, leads=args.leads, users=max(args.leads * 4 // 5, 10), replies=args.leads * 3 // 20,
                          conversions=args.leads // 20)
        print(f"generated {counts} in {time.perf_counter() - start:.1f} s")
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        sizes = {t.name: connection.exec_driver_sql(f"SELECT count(*) FROM {t.source}").scalar() for t in TABLES.values()}
    print(f"store {store}: {sizes}")

    for suffix in ("", ".wal"):
        if os.path.exists(str(store) + CACHE_SUFFIX + suffix):
            os.remove(str(store) + CACHE_SUFFIX + suffix)
    build = child(url, args.repeat, change=False)  # builds the mirror file
    cached = [child(url, args.repeat, change=False) for _ in range(2)]

    con = native_connection(engine)
    native_here, native_frame = timed(lambda: native_metrics(con), args.repeat)
    pandas_time, pandas_frame = timed(lambda: pandas_metrics(engine), 1)
    native_here = min(native_here, timed(lambda: native_metrics(con), args.repeat)[0])
    expected = native_frame[COUNTS].sum().astype(int).tolist()
    assert build["totals"] == expected == cached[0]["totals"], (build["totals"], expected)
    pd.testing.assert_frame_equal(pandas_frame[["campaign_id", *COUNTS]].astype("int64"),
                                  native_frame[["campaign_id", *COUNTS]].astype("int64"))
    changed = child(url, args.repeat, change=True)  # last: it writes to the store

    def med(values: list[float]) -> float:
        return statistics.median(values)

    print("\nEach process measures the limit (native DuckDB in memory, same query) next to its own calls.")
    print(f"{'':44s} {'seconds':>8s} {'limit':>7s} {'x limit':>8s}")
    rows = [
        ("cold, first build (no mirror file)", build["cold"], med(build["native"])),
        *[(f"cold, mirror file present (run {i + 1})", c["cold"], med(c["native"])) for i, c in enumerate(cached)],
        *[(f"warm, nothing changed (run {i + 1})", med(c["warm"]), med(c["native"]))
          for i, c in enumerate([build, *cached])],
        ("warm after 100 callbacks + 11 inserts", changed["changed"], med(changed["native"])),
        ("pandas read_sql + groupby (this process)", pandas_time, native_here),
    ]
    for label, seconds, limit in rows:
        print(f"{label:44s} {seconds:8.3f} {limit:7.3f} {seconds / limit:8.2f}")
    print(f"\npandas is {pandas_time / med([w for c in [build, *cached] for w in c['warm']]):.1f}x a warm call and "
          f"{pandas_time / min(c['cold'] for c in cached):.1f}x a cold call with the mirror file")
    print(f"client open (import + migrations check) in a fresh process: {cached[0]['opened']:.2f} s, not counted")
    print(f"first build read: {build['stats']}; cold with file read: {cached[0]['stats']}")
    print(f"after the change read: {changed['changed_stats']}")


if __name__ == "__main__":
    main()
