"""Bad experiment input: clear errors naming the value and the fix, nothing half-written."""

from __future__ import annotations

import pytest

import campaign_sdk as cs
from campaign_sdk import DeliveryPolicy, CampaignClient, CampaignStateError, InvalidArgumentError, TemplateValidationError

from .conftest import A, B, C, leads_frame


@pytest.fixture
def memory() -> CampaignClient:
    return CampaignClient("sqlite:///:memory:")


def test_weights_that_do_not_sum_to_one_are_refused_with_the_sum_and_the_fix(memory: CampaignClient) -> None:
    campaign = memory.create_campaign("W", content=A)
    with pytest.raises(InvalidArgumentError, match=r"weights sum to 0\.9, not 1") as caught:
        campaign.set_experiment({"A": A, "B": B}, weights={"A": 0.5, "B": 0.4})
    assert "Divide each by 0.9" in str(caught.value)
    assert campaign.experiment is None  # nothing was stored
    campaign.set_experiment({"A": A, "B": B}, weights={"A": 0.6, "B": 0.4})  # at the limit: sums to 1
    assert campaign.experiment.weights == {"A": 0.6, "B": 0.4}


def test_every_problem_is_reported_at_once(memory: CampaignClient) -> None:
    campaign = memory.create_campaign("Many", content=A)
    with pytest.raises(InvalidArgumentError) as caught:
        campaign.set_experiment({"A": A, "holdout": B}, weights={"A": 1.2, "holdout": -0.2}, holdout=1.0)
    text = str(caught.value)
    assert "3 problem(s)" in text
    assert "'holdout' is reserved" in text and "positive" in text and "holdout=1.0" in text


@pytest.mark.parametrize("holdout", [0, 1, 0.0, 1.0, -0.1])
def test_a_holdout_of_0_or_1_is_refused(memory: CampaignClient, holdout: float) -> None:
    campaign = memory.create_campaign("H", content=A)
    with pytest.raises(InvalidArgumentError, match=r"strictly between 0 and 1 \(use holdout=None for no control"):
        campaign.set_experiment({"A": A, "B": B}, holdout=holdout)


@pytest.mark.parametrize("count", [1, 9])
def test_two_to_eight_variants(memory: CampaignClient, count: int) -> None:
    campaign = memory.create_campaign("N", content=A)
    variants = {f"V{i}": A for i in range(count)}
    with pytest.raises(InvalidArgumentError, match=f"2-8 variants, not {count}"):
        campaign.set_experiment(variants)


def test_eight_variants_are_allowed(memory: CampaignClient) -> None:
    campaign = memory.create_campaign("Eight", content=A)
    campaign.set_experiment({f"V{i}": A for i in range(8)})
    assert len(campaign.variants) == 8


def test_a_variant_whose_content_fails_the_rules_is_named(memory: CampaignClient) -> None:
    campaign = memory.create_campaign("Bad", content=A)
    bad = {"content_type": "twilio/text", "content_context": {"body": ""}}
    starts_with_variable = cs.TwilioTextContext(body="{{lead_name}}, your order ships today, enjoy!")
    with pytest.raises(TemplateValidationError) as caught:
        campaign.set_experiment({"A": A, "B": bad, "C": starts_with_variable})
    fields = [i.field for i in caught.value.issues]
    assert "variants[B].body" in fields and any(f.startswith("variants[C]") for f in fields)
    assert "wa_variable_at_start" in caught.value.rules


def test_variants_of_any_content_type(memory: CampaignClient) -> None:
    campaign = memory.create_campaign("Types", content=A)
    campaign.set_experiment({"text": A, "quick": C})
    assert campaign.variants["content_type"].tolist() == ["twilio/text", "twilio/quick-reply"]
    assert campaign.content == A  # the campaign's own content is the first variant's


def test_a_variant_added_after_sending_started_is_refused(store_url: str) -> None:
    sandbox = cs.SandboxGateway(seed=2, realtime=False)
    with CampaignClient(store_url, gateway=sandbox) as client:
        client.delivery_policy = DeliveryPolicy(window=None)  # any hour (the default: 09-21 local)
        campaign = client.create_campaign("Started", content=A)
        campaign.set_experiment({"A": A, "B": B}, holdout=0.2)
        campaign.add_leads(leads_frame(20))
        from .conftest import approve_in_sandbox

        approve_in_sandbox(campaign, sandbox).send(progress=False)
        before = campaign.leads["variant"].tolist()
        for change in (lambda: campaign.add_variant("C", C), lambda: campaign.set_experiment({"A": A, "B": C})):
            with pytest.raises(CampaignStateError, match="already sent .* break the experiment") as caught:
                change()
            assert "client.create_campaign" in str(caught.value)
        assert campaign.leads["variant"].tolist() == before


