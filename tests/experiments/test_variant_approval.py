"""Manual approval outcomes (a webhook, Twilio's console) act on one variant's template; the
campaign's status follows its variants: stopped when one is, approved only when all are."""

from __future__ import annotations

import pytest

from campaign_sdk import CampaignClient, CampaignStateError, InvalidArgumentError

from .conftest import SAMPLES, A, B, C, leads_frame


def _states(campaign) -> dict[str, str]:  # type: ignore[no-untyped-def]
    frame = campaign.variants.dropna(subset=["approval_state"])  # the holdout has no template
    return dict(zip(frame["variant"], frame["approval_state"]))


def test_approval_is_set_per_variant_and_the_campaign_follows_them(sqlite_url: str) -> None:
    with CampaignClient(sqlite_url) as client:
        campaign = client.create_campaign("Per variant", content=A)
        campaign.set_experiment({"A": A, "B": B, "C": C}, holdout=0.1)
        campaign.add_leads(leads_frame(30))
        campaign.submit_for_approval(category="MARKETING", samples=SAMPLES)
        with pytest.raises(InvalidArgumentError, match=r"3 variants.*\(A, B, C\); no variant=\..*variant='A'"):
            campaign.set_approval_status("approved")
        with pytest.raises(InvalidArgumentError, match=r"variant='D' is not one of them"):
            campaign.set_approval_status("approved", variant="D")
        with pytest.raises(InvalidArgumentError, match="not one of unsubmitted"):
            campaign.set_approval_status("approvd", variant="A")

        campaign.set_approval_status("approved", variant="A").set_approval_status("approved", variant="B")
        assert _states(campaign) == {"A": "approved", "B": "approved", "C": "received"}
        assert campaign.status != "approved"  # C is not approved yet: neither is the campaign
        with pytest.raises(CampaignStateError):
            campaign.enable()
        campaign.set_approval_status("approved", variant="C")
        assert campaign.status == "approved" and campaign.approval_state == "approved"
        campaign.enable()

        campaign.set_approval_status("paused", variant="B")  # WhatsApp paused one template
        assert campaign.approval_state == "paused" and campaign._row().enabled is None
        assert _states(campaign)["A"] == "approved" and _states(campaign)["B"] == "paused"
        campaign.set_approval_status("rejected", variant="C", reason="looks like spam")
        assert campaign.status == "rejected" and "variant 'C': looks like spam" in campaign._row().rejection_reason
        campaign.set_approval_status("approved", variant="B").set_approval_status("approved", variant="C")
        assert campaign.status == "approved" and campaign._row().rejection_reason is None


def test_a_campaign_without_variants_takes_no_variant(sqlite_url: str) -> None:
    with CampaignClient(sqlite_url) as client:
        plain = client.create_campaign("Plain", content=A)
        with pytest.raises(InvalidArgumentError, match="has no variants .*leave variant= out, not 'A'"):
            plain.set_approval_status("approved", variant="A")
        assert plain.set_approval_status("approved").status == "approved"
        held = client.create_campaign("Held", content=B)
        held.set_experiment(holdout=0.2)
        assert held.set_approval_status("approved", variant="treatment").status == "approved"
