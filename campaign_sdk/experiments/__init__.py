"""Experiments: variants, holdouts, lift, planning and the always-valid sequential test.

A campaign may carry 2-8 variants (each its own content, approved separately) with weights, a
holdout (a control fraction that is never sent) and a test phase (``test_fraction``) whose
winner ``send_winner`` sends to the rest. Users are assigned deterministically from the
campaign's experiment seed and their phone number (``_assign``). ``lift`` reports, per arm and
metric, the absolute and relative lift against the control with fixed-sample (statsmodels) and
always-valid (mSPRT and confidence sequences, ``_sequential``) intervals and tests, Holm-adjusted p-values and a
sample-ratio-mismatch check. ``plan_experiment`` sizes an experiment.

>>> from campaign_sdk.experiments import plan_experiment
>>> plan_experiment(0.10, 0.02).per_arm
3835
"""

from __future__ import annotations

from campaign_sdk.experiments._assign import (
    GLOBAL_HOLDOUT,
    HOLDOUT,
    RESERVED,
    REST,
    arm_of,
    assign,
    planned_shares,
    unit,
)
from campaign_sdk.experiments._design import (
    MAX_VARIANTS,
    MIN_VARIANTS,
    TREATMENT,
    Design,
    active_global_holdouts,
    assign_leads,
    design_of,
    messages_sent,
    plan_problems,
    set_experiment,
    set_global_holdout,
)
from campaign_sdk.experiments._lift import TESTS, fixed_sample, holm, lift_rows, srm_check
from campaign_sdk.experiments._plan import ExperimentPlan, plan_experiment
from campaign_sdk.experiments._plots import lift_chart
from campaign_sdk.experiments._report import (
    METRICS,
    SRM_ALPHA,
    ArmCounts,
    arm_counts,
    lift_table,
    no_winner_message,
    pick_winner,
    record_look,
)
from campaign_sdk.experiments._sequential import msprt, relative_cs
from campaign_sdk.experiments._variants import (
    Arm,
    arm_problems,
    check_variants,
    lead_skip,
    send_arms,
    set_variant_approval,
    submit_variants,
    sync_variants,
)

__all__ = [
    "Arm",
    "ArmCounts",
    "Design",
    "ExperimentPlan",
    "GLOBAL_HOLDOUT",
    "HOLDOUT",
    "MAX_VARIANTS",
    "METRICS",
    "MIN_VARIANTS",
    "RESERVED",
    "REST",
    "SRM_ALPHA",
    "TESTS",
    "TREATMENT",
    "active_global_holdouts",
    "arm_counts",
    "arm_of",
    "arm_problems",
    "assign",
    "assign_leads",
    "check_variants",
    "design_of",
    "fixed_sample",
    "holm",
    "lead_skip",
    "lift_chart",
    "lift_rows",
    "lift_table",
    "messages_sent",
    "msprt",
    "no_winner_message",
    "pick_winner",
    "plan_experiment",
    "plan_problems",
    "planned_shares",
    "record_look",
    "relative_cs",
    "send_arms",
    "set_experiment",
    "set_global_holdout",
    "set_variant_approval",
    "srm_check",
    "submit_variants",
    "sync_variants",
    "unit",
]
