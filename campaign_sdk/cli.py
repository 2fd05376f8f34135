"""``campaign-sdk``: the command line (demo, loading leads, metrics, the worker that sends due messages)."""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

import pandas as pd

from campaign_sdk._campaign import Campaign
from campaign_sdk._exceptions import CampaignError, GatewayError
from campaign_sdk.client import CampaignClient
from campaign_sdk.delivery import DeliveryPolicy
from campaign_sdk.gateways import Gateway, SandboxGateway, TwilioGateway
from campaign_sdk.gateways._twilio import CHANNELS, ENV_VARS, FROM_ENV
from campaign_sdk.sending import DueReport
from campaign_sdk.sending._report import SIMULATED

SAMPLE_LEADS = Path(__file__).resolve().parent.parent / "data" / "sample_leads.csv"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``campaign-sdk`` command."""
    parser = argparse.ArgumentParser(prog="campaign-sdk", description=__doc__)
    parser.add_argument("--db", default=None, help="SQLAlchemy URL or SQLite file path (default sqlite:///campaigns.db)")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run an end-to-end campaign on the embedded default store")
    demo.add_argument("--leads", default=str(SAMPLE_LEADS), help="CSV of leads")
    load = sub.add_parser("load-leads", help="load a CSV / Parquet / .xlsx file of leads into a campaign")
    load.add_argument("campaign", help="campaign id or name")
    load.add_argument("path")
    load.add_argument("--phone-column", default="phone_number")
    load.add_argument("--region", default=None, help="default region for national numbers, e.g. US")
    load.add_argument("--user-id-column", default=None, help="column of existing conversation user ids")
    load.add_argument("--strict", action="store_true", help="reject rows lacking a template variable")
    load.add_argument("--rejected", default=None, help="write the rejected rows to this CSV file")
    load.add_argument("--quiet", action="store_true", help="no progress bar")
    load.add_argument("--encoding", default=None, help="a CSV's text encoding if not UTF-8, e.g. cp1252")
    sub.add_parser("metrics", help="print the metrics of every campaign")
    serve = sub.add_parser("serve", help="run the HTTP service (needs campaign-sdk[server]); "
                           "configured by CAMPAIGN_SDK_* / TWILIO_* environment variables")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="worker processes (PostgreSQL for more than 1)")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    about = ("send deferred messages when they are due, until stopped (SIGTERM / Ctrl-C); run several on one "
             f"PostgreSQL store to share the work. Twilio from {' / '.join(ENV_VARS)} (or {FROM_ENV} / --from "
             "instead of the Messaging Service); none of them set: the sandbox. A worker sends only the messages "
             "planned for its --channel and deferred by a send from its sender (Messaging Service or number)")
    work = sub.add_parser("worker", help=about, description=about[0].upper() + about[1:] + ".")
    work.add_argument("--channel", default="whatsapp", choices=CHANNELS,
                      help="the channel this worker sends on (default whatsapp); messages deferred by a send on "
                           "another channel are left to a worker on theirs")
    work.add_argument("--from", dest="from_", default=os.environ.get(FROM_ENV) or None, metavar="NUMBER",
                      help=f"the sender's number (+E.164) when there is no Messaging Service (default: {FROM_ENV})")
    work.add_argument("--rate", type=_positive, default=None,
                      help="messages per second, shared by every worker (default: the documented rate of a "
                           "sender on the channel: WhatsApp 80; SMS 1, a long code's, or 3 from a toll-free --from)")
    work.add_argument("--max-in-flight", type=int, default=16,
                      help="requests to the gateway under way at once in this worker (default 16)")
    work.add_argument("--batch", type=int, default=None,
                      help="messages claimed at a time (default 8 x max-in-flight); smaller shares work more evenly")
    work.add_argument("--poll", type=float, default=5.0, help="seconds between looks for due messages (default 5)")
    work.add_argument("--lease", type=float, default=60.0,
                      help="seconds after which a dead worker's claimed messages are taken over (default 60)")
    work.add_argument("--once", action="store_true", help="send what is due now and exit")
    work.add_argument("--twilio-url", default=os.environ.get("CAMPAIGN_SDK_TWILIO_URL"),
                      help="send Twilio's API requests to this base URL (a local Twilio-compatible server)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "worker":
        return _worker(args)
    try:
        with CampaignClient(args.db) as client:
            if args.command == "demo":
                return _demo(client, args.leads)
            if args.command == "load-leads":
                return _load_leads(client, args)
            _print_metrics(client)
            return 0
    except CampaignError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _load_leads(client: CampaignClient, args: argparse.Namespace) -> int:
    campaign = client.campaign(int(args.campaign) if args.campaign.isdigit() else args.campaign)
    report = campaign.add_leads(
        args.path, phone_column=args.phone_column, user_id_column=args.user_id_column,
        default_region=args.region, strict=args.strict, progress=False if args.quiet else None,
        encoding=args.encoding,
    )
    print(report)
    print(f"read as: {report.input_format}")
    if report.rejected_count:
        reasons = report.rejected["reason"].value_counts()
        print("rejected: " + ", ".join(f"{reason} {count:,}" for reason, count in reasons.items()))
        if args.rejected:
            report.rejected.to_csv(args.rejected, index=False)
            print(f"rejected rows written to {args.rejected}")
    if (warning := report.timezone_warning()) is not None:
        print(f"warning: {warning}")
    return 0


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"a number of messages per second above 0 (e.g. 10), not {text!r}")
    return value


def _worker_gateway(args: argparse.Namespace) -> Gateway | None:
    """A TwilioGateway sending on ``--channel`` from the TWILIO_* variables (and ``--from``), or
    None when none is set (the client's sandbox). Set in part, or without a sender: an error
    naming what to set; no value of any of them is ever shown."""
    sid_name, token_name, service_name = ENV_VARS
    env = {name: (os.environ.get(name) or "").strip() or None for name in ENV_VARS}
    from_ = (args.from_ or "").strip() or None
    if not any(env.values()) and from_ is None:
        if args.channel != SandboxGateway.channel:
            raise CampaignError(f"--channel {args.channel} needs Twilio: set {sid_name}, {token_name} and "
                                f"{service_name} (or --from / {FROM_ENV}); the sandbox sends {SandboxGateway.channel} only")
        return None
    missing = [name for name in (sid_name, token_name) if env[name] is None]
    if env[service_name] is None and from_ is None:
        missing.append(f"{service_name} (MG..., or the sender's number as --from / {FROM_ENV})")
    if missing:
        given = [name for name, value in env.items() if value] + ([f"--from / {FROM_ENV}"] if from_ else [])
        raise CampaignError(
            f"the worker sends through Twilio when any Twilio setting is given ({', '.join(given)}), "
            f"but {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: set "
            f"{'it' if len(missing) == 1 else 'them'}, or unset {', '.join(given)} to run on the sandbox "
            "(which sends nothing to anybody)"
        )
    from twilio.rest import Client

    http = None
    if args.twilio_url:
        from campaign_sdk.testing import LocalTwilioHttpClient

        http = LocalTwilioHttpClient(args.twilio_url)
    gateway = TwilioGateway(Client(env[sid_name], env[token_name], http_client=http), channel=args.channel,
                            messaging_service_sid=env[service_name], from_=None if env[service_name] else from_,
                            rate=args.rate or "channel")
    return cast(Gateway, gateway)  # mypy reads its schedule_window property as not the Protocol's attribute


def _worker(args: argparse.Namespace) -> int:
    from campaign_sdk.sending import DueSender

    try:
        with CampaignClient(args.db, gateway=_worker_gateway(args)) as client:
            gateway = client.gateway
            print(f"worker {os.getpid()}: store {client!r}, gateway {gateway!r}", flush=True)
            if gateway.simulated:
                print(SIMULATED, flush=True)
            worker = DueSender(
                client._sessions, gateway, rate=args.rate or gateway.default_rate,
                max_in_flight=args.max_in_flight, ttl=args.lease, batch=args.batch or 8 * args.max_in_flight,
            )  # no client_policy: the store's, read at each pass (a change made meanwhile is seen)
            if args.once:
                print(worker.run(), flush=True)
                return 0
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: worker.stop())
            print("READY", flush=True)
            worker.loop(poll=args.poll, on_report=_printer())
            print("stopped", flush=True)
            return 0
    except CampaignError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _printer() -> Callable[[DueReport], None]:
    """Prints each report of the loop, but a pass that only repeats the last notes (messages of
    another channel still waiting) once, not at every poll."""
    last: list[str] = []

    def show(report: DueReport) -> None:
        if report.claimed or report.stopped or report.notes != last:
            print(report, flush=True)
        last[:] = report.notes

    return show


def _serve(args: argparse.Namespace) -> int:
    try:
        from campaign_sdk.server import ServerSettings, serve
    except ImportError as exc:
        print(f"error: the HTTP service needs its extra: pip install 'campaign-sdk[server]' ({exc})", file=sys.stderr)
        return 1
    try:
        settings = ServerSettings.from_env()
        if args.db:
            settings = dataclasses.replace(settings, database_url=args.db)
        serve(settings, host=args.host, port=args.port, workers=args.workers, log_level=args.log_level)
    except CampaignError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _demo(client: CampaignClient, leads: str) -> int:
    gateway = client.gateway
    print(f"store: {client!r}")
    print(f"gateway: {gateway!r}")
    if not isinstance(gateway, SandboxGateway):
        print("error: the demo runs only on the sandbox gateway (it never sends real messages)", file=sys.stderr)
        return 1
    name = "Demo: order confirmation (sandbox)"
    try:
        campaign = client.campaign(name)
        print(f"reusing {campaign!r}")
    except CampaignError:
        campaign = client.create_campaign(name, template="order_confirmation")
        print(f"created {campaign!r}")
    # The demo campaign sends at once, at any hour: its own policy, not the client's (that one is
    # the store's, for every campaign without its own). Real campaigns keep the default (marketing
    # arrives 09:00-21:00 in the recipient's zone; the rest is deferred, see campaign.plan()).
    campaign.set_delivery(DeliveryPolicy(window=None))
    print("delivery policy: any hour (this demo campaign's; the default sends marketing 09:00-21:00 local)")
    report = campaign.add_leads(leads, default_region="US")
    print(report)
    if len(report.rejected):
        print(report.rejected[["row", "value", "reason"]].head(5).to_string(index=False))
    if not _approve(campaign, gateway):
        return 1
    campaign.enable()
    print(f"now {campaign!r}")
    preflight = campaign.preflight()
    print(preflight)
    if len(preflight.preview):
        print("preview:", preflight.preview["message"].iloc[0])
    print(campaign.send())
    print(SIMULATED)
    for _ in range(3):  # let simulated customers read, reply, opt out and buy
        gateway.advance(hours=8)
        print(client.sync())
    client.record_conversions(gateway.simulated_conversions())
    _print_metrics(client)
    return 0


def _approve(campaign: Campaign, gateway: SandboxGateway) -> bool:
    """Submit and sync until WhatsApp (simulated) decides; False if the template was rejected."""
    if campaign.status == "unsubmitted":
        campaign.submit_for_approval(category="UTILITY")
        print(f"submitted for approval: {campaign.approval_state}")
    waited = 0
    while campaign.status == "pending" and waited < 72:
        try:
            state = campaign.sync_approval()
        except GatewayError:  # submitted by an earlier run: this sandbox never saw the template
            campaign.set_approval_status("approved")
            print("approval from an earlier run is unknown to this sandbox: marked approved (simulated)")
            break
        if state in ("approved", "rejected"):
            print(f"WhatsApp (simulated) decided after {waited} simulated hour(s): {state}")
            break
        gateway.advance(hours=1)
        waited += 1
    if campaign.status == "rejected":
        print(f"rejected: {campaign.to_schema().rejection_reason}", file=sys.stderr)
        return False
    return True


def _print_metrics(client: CampaignClient) -> None:
    columns = ["campaign", "total_leads", "messages_sent", "messages_replied", "reply_rate", "conversion_rate"]
    with pd.option_context("display.width", 120):
        print(client.metrics()[columns].to_string(index=False))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
