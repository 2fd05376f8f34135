"""One campaign send run in a child process, so a test can SIGKILL it at a chosen moment."""

from __future__ import annotations

import contextlib

from twilio.rest import Client

from campaign_sdk import DeliveryPolicy, CampaignClient
from campaign_sdk.gateways import TwilioGateway
from campaign_sdk.sending import RetryPolicy
from campaign_sdk.testing import LocalTwilioHttpClient

SERVICE_SID = "MG" + "7" * 32


def run(db_url: str, server_url: str, account_sid: str, auth_token: str, campaign: str, log: str,
        from_: str | None = None) -> None:
    """``from_``: send from that number (no Messaging Service: Twilio cannot schedule)."""
    with open(log, "w") as output, contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        http = LocalTwilioHttpClient(server_url)
        sender = {"from_": from_} if from_ else {"messaging_service_sid": SERVICE_SID}
        gateway = TwilioGateway(Client(account_sid, auth_token, http_client=http), rate=None, **sender)
        retry = RetryPolicy(attempts=3, initial=0.01, maximum=0.05, jitter=0.01)
        with CampaignClient(db_url, gateway=gateway) as store:
            store.delivery_policy = DeliveryPolicy(window=None)
            print("STARTED", flush=True)
            report = store.campaign(campaign).send(progress=False, max_in_flight=4, retry=retry)
            print(repr(report), flush=True)
