"""Load check of Twilio's status callbacks against ``campaign-sdk serve`` (not a test).

    python benchmarks/bench_webhooks.py                       # SQLite file, 1 worker
    python benchmarks/bench_webhooks.py --db postgresql+psycopg://postgres@127.0.0.1:5432/test --workers 2
    python benchmarks/bench_webhooks.py --during-load 1000000 --rate 200   # callbacks while a load runs

The script runs against whichever ``campaign_sdk`` its interpreter imports, so the same script
measures the baseline too: ``/work/main/.venv/bin/python benchmarks/bench_webhooks.py`` (or
``PYTHONPATH=<a checkout of the baseline>``). Install the ``server`` extra as a deployment does
(``uvicorn[standard]``: uvloop and httptools); with the test extra alone uvicorn parses HTTP in
pure Python and the numbers are not the service's.

What it does, all on 127.0.0.1:
1. Builds a store with ``--messages`` campaign messages (status ``accepted``), through the real
   migrations; leads go in with ``add_leads``, messages with one bulk insert.
2. Makes ``--callbacks`` signed status callbacks (default 20,000): each message gets a realistic
   path (sent -> delivered -> read, or sent -> undelivered / failed with an error code), some
   callbacks are duplicated, and delivery times are jittered so many arrive out of order.
3. Starts ``campaign-sdk serve`` as its own process, and posts the callbacks from another process
   (a small asyncio HTTP/1.1 client over keep-alive connections, requests pre-signed so signing
   costs the load generator nothing) at the highest rate the server sustains with
   ``--concurrency`` requests in flight.
4. Baselines in the same run: the same load generator posting the same callbacks with a wrong
   signature (the server parses and checks them, then refuses them: HTTP + signature cost, no
   database write), and the recorder called in-process, one transaction per callback, no HTTP.
5. Verifies the store: every message has the status its callbacks lead to (the highest-ranked
   one, so none regressed) and every status time / error code its callbacks carried (no update
   lost), and the refused baseline changed nothing. With the durable inbox, callbacks answered
   ``pending`` (the store was busy) are waited for until the inbox has applied them.

``--busy-loop S`` (the control): instead of the load, ``--busy-processes`` processes spin on the
CPU for ``S`` seconds, touching no store; the same latencies then show what CPU starvation alone
costs on this machine.

``--during-load N``: another process bulk-loads ``N`` leads (``campaign.add_leads``) into the same
store while the signed callbacks are posted at ``--rate`` per second; the latencies of the requests
sent while that process runs are reported separately (the SQLite write lock is held for seconds
by the load's write phase).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import pandas as pd
import sqlalchemy as sa

from campaign_sdk import CampaignClient, service
from campaign_sdk.models import CampaignLead, ConversationUser, MessageStatus, OutboundMessage, utcnow

TOKEN = "bench-auth-token"
PUBLIC = "https://campaigns.bench.test"
PATH = "/twilio/status"
PATHS = [  # (weight, statuses in the order Twilio sends them)
    (55, ["sent", "delivered", "read"]),
    (20, ["sent", "delivered"]),
    (10, ["sending", "sent", "undelivered"]),
    (8, ["sent", "failed"]),
    (7, ["sent"]),
]
ERROR_CODES = [63024, 30008, 63016, 30007]
TIME_COLUMN = {"sent": "sent_at", "delivered": "delivered_at", "read": "read_at", "failed": "failed_at",
               "undelivered": "failed_at"}


def sign(params: dict[str, str]) -> str:
    payload = PUBLIC + PATH + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(TOKEN.encode(), payload.encode(), hashlib.sha1).digest()).decode()


# -- the store and the callbacks -----------------------------------------------------------
def build_store(url: str, messages: int) -> list[str]:
    with CampaignClient(url) as client:
        campaign = client.create_campaign(f"bench {time.time_ns()}", template="order_confirmation")
        phones = [f"+1415{n:07d}" for n in range(2_000_000, 2_000_000 + messages)]
        campaign.add_leads(pd.DataFrame({"phone_number": phones, "lead_name": "A", "order_id": "1"}))
        with client.transaction() as session:
            leads = session.execute(
                sa.select(CampaignLead.id, CampaignLead.user_id, ConversationUser.phone_number)
                .join(ConversationUser, ConversationUser.id == CampaignLead.user_id)
                .where(CampaignLead.campaign_id == campaign.id).order_by(CampaignLead.id)
            ).all()
            now = utcnow()
            rows = [{"sid": f"SM{campaign.id:08d}{i:024d}", "campaign_id": campaign.id, "lead_id": lead_id,
                     "user_id": user_id, "to_number": f"whatsapp:{phone}", "status": MessageStatus.ACCEPTED,
                     "created_at": now, "status_at": now} for i, (lead_id, user_id, phone) in enumerate(leads)]
            session.execute(sa.insert(OutboundMessage), rows)
        return [row["sid"] for row in rows]


def make_callbacks(sids: list[str], total: int, rng: random.Random) -> tuple[list[dict[str, str]], dict[str, dict]]:
    weights = [w for w, _ in PATHS]
    timed: list[tuple[float, dict[str, str]]] = []
    expected: dict[str, dict] = {}
    for index, sid in enumerate(sids):
        path = rng.choices([p for _, p in PATHS], weights)[0]
        start = index * 0.01
        code = str(rng.choice(ERROR_CODES))
        for step, status in enumerate(path):
            params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
                      "AccountSid": "AC" + "0" * 32, "To": "whatsapp:+14155552671", "ApiVersion": "2010-04-01"}
            if status in ("failed", "undelivered"):
                params["ErrorCode"] = code
            timed.append((start + step * 0.5 + rng.uniform(0, 1.5), params))  # jitter reorders steps
        final = max(path, key=lambda s: MessageStatus(s).rank)
        expected[sid] = {"status": final, "times": {TIME_COLUMN[s] for s in path if s in TIME_COLUMN},
                         "error_code": int(code) if final in ("failed", "undelivered") else None}
    if len(timed) > total:
        raise SystemExit(f"{len(sids):,} messages make {len(timed):,} callbacks, over --callbacks; use fewer messages")
    originals = len(timed)
    while len(timed) < total:  # duplicates (Twilio retries), delivered a little later than the original
        at, params = timed[rng.randrange(originals)]
        timed.append((at + rng.uniform(0, 3), dict(params)))
    timed.sort(key=lambda item: item[0])
    return [params for _, params in timed], expected


def out_of_order(callbacks: list[dict[str, str]]) -> int:
    """Callbacks that arrive after a higher-ranked status of the same message (in send order)."""
    best: dict[str, int] = {}
    late = 0
    for params in callbacks:
        rank = MessageStatus(params["MessageStatus"]).rank
        late += rank < best.get(params["MessageSid"], -1)
        best[params["MessageSid"]] = max(rank, best.get(params["MessageSid"], -1))
    return late


# -- the load generator (runs as its own process) ------------------------------------------
async def _connection(port: int, queue: list[bytes], latencies: list[float], statuses: dict[int, int],
                      pace: tuple[float, float] | None, sent_at: list[float], total: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while queue:
        index = total - len(queue)
        request = queue.pop()
        if pace is not None:  # request ``index`` leaves at start + index / rate
            delay = pace[0] + index / pace[1] - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        started = time.perf_counter()
        sent_at.append(time.time())
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = next(int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length"))
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
        code = int(head.split(b" ", 2)[1])
        statuses[code] = statuses.get(code, 0) + 1
    writer.close()


def load_generator(port: int, requests_file: str, concurrency: int, out_file: str, rate: float = 0.0) -> None:
    requests = [bytes.fromhex(line) for line in Path(requests_file).read_text().split()]
    queue = list(reversed(requests))  # pop() from the end keeps the send order
    latencies: list[float] = []
    sent_at: list[float] = []
    statuses: dict[int, int] = {}

    async def main() -> float:
        started = time.perf_counter()
        pace = (started, rate) if rate > 0 else None
        await asyncio.gather(*(_connection(port, queue, latencies, statuses, pace, sent_at, len(requests))
                               for _ in range(concurrency)))
        return time.perf_counter() - started

    elapsed = asyncio.run(main())
    Path(out_file).write_text(json.dumps({"elapsed": elapsed, "latencies": latencies, "statuses": statuses,
                                          "sent_at": sent_at}))


def http_request(params: dict[str, str], port: int, *, signature: str) -> bytes:
    body = urlencode(params).encode()
    head = (f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def _summary(latencies: list[float]) -> dict:
    latencies = sorted(latencies)
    if not latencies:
        return {"requests": 0}
    return {"requests": len(latencies), "p50_ms": round(1000 * statistics.median(latencies), 2),
            "p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 2),
            "max_ms": round(1000 * latencies[-1], 2)}


def run_load(port: int, requests: list[bytes], concurrency: int, workdir: Path, *, rate: float = 0.0,
             window: tuple[float, float] | None = None) -> dict:
    requests_file, out_file = workdir / "requests.hex", workdir / "result.json"
    requests_file.write_text("\n".join(r.hex() for r in requests))
    subprocess.run([sys.executable, __file__, "--load-generator", str(port), str(requests_file),
                    str(concurrency), str(out_file), str(rate)], check=True)
    result = json.loads(out_file.read_text())
    if window is not None:  # (start, end) wall-clock: only the requests sent inside it
        return _summary([lat for lat, at in zip(result["latencies"], result["sent_at"], strict=True)
                         if window[0] <= at <= window[1]])
    latencies = sorted(result["latencies"])
    return {
        "requests": len(latencies), "seconds": round(result["elapsed"], 2),
        "req_per_s": round(len(latencies) / result["elapsed"], 1),
        "p50_ms": round(1000 * statistics.median(latencies), 2),
        "p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 2),
        "max_ms": round(1000 * latencies[-1], 2), "statuses": result["statuses"],
    }


# -- the server ------------------------------------------------------------------------------
def start_server(url: str, workers: int, workdir: Path) -> tuple[subprocess.Popen, int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = os.environ | {"CAMPAIGN_SDK_DATABASE_URL": url, "CAMPAIGN_SDK_API_KEYS": "bench-key",
                        "CAMPAIGN_SDK_PUBLIC_URL": PUBLIC, "TWILIO_AUTH_TOKEN": TOKEN}
    log = open(workdir / "server.log", "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [sys.executable, "-m", "campaign_sdk.cli", "serve", "--port", str(port), "--workers", str(workers),
         "--log-level", "warning"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    deadline = time.monotonic() + 300  # a loaded machine starts 2 workers slowly
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                if b" 200 " in conn.recv(200):
                    return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the server did not start; see {workdir / 'server.log'}")


def cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by process ``pid`` and its children (Linux)."""
    def own(p: int) -> tuple[float, int] | None:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), int(fields[1])
    total = own(pid)
    if total is None:
        return None
    seconds = total[0]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != pid:
            child = own(int(entry.name))
            if child is not None and child[1] == pid:
                seconds += child[0]
    return seconds