def test_too_few_leads_for_the_plan_blocks_the_send_with_the_numbers(store_url: str) -> None:
    sandbox = cs.SandboxGateway(seed=2, realtime=False)
    plan = cs.plan_experiment(0.10, 0.10)  # 10% -> 20%: about 200 per arm
    with CampaignClient(store_url, gateway=sandbox) as client:
        client.delivery_policy = DeliveryPolicy(window=None)  # any hour (the default: 09-21 local)
        campaign = client.create_campaign("Planned", content=A)
        campaign.set_experiment({"A": A, "B": B}, plan=plan, seed="p")
        campaign.add_leads(leads_frame(100))
        from .conftest import approve_in_sandbox

        approve_in_sandbox(campaign, sandbox)
        problems = campaign.preflight().problems
        assert any(f"needs {plan.per_arm} per arm" in p for p in problems), problems
        with pytest.raises(CampaignStateError, match="too few leads for the plan"):
            campaign.send(progress=False)
        assert sandbox.list_messages() is not None and not list(sandbox.list_messages())
        campaign.add_leads(leads_frame(2 * plan.per_arm + 200, start=100))
        assert not campaign.preflight().problems


@pytest.mark.parametrize(
    ("args", "message"),
    [((0, 0.01), "baseline_rate=0"), ((0.05, 0), "minimum_effect=0"), ((0.95, 0.1), "not a rate"),
     ((0.05, 0.01, 1.0), "power=1.0"), ((0.05, 0.01, 0.8, 0.05, 1), "arms=1")],
)
def test_plan_experiment_refuses_bad_input(args: tuple[float, ...], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        cs.plan_experiment(*args)


def test_plan_experiment_matches_the_textbook_and_corrects_for_more_arms() -> None:
    two = cs.plan_experiment(0.05, 0.01)
    assert two.per_arm == 8143 and two.total == 16286 and two.adjusted_alpha == 0.05  # statsmodels, Cohen's h
    three = cs.plan_experiment(0.05, 0.01, arms=3)
    assert three.adjusted_alpha == 0.025 and three.per_arm > two.per_arm and "Bonferroni" in repr(three)
    assert cs.plan_experiment(0.05, 0.02).per_arm < two.per_arm < cs.plan_experiment(0.05, 0.01, power=0.9).per_arm


def test_service_campaigns_are_never_split_or_held_out(memory: CampaignClient) -> None:
    campaign = memory.create_campaign("Receipts", content=A, campaign_type="service")
    with pytest.raises(CampaignStateError, match="service campaign"):
        campaign.set_experiment({"A": A, "B": B}, holdout=0.1)


def test_a_campaign_without_experiment_has_no_lift_and_says_how(memory: CampaignClient) -> None:
    campaign = memory.create_campaign("Plain", content=A)
    with pytest.raises(CampaignStateError, match="set_experiment"):
        campaign.lift()
    with pytest.raises(CampaignStateError, match="set_experiment"):
        campaign.send_winner()
    assert memory.lift().empty and "campaign" in memory.lift().columns
    assert campaign.variants.empty


def test_the_html_repr_shows_variants_and_holdout(memory: CampaignClient) -> None:
    campaign = memory.create_campaign("Shown", content=A)
    assert "<td>none</td>" in campaign._repr_html_()
    campaign.set_experiment({"A": A, "B": B}, weights={"A": 0.7, "B": 0.3}, holdout=0.1, test_fraction=0.2)
    html = campaign._repr_html_()
    assert "A 70% / B 30%, holdout 10%, test phase 20%, winner: not yet" in html
    campaign.add_leads(leads_frame(50))
    frame = campaign.variants.set_index("variant")
    assert list(frame.index) == ["A", "B", "holdout", "rest"]
    assert frame["assigned"].sum() == 50
    assert frame.loc["A", "planned_share"] == pytest.approx(0.9 * 0.2 * 0.7)
    assert set(campaign.leads["variant"]) <= {"A", "B", "holdout", "rest"}


def test_update_content_of_an_experiment_points_to_set_experiment(memory: CampaignClient) -> None:
    campaign = memory.create_campaign("Upd", content=A)
    campaign.set_experiment({"A": A, "B": B})
    with pytest.raises(InvalidArgumentError, match="set_experiment"):
        campaign.update(content=C)
    campaign.update(name="Renamed")
    assert campaign.name == "Renamed"
