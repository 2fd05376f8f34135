"""Sample sizes: how many leads each arm needs to detect an effect."""

from __future__ import annotations

import math
from dataclasses import dataclass

from campaign_sdk._exceptions import InvalidArgumentError


@dataclass(frozen=True)
class ExperimentPlan:
    """Leads needed per arm (``per_arm``) and in all (``total``) for a two-sided test.

    ``adjusted_alpha`` is the level each comparison with the control is planned at: alpha
    divided by the number of comparisons (arms - 1), Bonferroni, which is what Holm's method
    (used by ``lift()``) needs in the worst case, so the plan is conservative for Holm.
    """

    baseline_rate: float
    minimum_effect: float
    power: float
    alpha: float
    arms: int
    adjusted_alpha: float
    per_arm: int

    @property
    def total(self) -> int:
        return self.per_arm * self.arms

    @property
    def correction(self) -> str:
        return "none" if self.arms == 2 else f"Bonferroni over {self.arms - 1} comparisons (Holm-safe)"

    def __repr__(self) -> str:
        return (f"<ExperimentPlan {self.per_arm} leads per arm x {self.arms} arms = {self.total}: "
                f"{self.baseline_rate:g} -> {self.baseline_rate + self.minimum_effect:g}, "
                f"power {self.power:g}, alpha {self.alpha:g} ({self.correction})>")


def plan_experiment(
    baseline_rate: float, minimum_effect: float, power: float = 0.8, alpha: float = 0.05, arms: int = 2
) -> ExperimentPlan:
    """The leads each arm needs so that a two-sided test at ``alpha`` detects an absolute change
    of ``minimum_effect`` in a rate of ``baseline_rate`` (both as fractions: 0.05 is 5%) with
    probability ``power``. ``arms`` counts the control; with more than two arms each of the
    ``arms - 1`` comparisons with the control is planned at alpha / (arms - 1).

    Uses statsmodels' ``NormalIndPower`` on Cohen's h (``proportion_effectsize``).

    >>> plan = plan_experiment(0.05, 0.01)
    >>> plan.per_arm, plan.total
    (8143, 16286)
    """
    problems = []
    for name, value in (("baseline_rate", baseline_rate), ("power", power), ("alpha", alpha)):
        if not isinstance(value, int | float) or not 0 < value < 1:
            problems.append(f"{name}={value!r} must be a fraction strictly between 0 and 1")
    if not isinstance(minimum_effect, int | float) or minimum_effect == 0 or not math.isfinite(minimum_effect):
        problems.append(f"minimum_effect={minimum_effect!r} must be a non-zero absolute change of the rate "
                        "(e.g. 0.01 for one percentage point)")
    elif not problems and not 0 < baseline_rate + minimum_effect < 1:
        problems.append(f"baseline_rate + minimum_effect = {baseline_rate + minimum_effect:g} is not a rate "
                        "in (0, 1); minimum_effect is absolute (0.01 = one point), not relative")
    if not isinstance(arms, int) or not 2 <= arms <= 9:
        problems.append(f"arms={arms!r} must be a whole number from 2 to 9 (control included)")
    if problems:
        raise InvalidArgumentError("cannot plan the experiment:\n" + "\n".join(f"  - {p}" for p in problems))
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    adjusted = alpha / (arms - 1)
    effect = abs(float(proportion_effectsize(baseline_rate + minimum_effect, baseline_rate)))
    n = NormalIndPower().solve_power(effect_size=effect, alpha=adjusted, power=power, ratio=1.0,
                                     alternative="two-sided")
    return ExperimentPlan(float(baseline_rate), float(minimum_effect), float(power), float(alpha), arms,
                          adjusted, int(math.ceil(float(n))))