# -- a bulk load in another process ------------------------------------------------------------
def lead_loader(url: str, leads: int, out_file: str) -> None:
    """Load ``leads`` leads into a new campaign (the process the callbacks compete with)."""
    started = time.time()
    with CampaignClient(url) as client:
        campaign = client.create_campaign(f"load {time.time_ns()}", template="order_confirmation")
        phones = [f"+1415{n:07d}" for n in range(3_000_000, 3_000_000 + leads)]
        report = campaign.add_leads(pd.DataFrame({"phone_number": phones, "lead_name": "A", "order_id": "1"}))
    Path(out_file).write_text(json.dumps({"start": started, "end": time.time(), "report": repr(report)}))


def busy_loop(seconds: float, processes: int, out_file: str) -> None:
    """Keep ``processes`` CPUs busy for ``seconds`` with pure Python (no I/O, no store): the
    control for ``--during-load``, separating CPU starvation from waiting on the store."""
    started = time.time()
    spinners = [subprocess.Popen([sys.executable, "-c", f"import time\nend = time.time() + {seconds}\n"
                                  "while time.time() < end: pass"]) for _ in range(processes)]
    for spinner in spinners:
        spinner.wait()
    Path(out_file).write_text(json.dumps({"start": started, "end": time.time(),
                                          "report": f"{processes} busy-loop process(es), no store"}))


