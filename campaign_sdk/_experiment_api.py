"""The experiment half of ``Campaign``: variants, holdout, lift and send_winner."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from campaign_sdk import experiments, service
from campaign_sdk._exceptions import CampaignStateError
from campaign_sdk.analytics import DEFAULT_WINDOW
from campaign_sdk.experiments import Design, ExperimentPlan
from campaign_sdk.schemas import ContentContext, preview_text

if TYPE_CHECKING:
    from campaign_sdk import sending
    from campaign_sdk.client import CampaignClient

VARIANT_COLUMNS = ["variant", "weight", "planned_share", "content_type", "approval_state", "content_sid",
                   "assigned", "preview"]


class ExperimentMixin:
    """Methods of :class:`Campaign` for experiments (see ``campaign_sdk.experiments``)."""

    _client: CampaignClient
    id: int

    def set_experiment(
        self, variants: Mapping[str, ContentContext] | None = None, *, weights: Mapping[str, float] | None = None,
        holdout: float | None = None, test_fraction: float | None = None, seed: str | None = None,
        plan: ExperimentPlan | None = None,
    ) -> Any:
        """Make the campaign an experiment: 2-8 ``variants`` (name -> content of any type, each
        linted and later approved separately) with ``weights`` summing to 1 (default equal), a
        ``holdout`` control fraction (never sent), and optionally a ``test_fraction`` of the
        other leads that gets the variants first (``send_winner`` sends the rest the winner).
        Leads are assigned at once and whenever added, from ``seed`` (default: a new random one)
        and their phone number. ``plan`` (from ``cs.plan_experiment``) makes a send refuse while
        an arm has fewer leads than the plan needs. Refused once sending started.

        >>> campaign.set_experiment({"A": cs.TwilioTextContext(body="Hi {{lead_name}}, 10% off today"),
        ...                          "B": cs.TwilioTextContext(body="Hi {{lead_name}}, free delivery today")},
        ...                         holdout=0.1)                                   # doctest: +SKIP
        """
        with self._client.transaction() as session:
            row = service.get_campaign(session, self.id)
            experiments.set_experiment(
                session, row, variants, weights=weights, holdout=holdout, test_fraction=test_fraction,
                seed=seed, planned_per_arm=None if plan is None else plan.per_arm,
            )
        return self

    def add_variant(self, name: str, content: ContentContext, *, weights: Mapping[str, float] | None = None) -> Any:
        """Add one variant to the experiment (equal weights unless ``weights`` gives them all);
        refused once sending started: start a new campaign for a new experiment instead."""
        with self._client.transaction() as session:
            row = service.get_campaign(session, self.id)
            design = experiments.design_of(row)
            current = {v.name: experiments._variants.content_of(v) for v in row.variants}
            current[name] = content
            experiments.set_experiment(
                session, row, current, weights=weights, holdout=design.holdout if design else None,
                test_fraction=design.test_fraction if design else None, seed=design.seed if design else None,
                planned_per_arm=design.planned_per_arm if design else None,
            )
        return self

    @property
    def experiment(self) -> Design | None:
        """The stored experiment design (seed, weights, holdout, test fraction, winner), or None."""
        with self._client.transaction() as session:
            return experiments.design_of(service.get_campaign(session, self.id))

    @property
    def variants(self) -> pd.DataFrame:
        """One row per arm: weight, planned share of leads, content type, WhatsApp approval,
        leads assigned and a preview (holdout and rest rows included when the design has them)."""
        with self._client.transaction() as session:
            row = service.get_campaign(session, self.id)
            design = experiments.design_of(row)
            if design is None:
                return pd.DataFrame(columns=VARIANT_COLUMNS)
            shares = experiments.planned_shares(design.weights, holdout=design.holdout,
                                                test_fraction=design.test_fraction)
            assigned = _assigned(session, row.id)
            records = []
            for position, v in enumerate(row.variants):
                content = experiments._variants.content_of(v)
                records.append({"variant": v.name, "weight": v.weight, "planned_share": shares.get(v.name),
                                "content_type": v.content_type,
                                "approval_state": str(v.approval_state),
                                "content_sid": row.content_sid if position == 0 else v.content_sid,
                                "assigned": assigned.get(v.name, 0),
                                "preview": preview_text(content, {}, missing="keep")})
            if not row.variants:
                records.append({"variant": experiments.TREATMENT, "weight": 1.0,
                                "planned_share": shares.get(experiments.TREATMENT), "content_type": row.content_type,
                                "approval_state": str(row.approval_state), "content_sid": row.content_sid,
                                "assigned": assigned.get(experiments.TREATMENT, 0),
                                "preview": preview_text(service.content_of(row), {}, missing="keep")})
            for arm in (experiments.HOLDOUT, experiments.REST, experiments.GLOBAL_HOLDOUT):
                if arm in shares or assigned.get(arm):
                    records.append({"variant": arm, "planned_share": shares.get(arm), "assigned": assigned.get(arm, 0)})
        return pd.DataFrame(records, columns=VARIANT_COLUMNS)

    def lift(
        self, *, alpha: float = 0.05, attribution_window: str | dt.timedelta = DEFAULT_WINDOW,
        reply_window: str | dt.timedelta = DEFAULT_WINDOW,
        metrics: tuple[str, ...] = ("conversion_rate", "reply_rate"),
        tau: float | None = None,
    ) -> pd.DataFrame:
        """The experiment's lift table, tidy: one row per metric x test x arm with n, events,
        rate (%), the control's, absolute lift (points) with its CI, relative lift (%) with its
        CI, p-value, Holm-adjusted p-value across arms, significance, incremental events with
        their CI, and the sample-ratio-mismatch check (``srm_p``, ``srm`` flags p < 0.001).

        Intention to treat: once the campaign's send has started, every lead assigned to an arm
        is in its n, whatever happened to its message (refused, failed, not sent yet), with the
        same opt-out and removal rules in every arm; before it, n is 0.

        ``test="fixed"`` rows are valid for one look at a sample size fixed in advance;
        ``test="sequential"`` rows (always-valid mSPRT) stay valid however often you look. Each
        call on new data counts as a look: ``looks`` says how many there were and ``use`` marks
        the rows of the test valid for that (fixed only at the first look once the plan's sample
        is reached, else sequential); ``frame.attrs["advice"]`` says it in words.
        Conversions are compared with the holdout (else the first variant); replies with the
        first variant (a control cannot reply). Definitions: README, "Metric definitions".

        >>> campaign.lift().query("test == 'sequential'")  # doctest: +SKIP
        """
        with self._client.transaction() as session:
            row = service.get_campaign(session, self.id)
            design = _require_design(row)
            name = row.name
        counts = experiments.arm_counts(self._client.engine, self.id, reply_window=reply_window,
                                        attribution_window=attribution_window)
        with self._client.transaction() as session:
            looks = experiments.record_look(session, self.id, design, counts)
        return experiments.lift_table(design, counts, campaign_id=self.id, campaign=name, alpha=alpha, tau=tau,
                                      metrics=metrics, looks=looks)

    def send_winner(
        self, metric: str = "conversion_rate", *, test: str = "sequential", alpha: float = 0.05,
        attribution_window: str | dt.timedelta = DEFAULT_WINDOW,
        reply_window: str | dt.timedelta = DEFAULT_WINDOW, **send: Any,
    ) -> sending.SendReport:
        """Send the winning variant to the leads outside the test phase (``rest``), once ``test``
        ("sequential", valid however often you look, or "fixed") says the variant with the best
        ``metric`` beats every other one (Holm-adjusted, at ``alpha``). Refuses, with the numbers,
        when there is no winner yet. ``send`` options go to :meth:`send`."""
        with self._client.transaction() as session:
            row = service.get_campaign(session, self.id)
            design = _require_design(row)
            if design.test_fraction is None or len(design.variants) < 2:
                raise CampaignStateError(
                    f"campaign {row.name!r} has no test phase: every lead already gets a variant. Use "
                    "set_experiment(variants, test_fraction=0.2) before sending to test first"
                )
            name = row.name
        counts = experiments.arm_counts(self._client.engine, self.id, reply_window=reply_window,
                                        attribution_window=attribution_window)
        winner, table = experiments.pick_winner(design, counts, metric=metric, test=test, alpha=alpha)
        if design.winner is None:
            if winner is None:
                raise CampaignStateError(experiments.no_winner_message(name, metric, test, alpha, table))
            with self._client.transaction() as session:
                service.get_campaign(session, self.id).winner_variant = winner
        return self.send(**send)  # type: ignore[attr-defined]

    def _experiment_summary(self) -> str | None:
        """``"A 50% / B 50%, holdout 10%"`` for the HTML repr (None without an experiment)."""
        design = self.experiment
        if design is None:
            return None
        arms = " / ".join(f"{name} {share:.0%}" for name, share in design.weights.items())
        parts = [arms, f"holdout {design.holdout:.0%}" if design.holdout else "no holdout"]
        if design.test_fraction is not None:
            parts.append(f"test phase {design.test_fraction:.0%}, winner: {design.winner or 'not yet'}")
        return ", ".join(parts)

    def _assign(self) -> None:
        with self._client.transaction() as session:
            experiments.assign_leads(session, service.get_campaign(session, self.id))


def _require_design(row: Any) -> Design:
    design = experiments.design_of(row)
    if design is None:
        raise CampaignStateError(
            f"campaign {row.name!r} is not an experiment; give it variants and/or a holdout with "
            "campaign.set_experiment(...) before loading leads and sending"
        )
    return design


def _assigned(session: Any, campaign_id: int) -> dict[str, int]:
    import sqlalchemy as sa

    from campaign_sdk.models import CampaignLead

    rows = session.execute(
        sa.select(CampaignLead.variant, sa.func.count())
        .where(CampaignLead.campaign_id == campaign_id, CampaignLead.removed_at.is_(None))
        .group_by(CampaignLead.variant)
    ).all()
    return {str(v): int(n) for v, n in rows if v is not None}
