"""The status webhook takes every Twilio status, and one it does not know is stored, not refused."""

from __future__ import annotations

import pytest

from campaign_sdk.facts import statuses
from campaign_sdk.models import MessageStatus

from .test_webhooks import message, post_signed, seed_message, status_params


@pytest.mark.parametrize("status", statuses.NAMES)
def test_every_status_of_twilios_spec_is_accepted(anon, server, status: str) -> None:
    sid, _ = seed_message(server.client, status=MessageStatus.SCHEDULED)
    response = post_signed(anon, "/twilio/status", status_params(sid, status))
    assert response.status_code == 200, response.text
    stored = message(server.client, sid)
    assert stored.status.value == status  # every status outranks scheduled
    assert stored.unknown_status is None


def test_an_unknown_status_is_stored_verbatim_not_refused(anon, server, caplog) -> None:
    sid, _ = seed_message(server.client)
    response = post_signed(anon, "/twilio/status", status_params(sid, "Delivered_To_Watch"))
    assert response.status_code == 200, response.text  # Twilio would retry a refused callback
    assert response.json()["applied"] == 1
    stored = message(server.client, sid)
    assert (stored.status, stored.unknown_status) == (MessageStatus.SENT, "delivered_to_watch")
    assert "delivered_to_watch" in caplog.text and "does not know" in caplog.text
    # the next known status still applies, and the order is kept
    assert post_signed(anon, "/twilio/status", status_params(sid, "delivered")).status_code == 200
    stored = message(server.client, sid)
    assert (stored.status, stored.unknown_status) == (MessageStatus.DELIVERED, None)


@pytest.mark.parametrize("raw", ["delivered-to-handset", "v2.delivered", "x" * 64])
def test_any_status_name_up_to_64_characters_is_taken(anon, server, raw: str) -> None:
    sid, _ = seed_message(server.client)
    assert post_signed(anon, "/twilio/status", status_params(sid, raw)).status_code == 200
    assert message(server.client, sid).unknown_status == raw.lower()[: statuses.MAX_LENGTH]