def wait_applied(url: str, timeout: float = 300, poll: float = 0.5) -> int:
    """Wait until the inbox (if this version has one) holds no pending event; returns how many
    were still pending when the load ended."""
    try:
        from campaign_sdk.inbox import inbox_for
        from campaign_sdk.models import InboxEvent
    except ImportError:  # the baseline: no inbox, every answered callback was applied at once
        return 0
    engine = sa.create_engine(url)
    box = inbox_for(engine)
    query = sa.select(sa.func.count()).select_from(InboxEvent).where(InboxEvent.state == "pending")
    first = None
    deadline = time.monotonic() + timeout
    while True:
        with box.engine.connect() as connection:
            pending = int(connection.scalar(query) or 0)
        first = pending if first is None else first
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(poll)
    box.close()
    engine.dispose()
    return first


# -- checks --------------------------------------------------------------------------------------
def state(url: str, sids: list[str]) -> dict[str, dict]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(OutboundMessage.sid, OutboundMessage.status, OutboundMessage.error_code,
                      OutboundMessage.sent_at, OutboundMessage.delivered_at, OutboundMessage.read_at,
                      OutboundMessage.failed_at).where(OutboundMessage.sid.in_(sids))
        ).mappings().all()
    engine.dispose()
    return {row["sid"]: dict(row) for row in rows}


