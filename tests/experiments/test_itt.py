"""Lift is intention to treat: every lead assigned to an arm counts in its arm's n from its cohort's
send time, whatever happened to its message (refused, failed, not sent yet); the same opt-out and
removal rules on both sides. Through the real twilio-python client and the local server (its
clock is the SDK's, so opt-outs and removals before and after the send are told apart)."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from campaign_sdk import CampaignClient, DeliveryPolicy, GatewayError
from campaign_sdk.facts.errors import Code
from campaign_sdk.gateways import TwilioGateway
from campaign_sdk.testing import TwilioTestServer

from .conftest import A, SAMPLES, leads_frame

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def sender(store_url: str, gateway: TwilioGateway) -> CampaignClient:
    with CampaignClient(store_url, gateway=gateway) as client:
        client.delivery_policy = DeliveryPolicy(window=None)  # sends at any hour, on the real clock
        yield client


def _approved_holdout_campaign(client: CampaignClient, server: TwilioTestServer, leads: int, name: str):  # type: ignore[no-untyped-def]
    campaign = client.create_campaign(name, content=A)
    campaign.set_experiment(holdout=0.5, seed=f"itt-{name}")
    campaign.add_leads(leads_frame(leads))
    campaign.submit_for_approval(category="MARKETING", samples=SAMPLES)
    server.set_approval(campaign.variants["content_sid"].iloc[0], "approved")
    campaign.sync_approval()
    return campaign.enable()


def _arms(campaign) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    leads = campaign.leads
    return {arm: sorted(leads.loc[leads.variant == arm, "phone_number"]) for arm in ("treatment", "holdout")}


def _counts(campaign) -> dict[str, tuple[int, int, int]]:  # type: ignore[no-untyped-def]
    lift = campaign.lift(metrics=("conversion_rate",))
    rows = lift[lift.test == "fixed"].set_index("arm")
    return {arm: (int(rows.loc[arm, "assigned"]), int(rows.loc[arm, "n"]), int(rows.loc[arm, "events"]))
            for arm in rows.index}


def test_every_assigned_lead_counts_whatever_happened_to_its_message(
    sender: CampaignClient, twilio_server: TwilioTestServer
) -> None:
    campaign = _approved_holdout_campaign(sender, twilio_server, 80, "ITT")
    arms = _arms(campaign)
    treated, held = arms["treatment"], arms["holdout"]
    # before the cohort's send starts, nobody counts (assigned leads are still shown for the SRM check)
    before = _counts(campaign)
    assert {arm: c[1] for arm, c in before.items()} == {"treatment": 0, "holdout": 0}
    assert before["treatment"][0] == len(treated) and before["holdout"][0] == len(held)

    refused = treated[:3]
    for phone in refused:
        twilio_server.reject_number(phone, Code.INVALID_TO)  # Twilio refuses: a failed message without SID
    now = dt.datetime.now(dt.UTC)
    sender.record_replies([{"sid": f"SMstop{i}", "from": p, "body": "STOP", "received_at": now - HOUR}
                           for i, p in enumerate((treated[3], held[0]))])  # opted out before the send: out, both sides
    campaign.remove_leads([treated[4], held[1]])  # removed before the send: out, both sides
    # Twilio's date_created has one-second resolution: the send starts in a later second (the next
    # whole second of the clock, 50 ms past it, rather than a fixed 1.1 s from now)
    time.sleep(1.05 - time.time() % 1)
    report = campaign.send(progress=False)
    assert report.sent == len(treated) - 5
    sids = campaign.leads.set_index("phone_number")["message_sid"].dropna().to_dict()
    undelivered = treated[5:8]
    for phone in undelivered:
        twilio_server.set_status(sids[phone], "undelivered", error_code=Code.UNREACHABLE)
    for phone in treated[8:]:
        twilio_server.set_status(sids[phone], "delivered")
    sender.sync()
    campaign.remove_leads([undelivered[0], held[2]])  # removed after the send started: still counted
    sent_at = campaign.leads.set_index("phone_number")["sent_at"].dropna().min()
    sender.record_conversions([
        {"external_id": "refused-buys", "phone_number": refused[0], "occurred_at": sent_at + HOUR},
        {"external_id": "undelivered-buys", "phone_number": undelivered[1], "occurred_at": sent_at + HOUR},
        {"external_id": "removed-late-buys", "phone_number": undelivered[0], "occurred_at": sent_at + 2 * HOUR},
        {"external_id": "held-buys", "phone_number": held[3], "occurred_at": sent_at + HOUR},
        {"external_id": "too-early", "phone_number": treated[9], "occurred_at": sent_at - 3 * HOUR},
        {"external_id": "too-late", "phone_number": held[4], "occurred_at": sent_at + dt.timedelta(days=8)},
    ])
    after = _counts(campaign)
    assert after["treatment"] == (len(treated) - 1, len(treated) - 2, 3)
    assert after["holdout"] == (len(held) - 1, len(held) - 2, 1)
    # the old per-protocol denominator (messages that reached the phone) is what metrics() reports
    sent_leads = campaign.metrics(by="variant").set_index("variant").loc["treatment", "messages_sent"]
    assert sent_leads == len(treated) - 5 - len(undelivered) < after["treatment"][1]


def test_a_campaign_mid_send_counts_its_leads_not_sent_yet_from_the_send_time(
    sender: CampaignClient, twilio_server: TwilioTestServer
) -> None:
    campaign = _approved_holdout_campaign(sender, twilio_server, 60, "Midway")
    treated, held = _arms(campaign).values()
    twilio_server.fail("error", status=401, code=Code.AUTHENTICATION, skip=8, times=None)  # the send stops
    with pytest.raises(GatewayError, match="stopped"):
        campaign.send(progress=False, max_in_flight=1)
    twilio_server.clear_faults()
    leads = campaign.leads.set_index("phone_number")
    messaged = set(leads.index[leads.sent_at.notna()])
    waiting = [p for p in treated if p not in messaged]
    assert 0 < len(messaged) < len(treated) and waiting
    t0 = leads.sent_at.min()
    sender.record_conversions([
        {"external_id": "waiting-buys", "phone_number": waiting[0], "occurred_at": t0 + HOUR},
        {"external_id": "held-buys", "phone_number": held[0], "occurred_at": t0 + HOUR},
    ])
    counts = _counts(campaign)
    assert counts["treatment"] == (len(treated), len(treated), 1)  # sent or not yet, every lead counts
    assert counts["holdout"] == (len(held), len(held), 1)
    campaign.send(progress=False)  # the send finishes: the same leads, the same n
    assert _counts(campaign)["treatment"][:2] == (len(treated), len(treated))


def test_in_the_sandbox_people_whose_message_failed_convert_at_the_organic_baseline() -> None:
    """The sandbox's truth behind the ITT estimand: a person no message reached (refused,
    failed or undelivered) converts at ``baseline_conversion_rate``, like one never messaged; a
    person a message reached converts at the message's rate, never on top of the baseline."""
    import numpy as np

    from campaign_sdk import SandboxGateway
    from campaign_sdk.facts import statuses
    from campaign_sdk.gateways import ContentRequest, SendRequest

    phones = [f"+1415{i:07d}" for i in range(3000)]
    refused = set(phones[::10])
    sandbox = SandboxGateway(seed=3, realtime=False, delivery_rate=0.5, conversion_rate=0.0, opt_out_rate=0.0,
                             baseline_conversion_rate=0.3, error_numbers=dict.fromkeys(refused, "invalid_number"))
    content = sandbox.create_content(ContentRequest("t", "twilio/text", {"twilio/text": {"body": "Hi {{1}}"}}))
    for phone in phones[:2000]:
        try:
            sandbox.send_message(SendRequest(phone, content, {"1": "Ana"}))
        except GatewayError:
            pass
    sandbox.advance(days=4)
    status = {m.to: m.status for m in sandbox.list_messages() if m.direction == "outbound-api"}
    buyers = set(sandbox.simulated_conversions(population=phones)["phone_number"])
    groups = {
        "refused": [p for p in phones[:2000] if p in refused],
        "failed": [p for p in phones[:2000] if status.get(p) in statuses.NOT_RECEIVED],
        "never messaged": phones[2000:],
        "reached": [p for p in phones[:2000] if status.get(p) in statuses.DELIVERED],
    }
    rates = {name: np.mean([p in buyers for p in group]) for name, group in groups.items()}
    assert min(len(g) for g in groups.values()) >= 200, {k: len(g) for k, g in groups.items()}
    for name in ("refused", "failed", "never messaged"):
        assert abs(rates[name] - 0.3) < 4 * np.sqrt(0.3 * 0.7 / len(groups[name])), rates
    assert rates["reached"] == 0.0  # the message's own rate (0 here) replaces the baseline
