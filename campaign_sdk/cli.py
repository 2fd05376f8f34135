"""``campaign-sdk``: the command line (demo, loading leads, metrics)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from campaign_sdk._exceptions import CampaignError
from campaign_sdk.client import CampaignClient

SAMPLE_LEADS = Path(__file__).resolve().parent.parent / "data" / "sample_leads.csv"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``campaign-sdk`` command."""
    parser = argparse.ArgumentParser(prog="campaign-sdk", description=__doc__)
    parser.add_argument("--db", default=None, help="SQLAlchemy URL (default sqlite:///campaigns.db)")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run an end-to-end campaign on the embedded default store")
    demo.add_argument("--leads", default=str(SAMPLE_LEADS), help="CSV of leads")
    load = sub.add_parser("load-leads", help="load a CSV / Parquet file of leads into a campaign")
    load.add_argument("campaign", help="campaign id or name")
    load.add_argument("path")
    load.add_argument("--phone-column", default="phone_number")
    load.add_argument("--region", default=None, help="default region for national numbers, e.g. US")
    sub.add_parser("metrics", help="print the metrics of every campaign")
    args = parser.parse_args(argv)
    try:
        with CampaignClient(args.db) as client:
            if args.command == "demo":
                return _demo(client, args.leads)
            if args.command == "load-leads":
                campaign = client.campaign(int(args.campaign) if args.campaign.isdigit() else args.campaign)
                print(campaign.add_leads(args.path, phone_column=args.phone_column, default_region=args.region))
                return 0
            _print_metrics(client)
            return 0
    except CampaignError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _demo(client: CampaignClient, leads: str) -> int:
    print(f"store: {client!r}")
    name = "Demo: order confirmation"
    try:
        campaign = client.campaign(name)
        print(f"reusing {campaign!r}")
    except CampaignError:
        campaign = client.create_campaign(name, template="order_confirmation")
        print(f"created {campaign!r}")
    report = campaign.add_leads(leads, default_region="US")
    print(report)
    if len(report.rejected):
        print(report.rejected[["row", "value", "reason"]].head(5).to_string(index=False))
    if campaign.status == "unsubmitted":
        campaign.submit_for_approval(category="UTILITY")
        campaign.set_approval_status("approved")
    campaign.enable()
    print(f"now {campaign!r}")
    _print_metrics(client)
    return 0


def _print_metrics(client: CampaignClient) -> None:
    columns = ["campaign", "total_leads", "messages_sent", "messages_replied", "reply_rate", "conversion_rate"]
    with pd.option_context("display.width", 120):
        print(client.metrics()[columns].to_string(index=False))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