def verify(found: dict[str, dict], expected: dict[str, dict]) -> dict[str, int]:
    regressed = lost = wrong_code = 0
    for sid, want in expected.items():
        row = found[sid]
        if MessageStatus(row["status"]).value != want["status"]:
            regressed += 1
            print(f"  {sid}: status {MessageStatus(row['status']).value}, its callbacks lead to {want['status']}")
        lost += any(row[column] is None for column in want["times"])
        wrong_code += row["error_code"] != want["error_code"]
    return {"messages": len(expected), "status_not_final": regressed, "lost_times": lost,
            "wrong_error_code": wrong_code}


def direct_baseline(url: str, callbacks: list[dict[str, str]]) -> dict:
    """The recorder in-process: one short transaction per callback, as the route does, no HTTP."""
    with CampaignClient(url) as client:
        started = time.perf_counter()
        for params in callbacks:
            event = {"sid": params["MessageSid"], "status": params["MessageStatus"],
                     "error_code": params.get("ErrorCode")}
            with client.transaction() as session:
                service.record_statuses(session, [event])
        elapsed = time.perf_counter() - started
    return {"requests": len(callbacks), "seconds": round(elapsed, 2), "req_per_s": round(len(callbacks) / elapsed, 1)}


def verdict(signed: dict, checks: dict[str, int], callbacks: int, cpu_before: float | None,
            cpu_used: float | None) -> None:
    """Print the server's CPU per callback and the verdict (exit 1 unless every callback was
    answered 200 and the store has nothing lost or regressed)."""
    if cpu_before is not None and cpu_used is not None:
        print(f"server CPU: {1000 * (cpu_used - cpu_before) / callbacks:.2f} ms per callback")
    ok = signed["statuses"] == {"200": callbacks} and not any(v for k, v in checks.items() if k != "messages")
    print("OK: every callback answered 200, no update lost, no status regressed" if ok else "FAILED")
    if not ok:
        raise SystemExit(1)


