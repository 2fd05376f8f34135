"""The plan's set-wise shortcuts give the plain answers: rows come back in lead order however
DuckDB's threads return them, each lead finds its zone key's row by a gather as a lookup would,
and the messaging limit's per-block batches equal the batches of a plain ranking of every lead."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from campaign_sdk import CampaignClient, DeliveryPolicy, TwilioTextContext
from campaign_sdk.delivery._plan import _by_lead, _key_rows
from campaign_sdk.models import CampaignLead, OutboundMessage

NOW = dt.datetime(2026, 7, 1, 15, 0, tzinfo=dt.UTC)


def _table(ids: list[int]) -> pa.Table:
    return pa.table({"lead_id": pa.array(ids, pa.int64()), "text": [f"lead {i}" for i in ids]})


@pytest.mark.parametrize("scale", [1, 7919, 10**12])  # small keys (a table by key) and large ones (a search)
@pytest.mark.parametrize("seed", range(4))
def test_each_lead_finds_its_zone_keys_row(scale: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    zkeys = rng.choice(5000, size=int(rng.integers(1, 300)), replace=False).astype(np.int64) * scale
    rng.shuffle(zkeys)  # a key's row is its place in ``zkeys``, whatever their order
    # leads with a key of the table, a key it does not hold, or none (-1)
    wanted = np.where(rng.random(3000) < 0.8, rng.choice(zkeys, 3000), rng.integers(0, 5000 * scale, 3000))
    wanted[rng.random(3000) < 0.1] = -1
    rows, missing = _key_rows(zkeys, wanted)
    where = {int(k): i for i, k in enumerate(zkeys)}
    expected = np.array([where.get(int(k), len(zkeys)) if k >= 0 else len(zkeys) for k in wanted])
    assert rows.tolist() == expected.tolist()
    assert missing.tolist() == (expected == len(zkeys)).tolist()


def test_no_zone_key_leaves_every_lead_without_a_row() -> None:
    rows, missing = _key_rows(np.array([], np.int64), np.array([3, -1, 0], np.int64))
    assert rows.tolist() == [0, 0, 0] and missing.all()


@pytest.mark.parametrize("order", ["sorted", "blocks", "shuffled", "one"])
def test_rows_come_back_in_lead_order(order: str) -> None:
    ids = list(range(1, 2001, 2))  # ids with gaps, as after removals
    if order == "blocks":  # as DuckDB's threads return row groups: runs of a range each, interleaved
        blocks = [ids[i:i + 97] for i in range(0, len(ids), 97)]
        ids = [i for block in blocks[1::2] + blocks[0::2] for i in block]
    elif order == "shuffled":
        ids = np.random.default_rng(7).permutation(ids).tolist()
    elif order == "one":
        ids = [5]
    table = _table(ids)
    out = _by_lead(table)
    assert out.column("lead_id").to_pylist() == sorted(ids)
    assert out.column("text").to_pylist() == [f"lead {i}" for i in sorted(ids)]  # whole rows moved
    if order in ("sorted", "one"):
        assert out is table  # nothing to do: no copy


@pytest.mark.parametrize(("leads", "limit", "used"), [(230, 20, 0), (230, 20, 3), (97, 9, 1), (50, 64, 0)])
def test_messaging_limit_batches_equal_a_plain_ranking(client: CampaignClient, leads: int, limit: int,
                                                       used: int) -> None:
    # every lead is due at once (no window): one send moment, so rank = order of lead id, and the
    # batch boundaries fall inside the blocks of lead ids the plan counts by
    phones = [f"+1415555{i:04d}" for i in range(leads)]
    campaign = client.create_campaign("Tier", content=TwilioTextContext(body="Hi {{lead_name}}!"))
    assert campaign.add_leads(pd.DataFrame({"phone_number": phones, "lead_name": "Ana"})).rejected.empty
    if used:  # people another campaign messaged an hour ago: the day's limit starts lower
        earlier = client.create_campaign("Earlier", content=TwilioTextContext(body="Hi {{lead_name}}!"))
        others = pd.DataFrame({"phone_number": [f"+1212555{i:04d}" for i in range(used)], "lead_name": "Bo"})
        assert earlier.add_leads(others).rejected.empty
        _sent(client, earlier.id, NOW - dt.timedelta(hours=1))
    plan = campaign.plan(policy=DeliveryPolicy(window=None), now=NOW, messaging_tier=limit).sort_values("lead_id")
    first = max(limit - used, 0)
    rank = np.arange(leads)
    batch = np.where(rank < first, 0, 1 + (rank - first) // limit)
    expected = pd.Timestamp(NOW) + pd.to_timedelta(batch, unit="D")
    assert plan["send_at"].tolist() == expected.tolist()
    assert plan["reason"].isna().tolist() == (batch == 0).tolist()
    assert set(plan.loc[batch > 0, "reason"]) <= {"messaging_tier"}
    assert plan["action"].tolist() == np.where(batch == 0, "send", "defer").tolist()


def _sent(client: CampaignClient, campaign_id: int, at: dt.datetime) -> None:
    """One delivered message of ``campaign_id`` to each of its leads at ``at``."""
    with client.transaction() as session:
        for i, lead in enumerate(session.query(CampaignLead).filter_by(campaign_id=campaign_id).all()):
            session.add(OutboundMessage(sid=f"SM{campaign_id:016x}{i:016x}", campaign_id=campaign_id, lead_id=lead.id,
                                        user_id=lead.user_id, to_number=lead.user.phone_number, status="delivered",
                                        created_at=at, sent_at=at, status_at=at))
