"""The send path: each variant approved separately and sent its own content; holdouts never."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

import campaign_sdk as cs
from campaign_sdk import DeliveryPolicy, CampaignClient, CampaignStateError
from campaign_sdk.gateways import TwilioGateway
from campaign_sdk.testing import TwilioTestServer

from .conftest import A, B, C, approve_in_sandbox, leads_frame

# The author's approval samples (never a lead's data: issue 11).
SAMPLES = {"lead_name": "Ana", "order_id": "A-1042", "1": "Ana"}


@pytest.fixture
def sender(store_url: str, gateway: TwilioGateway) -> CampaignClient:
    with CampaignClient(store_url, gateway=gateway) as client:
        client.delivery_policy = DeliveryPolicy(window=None)  # any hour (the default: 09-21 local)
        yield client


def _variant_sids(campaign: cs.Campaign) -> dict[str, str]:
    frame = campaign.variants
    return dict(zip(frame["variant"], frame["content_sid"]))


def test_each_variant_is_approved_and_sent_its_own_content_and_holdouts_never(
    sender: CampaignClient, twilio_server: TwilioTestServer
) -> None:
    campaign = sender.create_campaign("AB", content=A)
    campaign.set_experiment({"A": A, "B": B, "C": C}, holdout=0.2, seed="send-test")
    campaign.add_leads(leads_frame(120))
    campaign.submit_for_approval(category="MARKETING", samples=SAMPLES)
    sids = {k: v for k, v in _variant_sids(campaign).items() if isinstance(v, str)}
    assert set(sids) == {"A", "B", "C"} and len(set(sids.values())) == 3  # one Content resource each
    twilio_server.set_approval(sids["A"], "approved")
    twilio_server.set_approval(sids["B"], "approved")
    assert campaign.sync_approval() != "approved"  # C is still pending: the campaign is too
    with pytest.raises(CampaignStateError):
        campaign.enable()
    twilio_server.set_approval(sids["C"], "approved")
    assert campaign.sync_approval() == "approved"
    campaign.enable()

    leads = campaign.leads.set_index("phone_number")["variant"]
    check = campaign.preflight()
    assert check.skipped == {"holdout": int((leads == "holdout").sum())} and check.to_send == int((leads != "holdout").sum())
    assert set(check.preview["variant"]) <= {"A", "B", "C"}
    report = campaign.send(progress=False)
    assert report.skipped == {"holdout": int((leads == "holdout").sum())}

    sent = twilio_server.sent()
    by_number = {m["to"].removeprefix("whatsapp:"): m["content_sid"] for m in sent}
    assert len(by_number) == len(sent) == report.sent
    held = set(leads[leads == "holdout"].index)
    assert held and not held & set(by_number)  # no holdout lead was messaged
    for phone, content_sid in by_number.items():
        assert content_sid == sids[leads[phone]]  # each lead got its variant's content
    assert Counter(leads[p] for p in by_number) == Counter(v for v in leads if v != "holdout")
    assert campaign.send(progress=False).sent == 0  # a resend sends nobody twice, holdouts still skipped


def test_a_rejected_variant_rejects_the_campaign_and_names_itself(
    sender: CampaignClient, twilio_server: TwilioTestServer
) -> None:
    campaign = sender.create_campaign("Rejected", content=A)
    campaign.set_experiment({"A": A, "B": B})
    campaign.add_leads(leads_frame(10))
    campaign.submit_for_approval(category="MARKETING", samples=SAMPLES)
    sids = _variant_sids(campaign)
    twilio_server.set_approval(sids["A"], "approved")
    twilio_server.set_approval(sids["B"], "rejected", reason="promotional content in a utility template")
    assert campaign.sync_approval() == "rejected"
    assert "variant 'B'" in campaign._row().rejection_reason
    assert campaign.variants.set_index("variant").loc["B", "approval_state"] == "rejected"


def _run_test_phase(client: CampaignClient, sandbox: cs.SandboxGateway, leads: int) -> cs.Campaign:
    campaign = client.create_campaign("Winner", content=A)
    campaign.set_experiment({"A": A, "B": B}, test_fraction=0.5, holdout=0.1, seed="winner")
    campaign.add_leads(leads_frame(leads))
    approve_in_sandbox(campaign, sandbox)
    report = campaign.send(progress=False)
    assert report.skipped.get("awaiting_winner", 0) > 0
    sandbox.advance(days=4)
    client.sync()
    client.record_conversions(sandbox.simulated_conversions())
    return campaign


def test_send_winner_refuses_with_the_numbers_when_there_is_no_winner(store_url: str) -> None:
    sandbox = cs.SandboxGateway(seed=4, realtime=False, delivery_rate=1.0, conversion_rate=0.05)
    with CampaignClient(store_url, gateway=sandbox) as client:
        client.delivery_policy = DeliveryPolicy(window=None)  # any hour (the default: 09-21 local)
        campaign = _run_test_phase(client, sandbox, 400)  # same true rates: no winner
        sent = len(list(sandbox.list_messages()))
        with pytest.raises(CampaignStateError, match=r"no winner on conversion_rate .* sequential") as caught:
            campaign.send_winner()
        text = str(caught.value)
        assert "Holm p=" in text and "CI [" in text and "Nothing was sent" in text
        assert len(list(sandbox.list_messages())) == sent and campaign.experiment.winner is None


def test_send_winner_sends_the_winner_to_the_rest_only(store_url: str) -> None:
    sandbox = cs.SandboxGateway(seed=4, realtime=False, delivery_rate=1.0, conversion_rate=0.02,
                                rates_by_text={"Delivery on us": {"conversion_rate": 0.5}})
    with CampaignClient(store_url, gateway=sandbox) as client:
        client.delivery_policy = DeliveryPolicy(window=None)  # any hour (the default: 09-21 local)
        campaign = _run_test_phase(client, sandbox, 600)
        before = campaign.leads.copy()
        report = campaign.send_winner(metric="conversion_rate", test="sequential")
        assert campaign.experiment.winner == "B"
        rest = before[before.variant == "rest"]
        assert report.sent == len(rest) and report.skipped.get("holdout") == int((before.variant == "holdout").sum())
        latest = {m.to: m for m in sandbox.list_messages() if not m.inbound}
        assert set(rest.phone_number) <= set(latest)
        assert all("Delivery on us" in (latest[p].body or "") for p in rest.phone_number)  # B's content
        assert not set(before[before.variant == "holdout"].phone_number) & set(latest)
        assert campaign.leads.set_index("phone_number").loc[list(rest.phone_number), "variant"].eq("rest").all()
        assert campaign.send_winner().sent == 0  # idempotent: the winner stays, nobody twice


def test_lift_finds_the_true_holdout_effect_through_the_sandbox(store_url: str) -> None:
    """One number in ten is invalid (Twilio refuses it) and its person never buys; one message in
    ten of the others fails (those people buy at the 3% baseline): the lift counts every assigned
    lead and its interval holds the true ITT lift 0.9 x (0.9 x 15% + 0.1 x 3% - 3%) = 9.72 points."""
    invalid = set(leads_frame(1000).phone_number[::10])
    sandbox = cs.SandboxGateway(seed=8, realtime=False, delivery_rate=0.9, conversion_rate=0.15,
                                baseline_conversion_rate=0.03, error_numbers=dict.fromkeys(invalid, "invalid_number"))
    with CampaignClient(store_url, gateway=sandbox) as client:
        client.delivery_policy = DeliveryPolicy(window=None)  # any hour (the default: 09-21 local)
        campaign = client.create_campaign("Holdout", content=A)
        campaign.set_experiment(holdout=0.3, seed="lift", plan=cs.plan_experiment(0.03, 0.12))
        campaign.add_leads(leads_frame(1000))
        approve_in_sandbox(campaign, sandbox).send(progress=False)
        sandbox.advance(days=4)
        client.sync()
        buyers = [p for p in campaign.leads.phone_number if p not in invalid]
        client.record_conversions(sandbox.simulated_conversions(population=buyers))
        lift = campaign.lift()
        # the first look with the plan's sample reached: the fixed-sample rows are the valid ones
        assert lift["looks"].eq(1).all() and lift.loc[lift["use"], "test"].eq("fixed").all()
        assert "fixed-sample rows are valid" in lift.attrs["advice"]
        assert campaign.lift()["looks"].eq(1).all()  # the same data again is not a new look
        row = lift[(lift.metric == "conversion_rate") & (lift.test == "fixed") & (lift.arm == "treatment")].iloc[0]
        assert row.abs_lift_low <= 9.72 <= row.abs_lift_high and row.significant
        control = lift[(lift.role == "control") & (lift.metric == "conversion_rate")].iloc[0]
        assert control.arm == "holdout" and control.n == int((campaign.leads.variant == "holdout").sum())
        assert not lift.srm.any()
        by_variant = campaign.metrics(by="variant").set_index("variant")
        treated = campaign.leads[campaign.leads.variant == "treatment"]
        refused = int(treated.phone_number.isin(invalid).sum())
        reached = by_variant.loc["treatment", "messages_sent"]
        assert by_variant.loc["treatment", "not_received"] > refused > 0
        assert row.n == len(treated) == reached + by_variant.loc["treatment", "not_received"]  # failed ones count too
        # its events: metrics()' buyers among the reached, plus the failed ones' organic purchases
        assert row.events > by_variant.loc["treatment", "converted"]
        funnel = campaign.funnel(by="variant").set_index(["variant", "step"])
        assert funnel.loc[("holdout", "sent"), "leads"] == 0  # the holdout got nothing
        assert funnel.loc[("treatment", "converted"), "leads"] == by_variant.loc["treatment", "converted"]
        assert set(client.reply_times()["variant"]) == {"treatment"}
        figure = cs.lift_chart(lift)
        assert figure.axes[0].get_yticklabels()[0].get_text() == "treatment (fixed)"
        assert list(client.lift().columns) == list(lift.columns)
        html = campaign._repr_html_()
        assert "treatment 100%, holdout 30%" in html
        leads = campaign.leads
        quiet = leads[(leads.variant == "treatment") & leads.converted_at.isna() & leads.message_sid.notna()].iloc[0]
        client.record_conversions([{"external_id": "late-1", "phone_number": quiet.phone_number,
                                    "occurred_at": quiet.sent_at + pd.Timedelta(hours=1)}])
        again = campaign.lift()
        assert again["looks"].eq(2).all() and again.loc[again["use"], "test"].eq("sequential").all()
        assert "read the sequential rows" in again.attrs["advice"]