def during_load(args: argparse.Namespace, url: str, sids: list[str], callbacks: list[dict[str, str]],
                expected: dict[str, dict], server: subprocess.Popen, port: int, workdir: Path) -> None:
    out = workdir / "loader.json"
    if args.busy_loop:
        loader = subprocess.Popen([sys.executable, __file__, "--busy-loop", str(args.busy_loop),
                                   str(args.busy_processes), str(out)])
    else:
        loader = subprocess.Popen([sys.executable, __file__, "--lead-loader", url, str(args.during_load), str(out)])
    time.sleep(1.0)  # let it open the store
    cpu_before = cpu_seconds(server.pid)
    signed = run_load(port, [http_request(p, port, signature=sign(p)) for p in callbacks], args.concurrency, workdir,
                      rate=args.rate)
    cpu_used = cpu_seconds(server.pid)
    loader.wait()
    window = json.loads(out.read_text())
    result = json.loads((workdir / "result.json").read_text())
    inside = [lat for lat, at in zip(result["latencies"], result["sent_at"], strict=True)
              if window["start"] <= at <= window["end"]]
    leftover = wait_applied(url)
    checks = verify(state(url, sids), expected)
    what = "busy loop" if args.busy_loop else f"lead load in another process: {args.during_load:,} leads,"
    print(f"{what} {window['end'] - window['start']:.1f} s ({window['report']})")
    print(f"all signed callbacks ({args.rate or 'max'} req/s): {signed}")
    print(f"callbacks sent while the load ran: {_summary(inside)}")
    print(f"pending in the inbox when the callbacks ended: {leftover}; store after: {checks}")
    verdict(signed, checks, len(callbacks), cpu_before, cpu_used)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=None, help="SQLAlchemy URL (default: a fresh SQLite file)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--callbacks", type=int, default=20_000)
    parser.add_argument("--messages", type=int, default=6_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--during-load", type=int, default=0, metavar="LEADS",
                        help="post the callbacks while another process loads this many leads")
    parser.add_argument("--busy-loop", type=float, default=0.0, metavar="SECONDS",
                        help="instead of a load, keep --busy-processes CPUs busy for this long (the control)")
    parser.add_argument("--busy-processes", type=int, default=2)
    parser.add_argument("--rate", type=float, default=0.0, help="callbacks per second (default: as fast as possible)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench_webhooks_"))
    url = args.db or f"sqlite:///{workdir / 'campaigns.db'}"
    rng = random.Random(args.seed)

    sids = build_store(url, args.messages)
    callbacks, expected = make_callbacks(sids, args.callbacks, rng)
    distinct = len({(p["MessageSid"], p["MessageStatus"]) for p in callbacks})
    print(f"store: {sa.make_url(url).render_as_string(hide_password=True)}; {len(sids):,} messages; "
          f"{len(callbacks):,} callbacks, {len(callbacks) - distinct:,} of them duplicates, "
          f"{out_of_order(callbacks):,} sent after a later status of their message")

    process, port = start_server(url, args.workers, workdir)
    if args.during_load or args.busy_loop:
        try:
            during_load(args, url, sids, callbacks, expected, process, port, workdir)
        finally:
            process.terminate()
            process.wait(30)
        return
    try:
        before = state(url, sids)
        refused = run_load(port, [http_request(p, port, signature="d3Jvbmc=") for p in callbacks],
                           args.concurrency, workdir)
        assert state(url, sids) == before, "refused callbacks changed the store"
        cpu_before = cpu_seconds(process.pid)
        signed = run_load(port, [http_request(p, port, signature=sign(p)) for p in callbacks],
                          args.concurrency, workdir)
        answered_at = time.perf_counter()
        wait_applied(url, poll=0.02)
        applied_after = time.perf_counter() - answered_at
        cpu_used = cpu_seconds(process.pid)
    finally:
        process.terminate()
        process.wait(30)
    checks = verify(state(url, sids), expected)

    direct_url = f"sqlite:///{workdir / 'direct.db'}" if url.startswith("sqlite") else url
    direct_sids = build_store(direct_url, args.messages)
    mapping = dict(zip(sids, direct_sids, strict=True))
    direct = direct_baseline(direct_url, [p | {"MessageSid": mapping[p["MessageSid"]]} for p in callbacks])
    direct_checks = verify(state(direct_url, direct_sids), {mapping[s]: e for s, e in expected.items()})

    print(f"server: {args.workers} worker(s); load generator: 1 process, {args.concurrency} connections")
    print(f"signed callbacks (recorded):      {signed}")
    print(f"baseline, wrong signature (403):  {refused}")
    print(f"baseline, recorder in-process:    {direct}")
    print(f"ratios: signed / refused = {signed['req_per_s'] / refused['req_per_s']:.2f}; "
          f"signed / in-process = {signed['req_per_s'] / direct['req_per_s']:.2f}")
    print(f"applied {applied_after:.2f} s after the last answer; throughput including that: "
          f"{len(callbacks) / (signed['seconds'] + applied_after):.1f} req/s")
    print(f"store after the in-process baseline: {direct_checks}")
    print(f"store after the signed run: {checks}")
    verdict(signed, checks, len(callbacks), cpu_before, cpu_used)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--load-generator":
        load_generator(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5], float(sys.argv[6]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--busy-loop":
        busy_loop(float(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) > 1 and sys.argv[1] == "--lead-loader":
        lead_loader(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        main()
