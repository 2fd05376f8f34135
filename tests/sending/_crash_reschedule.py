"""A new delivery policy set in a child process, so a test can SIGKILL it while it cancels what
Twilio's scheduler holds."""

from __future__ import annotations

import contextlib

from twilio.rest import Client

from campaign_sdk import CampaignClient, DeliveryPolicy
from campaign_sdk.gateways import TwilioGateway
from campaign_sdk.testing import LocalTwilioHttpClient

SERVICE_SID = "MG" + "7" * 32


def run(db_url: str, server_url: str, account_sid: str, auth_token: str, campaign: str, policy: str | None,
        log: str) -> None:
    """Set ``policy`` (a DeliveryPolicy's JSON) on ``campaign``: its held messages are rescheduled;
    ``policy`` None: disable the campaign (its held messages are canceled)."""
    with open(log, "w") as output, contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        http = LocalTwilioHttpClient(server_url)
        gateway = TwilioGateway(Client(account_sid, auth_token, http_client=http), rate=None,
                                messaging_service_sid=SERVICE_SID)
        with CampaignClient(db_url, gateway=gateway) as store:
            print("STARTED", flush=True)
            target = store.campaign(campaign)
            if policy is None:
                target.disable()
                return
            target.set_delivery(DeliveryPolicy.model_validate_json(policy))
            print(repr(target.rescheduled), flush=True)
