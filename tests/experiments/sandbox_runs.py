"""Seeded holdout experiments simulated by the sandbox and counted by the lift SQL (test helper).

Each experiment: ``leads`` people, half held out by the SDK's own assignment hash; a share
``f`` of the numbers fail (the sandbox refuses them as invalid) and those people never buy; the
others convert organically at ``b`` and, when their message is delivered (``d``), at ``p_t``.
The treatment arm's messages go through the sandbox's ``send_message``, the statuses and
conversions come from its simulation, and the rows land in DuckDB tables shaped like the
analytics mirror's views, so :func:`lift_counts_sql` counts them exactly as ``lift()`` does.

The true intention-to-treat lift: q_t - q_c with q_t = (1 - f)(d p_t + (1 - d) b) and
q_c = (1 - f) b (every lead of an arm is an independent draw at its arm's rate).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd

from campaign_sdk import GatewayError, SandboxGateway
from campaign_sdk.analytics import _definitions as d
from campaign_sdk.experiments import assign, fixed_sample
from campaign_sdk.gateways import ContentRequest, SendRequest

START = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
WINDOW = dt.timedelta(days=7)
SCHEMA = {
    "leads": "id BIGINT, campaign_id BIGINT, user_id BIGINT, variant VARCHAR, removed_at TIMESTAMP, "
             "created_at TIMESTAMP",
    "users": "id BIGINT, phone_number VARCHAR, opted_out_at TIMESTAMP",
    "messages": "id BIGINT, campaign_id BIGINT, lead_id BIGINT, user_id BIGINT, sid VARCHAR, status VARCHAR, "
                "created_at TIMESTAMP",
    "conversions": "id BIGINT, user_id BIGINT, occurred_at TIMESTAMP",
    "replies": "id BIGINT, user_id BIGINT, kind VARCHAR, received_at TIMESTAMP",
}


def _naive(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.UTC).replace(tzinfo=None)


def _fixed(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lift (points) and its 95% interval as the lift table's fixed rows give them, for rows of
    (treatment n, treatment events, holdout n, holdout events)."""
    out = fixed_sample(counts[:, 1], counts[:, 0], counts[:, 3], counts[:, 2])
    return out["diff"] * 100, out["low"] * 100, out["high"] * 100


def run_holdout_experiments(runs: int, *, leads: int = 700, delivery: tuple[float, float] = (1.0, 1.0)) -> pd.DataFrame:
    """One row per seeded experiment: ``truth`` (points), the ITT lift and interval from the lift
    SQL (``itt_*``), the old per-protocol one (``pp_*``) and how many treatment sends ``failed``."""
    tables: dict[str, list[tuple]] = {name: [] for name in SCHEMA}
    truths, failed_counts, pp, assigned = [], [], [], []
    for run in range(runs):
        rng = np.random.default_rng(run)
        p_t, b, f = rng.uniform(0.06, 0.25), rng.uniform(0.01, 0.05), rng.uniform(0.15, 0.35)
        deliver = rng.uniform(*delivery)
        phones = [f"+1{415 + run % 7}{j:07d}" for j in range(leads)]
        bad = rng.random(leads) < f
        sandbox = SandboxGateway(
            seed=run, realtime=False, start=START, delivery_rate=deliver, opt_out_rate=0.0, reply_rate=0.0,
            conversion_rate=p_t, baseline_conversion_rate=b,
            error_numbers={p: "invalid_number" for p, is_bad in zip(phones, bad) if is_bad},
        )
        content = sandbox.create_content(ContentRequest("offer", "twilio/text", {"twilio/text": {"body": "Hi {{1}}"}}))
        arms = assign(f"itt-{run}", phones, {"treatment": 1.0}, holdout=0.5)
        base = run * leads
        sent: dict[int, tuple[str | None, dt.datetime]] = {}
        for j, (phone, arm) in enumerate(zip(phones, arms)):
            lead = base + j
            tables["users"].append((lead, phone, None))
            tables["leads"].append((lead, run, lead, arm, None, _naive(START)))
            if arm == "treatment":
                try:
                    accepted = sandbox.send_message(SendRequest(phone, content, {"1": "Ana"}))
                    sent[lead] = (accepted.sid, accepted.date_created)
                except GatewayError:
                    sent[lead] = (None, sandbox.now())  # refused: stored failed, without a SID
        sandbox.advance(days=4)
        status = {r.sid: r.status for r in sandbox.list_messages() if r.direction == "outbound-api"}
        for lead, (sid, at) in sent.items():
            tables["messages"].append((lead, run, lead, lead, sid, str(status[sid]) if sid else "failed", _naive(at)))
        good = [p for p, is_bad in zip(phones, bad) if not is_bad]
        bought = sandbox.simulated_conversions(population=good)
        user_of = {p: base + j for j, p in enumerate(phones)}
        for k, row in enumerate(bought.itertuples()):
            tables["conversions"].append((base + k, user_of[row.phone_number], _naive(row.occurred_at)))
        q_t, q_c = (1 - f) * (deliver * p_t + (1 - deliver) * b), (1 - f) * b
        truths.append((q_t - q_c) * 100)
        failed_counts.append(sum(1 for sid, _ in sent.values() if sid is None or status[sid] in ("failed", "undelivered")))
        assigned.append(len(sent))
        pp.append(_per_protocol(arms, phones, sent, status, bought, base))
    con = duckdb.connect()
    for name, ddl in SCHEMA.items():
        con.execute(f"CREATE TABLE {name} ({ddl})")
        columns = [c.split()[0] for c in ddl.split(", ")]
        frame = pd.DataFrame(tables[name], columns=columns)  # noqa: F841 (read by DuckDB below)
        con.execute(f"INSERT INTO {name} SELECT * FROM frame")
    micros = WINDOW // dt.timedelta(microseconds=1)
    itt = []
    for run in range(runs):
        counts = con.execute(d.lift_counts_sql(), {"campaign_id": run, "reply_us": micros, "attribution_us": micros}
                             ).df().set_index("arm")
        itt.append([int(counts.loc[a, c]) for a in ("treatment", "holdout") for c in ("n", "conversions")])
    lift, low, high = _fixed(np.array(itt, dtype="float64"))
    pp_lift, pp_low, pp_high = _fixed(np.array(pp, dtype="float64"))
    return pd.DataFrame({"truth": truths, "itt_lift": lift, "itt_low": low, "itt_high": high, "pp_lift": pp_lift,
                         "pp_low": pp_low, "pp_high": pp_high, "failed": failed_counts,
                         "treatment_n": [c[0] for c in itt], "treatment_assigned": assigned})


def _per_protocol(arms, phones, sent, status, bought, base) -> list[int]:  # type: ignore[no-untyped-def]
    """The old estimand's counts: treatment n = leads whose message reached the phone (a touch);
    control n = every lead, from the first touch."""
    from campaign_sdk.facts.statuses import TOUCH

    first = bought.groupby("phone_number")["occurred_at"].min().to_dict()
    n = {"holdout": 0, "treatment": 0}
    x = {"holdout": 0, "treatment": 0}
    t0 = min(at for sid, at in sent.values() if sid)
    for j, (phone, arm) in enumerate(zip(phones, arms)):
        if arm == "treatment":
            sid, at = sent[base + j]
            if sid is None or status[sid] not in TOUCH:
                continue
        else:
            at = t0
        n[arm] += 1
        bought_at = first.get(phone)
        x[arm] += bool(bought_at is not None and at <= bought_at <= at + WINDOW)
    return [n["treatment"], x["treatment"], n["holdout"], x["holdout"]]
