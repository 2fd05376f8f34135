"""The server reads the Twilio names from the gateway's one list (``gateways._twilio.TWILIO_ENV``)
and takes ``TWILIO_FROM`` as ``campaign-sdk worker`` does: the sender's number when there is no
Messaging Service. A sender without the account is an error naming what to set; no secret ever
shows in a repr or an error."""

from __future__ import annotations

import pytest

from campaign_sdk.gateways import TwilioGateway
from campaign_sdk.gateways._twilio import TWILIO_ENV
from campaign_sdk.server import ENV, ServerConfigError, ServerSettings
from campaign_sdk.server._lifecycle import gateway_for

from tests.conftest import SERVICE_SID

ACCOUNT = "AC" + "3" * 32
TOKEN = "s3cret-auth-token-9a8b"
NUMBER = "+15005550006"


def _settings(**env: str) -> ServerSettings:
    return ServerSettings.from_env({"CAMPAIGN_SDK_API_KEYS": "k-1", **env})


def test_the_server_knows_every_twilio_name_of_the_gateway() -> None:
    assert {ENV[f"twilio_{name}"] for name in TWILIO_ENV} == set(TWILIO_ENV.values())
    assert ENV["twilio_from"] == "TWILIO_FROM"


def test_twilio_from_is_the_servers_sender_without_a_messaging_service() -> None:
    settings = _settings(TWILIO_ACCOUNT_SID=ACCOUNT, TWILIO_AUTH_TOKEN=TOKEN, TWILIO_FROM=NUMBER)
    settings.check()
    assert settings.twilio_from == NUMBER and settings.twilio_sender == NUMBER
    assert ServerSettings.from_env(settings.to_env()) == settings
    gateway = gateway_for(settings)
    assert isinstance(gateway, TwilioGateway)
    assert gateway.from_ == f"whatsapp:{NUMBER}" and gateway.messaging_service_sid is None and gateway.sender == NUMBER
    text = repr(settings) + repr(gateway)
    assert f"twilio_sender={NUMBER}" in text and TOKEN not in text


def test_a_messaging_service_wins_over_twilio_from() -> None:
    settings = _settings(TWILIO_ACCOUNT_SID=ACCOUNT, TWILIO_AUTH_TOKEN=TOKEN, TWILIO_MESSAGING_SERVICE_SID=SERVICE_SID,
                         TWILIO_FROM=NUMBER)
    gateway = gateway_for(settings)
    assert gateway.messaging_service_sid == SERVICE_SID and gateway.from_ is None and gateway.sender == SERVICE_SID


@pytest.mark.parametrize(("env", "missing"), [
    ({"TWILIO_FROM": NUMBER, "TWILIO_AUTH_TOKEN": TOKEN}, "TWILIO_ACCOUNT_SID is not set"),
    ({"TWILIO_FROM": NUMBER}, "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set"),
    ({"TWILIO_MESSAGING_SERVICE_SID": SERVICE_SID, "TWILIO_ACCOUNT_SID": ACCOUNT}, "TWILIO_AUTH_TOKEN is not set"),
])
def test_a_sender_without_the_account_is_refused_naming_what_to_set(env: dict[str, str], missing: str) -> None:
    settings = _settings(**env)
    with pytest.raises(ServerConfigError, match="sends through Twilio when a sender is given") as raised:
        settings.check()
    assert missing in str(raised.value) and "to run on the sandbox" in str(raised.value)
    assert TOKEN not in str(raised.value) + repr(settings)


def test_no_sender_still_runs_on_the_sandbox() -> None:
    """The account and token alone verify Twilio's webhooks; sends stay on the sandbox."""
    settings = _settings(TWILIO_ACCOUNT_SID=ACCOUNT, TWILIO_AUTH_TOKEN=TOKEN)
    settings.check()
    assert settings.twilio_sender is None and gateway_for(settings) is None
