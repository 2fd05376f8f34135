"""Send throughput and rate-limit accuracy against the local Twilio server (not part of the tests).

    .venv/bin/python benchmarks/bench_send.py [--leads 10000] [--latency 0.005] [--db URL]

The server runs in its own process (``python -m campaign_sdk.testing``) and answers every request
after ``--latency`` seconds. Measured in one run, on the same server:

1. baseline: a naive *concurrent* loop over twilio-python's ``client.messages.create`` with
   ``--max-in-flight`` requests in flight (a thread pool of that size; no bookkeeping), as many
   messages as ``--leads``, through the same ``twilio.rest.Client`` (the same HTTP client and
   connection pool) as the sends; it runs before, between and after the two sends below, and
   each send is compared with the mean of the two runs around it (the machine is shared: its
   load drifts during a run, which would otherwise favour one side);
2. ``campaign.send()`` of ``--leads`` leads with the crash-safe bookkeeping (intent rows committed
   before each request, SIDs recorded by the writer) and the delivery plan (who is due, deferred,
   capped) on a SQLite file (or ``--db``), no rate limit, the same in-flight count; the server's
   log is checked for exactly one message per lead;
3. the same with as many *deferred* leads again (German numbers whose send window is closed
   and opens in ten minutes, so the local worker holds them, not Twilio's scheduler):
   the throughput for the due leads (sent / duration) must not drop;
4. ``campaign.send(rate=50)`` of ``--rate-leads`` leads: the achieved rate must be within 5% of 50/s.

Targets (issue 13): (2) >= 0.9x the baseline; (3) >= 0.9x the baseline; (4) within 5% of 50/s.
Exit status 1 if a target is missed.

Also printed, for information (not a target): each send's delivery plan time (its fixed cost per
call, timed around the engine's call of the plan) and the ratio the send would reach without it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from twilio.rest import Client

from campaign_sdk import CampaignClient, DeliveryPolicy, SendWindow
from campaign_sdk.sending import _engine
from campaign_sdk.gateways import TwilioGateway
from campaign_sdk.testing import LocalTwilioHttpClient

SERVICE_SID = "MG" + "7" * 32


def start_server(latency: float) -> tuple[subprocess.Popen[str], str, str, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "campaign_sdk.testing", "--latency", str(latency)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    _, url, account, token = process.stdout.readline().split()
    return process, url, account, token


def state(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/_test/state") as response:
        return json.load(response)


def leads(count: int, start: int) -> pd.DataFrame:
    areas = (415, 212, 646, 312, 206, 617)  # +1 AAA 555 NNNN: valid for libphonenumber
    phones = [f"+1{areas[i // 10_000]}555{i % 10_000:04d}" for i in range(start, start + count)]
    return pd.DataFrame({"phone_number": phones, "lead_name": "Ana", "order_id": [f"A-{i}" for i in range(count)]})


def german(count: int) -> pd.DataFrame:
    phones = [f"+49151{i:08d}" for i in range(10_000_000, 10_000_000 + count)]
    return pd.DataFrame({"phone_number": phones, "lead_name": "Ana", "order_id": [f"D-{i}" for i in range(count)]})


def approved_campaign(client: CampaignClient, url: str, name: str, frame: pd.DataFrame):
    campaign = client.create_campaign(name, template="order_confirmation")
    report = campaign.add_leads(frame)
    assert report.inserted == len(frame), report
    campaign.submit_for_approval(category="UTILITY")
    body = json.dumps({"content_sid": campaign._row().content_sid, "status": "approved"}).encode()
    urllib.request.urlopen(urllib.request.Request(f"{url}/_test/approval", data=body, method="POST")).close()
    campaign.sync_approval()  # WhatsApp approved it on the server's side
    return campaign.enable()


def naive_concurrent_loop(twilio: Client, content_sid: str, count: int, in_flight: int) -> float:
    """``messages.create`` from ``in_flight`` threads, nothing recorded: the baseline."""

    def one(i: int) -> None:
        twilio.messages.create(
            to=f"whatsapp:+1999{i:07d}", messaging_service_sid=SERVICE_SID, content_sid=content_sid,
            content_variables=json.dumps({"1": "Ana", "2": f"N-{i}"}),
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(in_flight) as pool:
        list(pool.map(one, range(count)))
    return count / (time.perf_counter() - started)


def closed_in_berlin() -> SendWindow:
    """A window that opens in about ten minutes in Berlin: German leads are deferred now, and to
    the local worker (Twilio's scheduler takes a SendAt only 15 minutes ahead or more)."""
    start = (dt.datetime.now(ZoneInfo("Europe/Berlin")) + dt.timedelta(minutes=10)).replace(second=0, microsecond=0)
    return SendWindow(start=start.strftime("%H:%M"), end=(start + dt.timedelta(hours=2)).strftime("%H:%M"))


PLAN_SECONDS: list[float] = []  # each send()'s delivery plan, in call order


def _timed_plan() -> None:
    """Time the engine's call of the plan (information only: the plan itself is unchanged)."""
    decide = _engine.decide

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return decide(*args, **kwargs)
        finally:
            PLAN_SECONDS.append(time.perf_counter() - started)

    _engine.decide = timed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--baseline", type=int, default=None, help="messages in the naive loop (default --leads)")
    parser.add_argument("--rate-leads", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.005)
    parser.add_argument("--max-in-flight", type=int, default=16)
    parser.add_argument("--db", default=None, help="SQLAlchemy URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    _timed_plan()

    server, url, account, token = start_server(args.latency)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
            http = LocalTwilioHttpClient(url, pool_size=64)
            twilio = Client(account, token, http_client=http)
            gateway = TwilioGateway(twilio, messaging_service_sid=SERVICE_SID, rate=None)
            with CampaignClient(db, gateway=gateway) as client:
                client.delivery_policy = DeliveryPolicy(window=SendWindow(start="00:00", end="23:59"),
                                                        countries={"DE": closed_in_berlin()})
                campaign = approved_campaign(client, url, "Bench", leads(args.leads, 0))
                content_sid = campaign._row().content_sid
                mixed_frame = pd.concat([leads(args.leads, args.leads + args.rate_leads), german(args.leads)])
                mixed = approved_campaign(client, url, "Bench deferred", mixed_frame)

                count = args.baseline or args.leads
                # the baseline before and after each send: each send is compared with the mean of
                # the two around it, so a change of the machine's load during the run does not
                # favour either side
                cpu = [time.process_time()]  # this process's CPU time (every thread) after each step
                baselines = [naive_concurrent_loop(twilio, content_sid, count, args.max_in_flight)]
                cpu.append(time.process_time())
                loads = [os.getloadavg()[0]]
                report = campaign.send(max_in_flight=args.max_in_flight, progress=False)
                cpu.append(time.process_time())
                baselines.append(naive_concurrent_loop(twilio, content_sid, count, args.max_in_flight))
                cpu.append(time.process_time())
                loads.append(os.getloadavg()[0])
                mixed_report = mixed.send(max_in_flight=args.max_in_flight, progress=False)
                cpu.append(time.process_time())
                baselines.append(naive_concurrent_loop(twilio, content_sid, count, args.max_in_flight))
                cpu.append(time.process_time())
                loads.append(os.getloadavg()[0])
                sent = Counter(
                    m["to"] for m in state(url)["messages"] if m["content_sid"] == content_sid
                    and not m["to"].startswith("whatsapp:+1999")
                )
                exactly_once = len(sent) == args.leads and set(sent.values()) == {1}

                limited = approved_campaign(client, url, "Bench rate 50", leads(args.rate_leads, args.leads))
                limited_sid = limited._row().content_sid
                limited_report = limited.send(rate=50, max_in_flight=args.max_in_flight, progress=False)
                arrivals = sorted(
                    r["at"] for r in state(url)["requests"]
                    if r["method"] == "POST" and r["path"].endswith("/Messages.json")
                    and (r["form"].get("ContentSid") or [""])[0] == limited_sid
                )
                arrival_rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
            http.close()
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=10)

    throughput = report.sent / report.duration
    due_throughput = mixed_report.sent / mixed_report.duration
    baseline = (baselines[0] + baselines[1]) / 2  # around the send
    mixed_baseline = (baselines[1] + baselines[2]) / 2  # around the send with deferred leads
    results = {
        "leads": args.leads, "latency_s": args.latency, "db": (args.db or "sqlite file").split("://")[0],
        "max_in_flight": args.max_in_flight,
        "baselines_naive_concurrent_msg_per_s (before, between, after the sends)": [round(b, 1) for b in baselines],
        "load_1min_after_each_baseline": [round(load, 2) for load in loads],
        "baseline_naive_concurrent_msg_per_s": round(baseline, 1),
        "send_msg_per_s": round(throughput, 1),
        "ratio_vs_naive_concurrent": round(throughput / baseline, 2),
        "ratio_vs_the_baseline_before_only (information)": round(throughput / baselines[0], 2),
        "send_duration_s": round(report.duration, 2),
        "plan_s (fixed cost per call: send, with deferred, rate=50)": [round(s, 2) for s in PLAN_SECONDS],
        "ratio_without_the_plan (information)": round(
            report.sent / (report.duration - PLAN_SECONDS[0]) / baseline, 2),
        "with_deferred": {"sent": mixed_report.sent, "deferred": mixed_report.deferred,
                          "scheduled_at_twilio": mixed_report.scheduled,
                          "due_msg_per_s": round(due_throughput, 1),
                          "ratio_vs_naive_concurrent": round(due_throughput / mixed_baseline, 2)},
        "cpu_ms_per_msg (information: this process, every thread; baselines, send, with deferred)": {
            "baselines": [round(1000 * (cpu[i + 1] - cpu[i]) / count, 3) for i in (0, 2, 4)],
            "send": round(1000 * (cpu[2] - cpu[1]) / args.leads, 3),
            "with_deferred (per due lead)": round(1000 * (cpu[4] - cpu[3]) / args.leads, 3),
        },
        "exactly_once": exactly_once,
        "rate50_report_msg_per_s": round(limited_report.sent / limited_report.duration, 2),
        "rate50_server_arrival_msg_per_s": round(arrival_rate, 2),
    }
    targets = {
        ">= 0.9x the naive concurrent loop": throughput >= 0.9 * baseline,
        "with deferred leads: due leads >= 0.9x the naive concurrent loop": due_throughput >= 0.9 * mixed_baseline
        and mixed_report.sent == args.leads and sum(mixed_report.deferred.values()) == args.leads,
        "exactly once": exactly_once,
        "rate=50 within 5% (server arrivals)": abs(arrival_rate - 50) <= 2.5,
        "rate=50 within 5% (whole send() call)": abs(results["rate50_report_msg_per_s"] - 50) <= 2.5,
    }
    print(json.dumps(results, indent=2))
    for target, ok in targets.items():
        print(f"{'PASS' if ok else 'FAIL'}  {target}")
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
