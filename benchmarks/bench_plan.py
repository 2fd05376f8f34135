"""campaign.plan() over 1M leads vs a single DuckDB join of the leads with their users (same store, same run).

    python benchmarks/bench_plan.py [--leads 1000000] [--store /tmp/bench_plan.db] [--keep] [--repeat 5] [--views]

The store (SQLite, built here with raw sqlite3 inserts unless --store names an existing one) has
one marketing campaign with ``--leads`` leads whose numbers are spread over 12 countries (US area
codes from libphonenumber's own zone data; multi-zone AU / BR / RU / MX mobiles; GB, DE, FR, IN,
JP, ZA, ES), 2% with a ``timezone`` variable (a tenth of them invalid), and a second campaign
whose 300,000 earlier messages feed the frequency caps. The policy is the default window plus
caps 1/24h and 3/7d, a WhatsApp messaging tier of 100,000 and the sandbox's price table
(``--policy default``: the default window only).

Both timings run on the analytics mirror after it is loaded once (its load is reported apart):
the baseline is ``SELECT ... FROM leads JOIN users`` for the campaign fetched as a DataFrame
(through Arrow, as plan() fetches its result).
plan() keeps each person's zones (``delivery/_zone_cache.py``) and each lead's content (its
rendered message, SMS size, content reason and ``timezone`` override, with its person's place:
``delivery/_content_cache.py``) beside the mirror, so only its first run on a store (or after the leads' variables or the
templates change) computes them; and a plan whose every lead was cached keeps its lead rows in memory
(``delivery/_memo.py``), which the next plan of the same campaign reuses while the store's leads, users
and messages and the content cache stay the same (the first warm plan reads them, the leads and
their cache rows by two queries put side by side, no join of the two; the later ones reuse them).
Both are measured: first one *cold* plan() (in this new process, with both caches dropped: what
the first plan of a store pays), then ``--repeat`` rounds of *warm* ones (the caches filled by the
cold one), each round after a run of the baseline and one plan of each kind: with nothing changed
(the kept rows reused), right after a real store change made by another program (raw SQL on the
store: an earlier campaign's message to one of the campaign's people, one lead's variables, one
person's opt-out; the plan must show it, which is checked), and with nothing kept in memory (as a
new process that cannot use the saved rows: every lead row read). Then, each round, this process
closes the store (its kept rows are saved beside the mirror, ``_memo.save``) and a new process
(``--child``) times its first plan() twice: with nothing changed in between (the saved rows
loaded), and after an opt-out made while no process had the store open (loaded, then patched;
the child checks the plan shows it); this process then opens the store again. ``--cold`` drops the caches
before every plan() instead. The number of people whose zones and of leads whose content each
plan() computed is printed, and whether it reused the kept lead rows, patched them (read only the
changed ones) or read them all. The target is plan() within 5x of the baseline; the medians are
compared, each kind's ratio printed. Wall time and the process's CPU time are both reported with
the load average: on a machine shared with other work the CPU-time ratio is the steadier one, and
the verdict is on it, on the worst of the kinds in one process (no change, and after each store
change); the new processes' first plans, every row read, and the cold plan get a line each.
``--views`` also
times ``preflight()`` and the plan ``send()`` runs (``sending._planned.decide``, decisions only)
under the same policy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median

import numpy as np
import phonenumbers
from phonenumbers.tzdata import TIMEZONE_DATA

import campaign_sdk as cs
from campaign_sdk.analytics import mirror_for
from campaign_sdk.delivery import DeliveryPolicy, FrequencyCap, _content_cache, _memo, _zone_cache
from campaign_sdk.delivery._reasons import SKIP
from campaign_sdk.sending._planned import decide

NOW = dt.datetime(2026, 3, 8, 15, 0, tzinfo=dt.UTC)  # a DST day in the US
TARGET = 5.0  # issue 13: plan() within 5x of the join
# a new process's first plan (the store closed by this one, its plan rows saved): nothing changed
# in between, and another program's change made in between
NEW_PROCESS = ("a new process's first plan", "a new process's first plan after an opt-out made in between")
EVERY_ROW = "nothing kept, every lead row read (a new process that cannot use the saved rows)"
STAMP = "2026-03-01 00:00:00.000000"
OTHERS = {"AU": 0.06, "BR": 0.06, "RU": 0.04, "MX": 0.04, "GB": 0.06, "DE": 0.05, "FR": 0.04, "IN": 0.06,
          "JP": 0.03, "ZA": 0.02, "ES": 0.04}


def _phones(n: int, rng: np.random.Generator) -> list[str]:
    areas = sorted({k[1:4] for k in TIMEZONE_DATA if k.startswith("1") and len(k) == 4})
    share_us = 1 - sum(OTHERS.values())
    counts = rng.multinomial(n, [share_us, *OTHERS.values()])
    out = [f"+1{a}{x}{line:04d}" for a, x, line in zip(
        rng.choice(areas, counts[0]), rng.integers(200, 999, counts[0]), rng.integers(0, 10_000, counts[0]))]
    for region, k in zip(OTHERS, counts[1:]):
        example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        head = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)[:-6]
        out += [f"{head}{d:06d}" for d in rng.integers(0, 1_000_000, k)]
    rng.shuffle(out)
    # keep valid numbers only, as add_leads would
    return [p for p in dict.fromkeys(out) if phonenumbers.is_valid_number(phonenumbers.parse(p))]


def build(path: Path, leads: int, seed: int = 13) -> None:
    rng = np.random.default_rng(seed)
    with cs.CampaignClient(f"sqlite:///{path}") as client:
        content = cs.TwilioTextContext(body="Hi {{lead_name}}, new offers in {{city}} this week! Reply STOP to opt out.")
        client.create_campaign("Plan bench", content=content)
        client.create_campaign("Earlier", content=content)
    phones = _phones(leads + leads // 4, rng)[:leads]
    n = len(phones)
    zones = np.where(rng.random(n) < 0.02, np.where(rng.random(n) < 0.1, "Mars/Base", "Europe/Lisbon"), "")
    cities = np.array(["Austin", "Boston", "São Paulo", "Sydney", "Moscow", "Zürich"])[rng.integers(0, 6, n)]
    variables = [json.dumps({"lead_name": f"P{i}", "city": c, **({"timezone": z} if z else {})})
                 for i, c, z in zip(range(n), cities.tolist(), zones.tolist())]
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    with con:
        con.executemany("INSERT INTO conversation_users (id, phone_number, created_at) VALUES (?, ?, ?)",
                        zip(range(1, n + 1), phones, [STAMP] * n))
        con.executemany(
            "INSERT INTO campaign_leads (id, campaign_id, user_id, custom_variables, created_at, updated_at)"
            " VALUES (?, 1, ?, ?, ?, ?)", zip(range(1, n + 1), range(1, n + 1), variables, [STAMP] * n, [STAMP] * n))
        earlier = rng.choice(n, min(300_000, n), replace=False) + 1
        hours = rng.uniform(1, 24 * 9, earlier.size)
        sent = [(NOW - dt.timedelta(hours=float(h))).strftime("%Y-%m-%d %H:%M:%S.%f") for h in hours]
        con.executemany(
            "INSERT INTO campaign_leads (id, campaign_id, user_id, custom_variables, created_at, updated_at)"
            " VALUES (?, 2, ?, '{}', ?, ?)",
            zip(range(n + 1, n + 1 + earlier.size), earlier.tolist(), [STAMP] * earlier.size, [STAMP] * earlier.size))
        con.executemany(
            "INSERT INTO outbound_messages (id, sid, campaign_id, lead_id, user_id, to_number, status, created_at,"
            " status_at, sent_at) VALUES (?, ?, 2, ?, ?, ?, 'delivered', ?, ?, ?)",
            zip(range(1, earlier.size + 1), [f"SM{i:032x}" for i in range(earlier.size)],
                range(n + 1, n + 1 + earlier.size), earlier.tolist(), [phones[u - 1] for u in earlier.tolist()],
                sent, sent, sent))
    con.close()


def _policy(kind: str) -> DeliveryPolicy:
    return DeliveryPolicy(caps=[FrequencyCap(limit=1, per="24h"), FrequencyCap(limit=3, per="7d")],
                          messaging_tier=100_000) if kind == "full" else DeliveryPolicy()


def child(store: Path, policy: str, check: int | None) -> None:
    """A new process's first plan (``--child``): the mirror loaded first (not timed), then one
    plan() timed; prints its times and how it got its lead rows, as JSON. ``check``: a lead
    whose person opted out before this process started (the plan must skip it)."""
    with cs.CampaignClient(f"sqlite:///{store}") as client:
        campaign = client.campaign("Plan bench")
        with mirror_for(client.engine).reading():
            pass
        start, cpu = time.perf_counter(), time.process_time()
        plan = campaign.plan(policy=_policy(policy), now=NOW)
        took = time.perf_counter() - start, time.process_time() - cpu
        how = [k for k in ("loaded", "reused", "patched", "read") if _memo.STATS[k]]
        if check is not None:
            assert plan.loc[plan["lead_id"].to_numpy() == check, "reason"].iloc[0] == "opted_out", check
    print(json.dumps({"wall": took[0], "cpu": took[1], "how": how}))


def _new_process(store: Path, policy: str, check: int | None) -> tuple[float, float, list[str]]:
    command = [sys.executable, __file__, "--child", "--store", str(store), "--policy", policy]
    found = subprocess.run([*command, *(["--check", str(check)] if check is not None else [])],
                           capture_output=True, text=True, check=True)
    result = json.loads(found.stdout.strip().splitlines()[-1])
    return result["wall"], result["cpu"], result["how"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--store", type=Path, default=Path("/tmp/bench_plan.db"))
    parser.add_argument("--keep", action="store_true", help="keep a store built here")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each; medians are reported")
    parser.add_argument("--views", action="store_true", help="also time preflight() and send()'s decide()")
    parser.add_argument("--cold", "--cold-zones", action="store_true",
                        help="drop the zone and content caches before every plan() (every timed plan is cold)")
    parser.add_argument("--policy", choices=["full", "default"], default="full",
                        help="full: caps 1/24h + 3/7d and a 100,000 messaging tier; default: DeliveryPolicy()")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--check", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.store, args.policy, args.check)
    built = not args.store.exists()
    if built:
        start = time.perf_counter()
        build(args.store, args.leads)
        print(f"built {args.store} in {time.perf_counter() - start:.1f} s")
    policy = _policy(args.policy)
    try:
        client = cs.CampaignClient(f"sqlite:///{args.store}")
        try:
            campaign = client.campaign("Plan bench")
            start = time.perf_counter()
            with mirror_for(client.engine).reading():
                pass
            print(f"mirror load (once, not part of either timing): {time.perf_counter() - start:.2f} s")
            load = os.getloadavg()

            def drop_caches() -> None:
                with mirror_for(client.engine).reading(()) as con:
                    con.execute(f"DROP SCHEMA IF EXISTS {_zone_cache.schema(con)} CASCADE")

            def timed_plan(label: str, check: tuple[str, int] | None = None) -> tuple[float, float]:
                """One plan() timed; ``check``: (column, lead) the change just made shows in."""
                resolved, computed, before = (_zone_cache.STATS["resolved"], _content_cache.STATS["computed"],
                                              dict(_memo.STATS))
                start, cpu = time.perf_counter(), time.process_time()
                plan = campaign.plan(policy=policy, now=NOW)
                took = time.perf_counter() - start, time.process_time() - cpu
                how = [k for k in ("reused", "patched", "read") if _memo.STATS[k] > before.get(k, 0)]
                print(f"plan() {label}: {took[0]:.3f} s wall, {took[1]:.3f} s CPU; zones resolved for "
                      f"{_zone_cache.STATS['resolved'] - resolved:,} people, content computed for "
                      f"{_content_cache.STATS['computed'] - computed:,} leads; lead rows {'/'.join(how) or 'read'}")
                if check is not None:  # the change is in the plan (not timed)
                    column, lead = check
                    value = plan.loc[plan["lead_id"].to_numpy() == lead, column].iloc[0]
                    # a new name in its message; a skip (opted out, or over a cap after the new message)
                    assert (f"Changed{lead}" in value) if column == "message" else value in SKIP, (label, lead, value)
                return took

            drop_caches()
            cold_wall, cold_cpu = timed_plan("cold (new process, caches dropped)")
            raw = sqlite3.connect(args.store)  # the store changes a program makes between two plans
            rng = np.random.default_rng(int(time.time()))
            leads = raw.execute("SELECT min(id), max(id) FROM campaign_leads WHERE campaign_id = ?", [campaign.id]).fetchone()
            top = raw.execute("SELECT max(id) FROM campaign_leads").fetchone()[0]

            def new_message() -> tuple[str, int]:
                """An earlier campaign's message to a person of this one, delivered an hour ago."""
                user, lead = raw.execute("SELECT user_id, id FROM campaign_leads WHERE campaign_id <> ? AND id >= ?"
                                         " ORDER BY id LIMIT 1", [campaign.id, int(rng.integers(leads[1] + 1, top))]
                                         ).fetchone()
                sent = (NOW - dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
                with raw:
                    raw.execute("INSERT INTO outbound_messages (sid, campaign_id, lead_id, user_id, to_number, status,"
                                " created_at, status_at, sent_at) SELECT ?, campaign_id, id, user_id, 'x', 'delivered', ?,"
                                " ?, ? FROM campaign_leads WHERE id = ?", [f"SMb{rng.integers(1 << 60):x}", sent, sent,
                                                                           sent, lead])
                mine = raw.execute("SELECT id FROM campaign_leads WHERE campaign_id = ? AND user_id = ?",
                                   [campaign.id, user]).fetchone()[0]
                return "reason", mine

            def lead_change() -> tuple[str, int]:
                """One lead's variables change (a new name: its message changes)."""
                lead = int(rng.integers(leads[0], leads[1] + 1))
                with raw:
                    raw.execute("UPDATE campaign_leads SET custom_variables = json_set(custom_variables, '$.lead_name',"
                                " ?) WHERE id = ?", [f"Changed{lead}", lead])
                return "message", lead

            def opt_out() -> tuple[str, int]:
                """A person of the campaign opts out."""
                lead = int(rng.integers(leads[0], leads[1] + 1))
                with raw:
                    raw.execute("UPDATE conversation_users SET opted_out_at = ? WHERE id = (SELECT user_id FROM"
                                " campaign_leads WHERE id = ?)", [STAMP, lead])
                return "reason", lead

            def nothing_kept() -> tuple[str, int] | None:
                _memo.forget()  # as in a new process that cannot use the saved rows (on filled caches)
                return None

            # each kind of warm plan: what happened just before it (None: nothing)
            kinds: dict[str, Callable[[], tuple[str, int] | None] | None] = {
                "rows reused (no change)": None, "after a new message": new_message,
                "after a lead's variables change": lead_change, "after an opt-out": opt_out,
                EVERY_ROW: nothing_kept}
            joins, join_cpu = [], []
            plans: dict[str, list[tuple[float, float]]] = {kind: [] for kind in kinds}
            processes: dict[str, list[tuple[float, float]]] = {kind: [] for kind in NEW_PROCESS}
            views: dict[str, list[tuple[float, float]]] = {"preflight()": [], "send()'s decide()": []}
            for _ in range(args.repeat):
                start, cpu = time.perf_counter(), time.process_time()
                with mirror_for(client.engine).reading(("leads", "users")) as con:
                    joined = con.sql(
                        "SELECT l.id, l.custom_variables, u.phone_number FROM leads l JOIN users u ON u.id = l.user_id"
                        " WHERE l.campaign_id = $c", params={"c": campaign.id}).to_arrow_table().to_pandas()
                joins.append(time.perf_counter() - start)
                join_cpu.append(time.process_time() - cpu)
                for kind, change in kinds.items():
                    if args.cold:
                        drop_caches()
                    what = change() if change is not None else None
                    label = "cold (caches dropped)" if args.cold else f"warm, {kind}"
                    plans[kind].append(timed_plan(label, check=what))
                if args.views:  # the two other users of the plan, under the same policy
                    client.delivery_policy = policy
                    for name, run in (("preflight()", campaign.preflight),
                                      ("send()'s decide()", lambda c=client, k=campaign: decide(
                                          c._sessions, c.gateway, k.id, client_policy=policy, now=NOW))):
                        start, cpu = time.perf_counter(), time.process_time()
                        run()
                        views[name].append((time.perf_counter() - start, time.process_time() - cpu))
                if not args.cold:  # a new process's first plan, the store closed here (its rows saved)
                    client.close()
                    for kind in NEW_PROCESS:
                        check = opt_out()[1] if kind != NEW_PROCESS[0] else None  # made while no process is open
                        wall, cpu, how = _new_process(args.store, args.policy, check)
                        processes[kind].append((wall, cpu))
                        print(f"plan() {kind}: {wall:.3f} s wall, {cpu:.3f} s CPU; lead rows {'/'.join(how)}")
                    client = cs.CampaignClient(f"sqlite:///{args.store}")
                    campaign = client.campaign("Plan bench")
                    campaign.plan(policy=policy, now=NOW)  # its rows kept in memory again (not timed)
            raw.close()
            plan = campaign.plan(policy=policy, now=NOW)
            print(f"leads: {len(joined):,}  plan rows: {len(plan):,}")
            print(plan.groupby(["action", "reason"], dropna=False).size().to_string())
            load = (*load, *os.getloadavg())
            print(f"load average (1/5/15 min) at the start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
                  f"at the end {load[3]:.2f} {load[4]:.2f} {load[5]:.2f} ({os.cpu_count()} cores)")
            n = f"median of {args.repeat}"
            print(f"baseline join: {median(joins):.3f} s wall, {median(join_cpu):.3f} s CPU ({n}; wall "
                  f"{', '.join(f'{t:.3f}' for t in joins)})")
            ratios = {}
            for kind, times in (*plans.items(), *processes.items()):
                if not times:
                    continue
                wall, cpu = median(t for t, _ in times), median(c for _, c in times)
                ratios[kind] = (cpu / median(join_cpu), wall / median(joins))
                print(f"plan() {'cold' if args.cold else 'warm'}, {kind}: {wall:.3f} s wall, {cpu:.3f} s CPU ({n}; CPU "
                      f"{', '.join(f'{c:.3f}' for _, c in times)}) = {ratios[kind][0]:.2f}x CPU, "
                      f"{ratios[kind][1]:.2f}x wall the join")
            print(f"plan() cold:   {cold_wall:.3f} s wall, {cold_cpu:.3f} s CPU (once, the first of this process)")
            for name, times in views.items():
                if times:
                    print(f"{name + ':':14} {median(t for t, _ in times):.3f} s wall, {median(c for _, c in times):.3f} s CPU ({n})")
            # judged: the worst warm kind in one process (a new process's first plan is reported apart)
            judged = [k for k in kinds if k != EVERY_ROW]
            worst = max(judged, key=lambda k: ratios[k][0])
            cpu_ratio, wall = ratios[worst]
            verdict = "MET" if cpu_ratio <= TARGET else "MISSED"
            kind = "cold" if args.cold else "warm"
            what = "caches dropped before each" if args.cold else \
                f"the worst of {len(judged)} kinds, zones and content cached by an earlier plan: {worst}"
            print(f"verdict ({kind} plans, {what}): "
                  f"target plan() within {TARGET:g}x of the join: {verdict} ({cpu_ratio:.2f}x CPU, {wall:.2f}x wall)")
            for kind in (*NEW_PROCESS, EVERY_ROW):
                if kind in ratios:
                    first = ratios[kind][0]
                    print(f"plan() {kind}: {first:.2f}x CPU the join: "
                          f"{'within' if first <= TARGET else 'NOT within'} {TARGET:g}x")
            cold_ratio = cold_cpu / median(join_cpu)
            print(f"cold plan (the first on a store, caches empty): {cold_ratio:.2f}x CPU, "
                  f"{cold_wall / median(joins):.2f}x wall the join: {'within' if cold_ratio <= TARGET else 'NOT within'} "
                  f"{TARGET:g}x")
        finally:
            client.close()
    finally:
        if built and not args.keep:
            for suffix in ("", "-wal", "-shm", ".analytics.duckdb", ".analytics.duckdb.wal",
                           ".analytics.duckdb.plan-found.arrow", ".analytics.duckdb.plan-shown.arrow"):
                Path(str(args.store) + suffix).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
