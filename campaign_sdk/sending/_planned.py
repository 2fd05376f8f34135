"""The delivery plan's decisions as the send engine reads them: per lead, send now, defer (until
when, why) or skip (why). The decisions are ``campaign_sdk.delivery``'s (``plan_campaign``), not
recomputed here; this module only runs the plan for the engine and looks leads up in it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from campaign_sdk import delivery, service
from campaign_sdk.gateways import Gateway

# The plan's cost columns are not needed to send: an empty price table keeps the plan from
# asking a gateway's Pricing API (an HTTP call per country) on every send.
NO_PRICES = pd.DataFrame(columns=["country", "channel", "category", "price", "currency"])


@dataclass(frozen=True)
class Decision:
    """What the plan says for one lead: ``action`` send / defer / skip / holdout / unplanned (the
    lead was added after the plan was made), ``reason``, ``send_at`` (aware UTC) and ``scheduler``
    (now / twilio / worker)."""

    action: str
    reason: str | None = None
    send_at: dt.datetime | None = None
    scheduler: str | None = None


UNPLANNED = Decision("unplanned")


class Decisions:
    """A campaign's plan, indexed by lead id."""

    def __init__(self, frame: pd.DataFrame, *, policy: delivery.DeliveryPolicy) -> None:
        self.policy = policy
        self.frame = frame.set_index("lead_id")[["action", "reason", "send_at", "scheduler"]]
        self.now: dt.datetime = frame.attrs.get("now") or dt.datetime.now(dt.UTC)
        self._by_lead = _decisions(self.frame)

    def of(self, lead_ids: Sequence[int]) -> list[Decision]:
        """The decisions of ``lead_ids``, in order (a lead the plan does not know: ``unplanned``)."""
        get = self._by_lead.get
        return [get(lead_id, UNPLANNED) for lead_id in lead_ids]

    def last(self, keep: Callable[[Decision], bool]) -> int | None:
        """The highest planned lead id that ``keep`` accepts (None: none)."""
        return max((lead for lead, decision in self._by_lead.items() if keep(decision)), default=None)

    def count(self, keep: Callable[[Decision], bool]) -> int:
        """How many planned leads ``keep`` accepts."""
        return sum(1 for decision in self._by_lead.values() if keep(decision))

    def counts(self) -> pd.DataFrame:
        """Leads by action and reason."""
        return self.frame.groupby(["action", "reason"], dropna=False, observed=True).size().rename("leads").reset_index()


def _decisions(frame: pd.DataFrame) -> dict[int, Decision]:
    """lead id -> its Decision, made once per plan; leads with the same decision share one object
    (most leads of a send have the same few), so a chunk's lookup is a dict access per lead."""
    columns = [frame[c].astype(object).to_numpy() for c in ("action", "reason", "scheduler")]
    converted: dict[Any, dt.datetime | None] = {}
    send_at = []
    for value in frame["send_at"].tolist():  # a few distinct moments (one per zone and window)
        if value not in converted:
            converted[value] = None if pd.isna(value) else pd.Timestamp(value).to_pydatetime()
        send_at.append(converted[value])
    shared: dict[tuple[Any, ...], Decision] = {}
    out: dict[int, Decision] = {}
    for lead_id, action, reason, scheduler, moment in zip(frame.index.tolist(), *columns, send_at, strict=True):
        key = (action, reason if isinstance(reason, str) else None, moment,
               scheduler if isinstance(scheduler, str) else None)
        if not isinstance(action, str):
            continue  # not planned: looked up as UNPLANNED
        decision = shared.get(key)
        if decision is None:
            decision = shared[key] = Decision(*key)
        out[int(lead_id)] = decision
    return out


def clock_of(gateway: Gateway) -> dt.datetime:
    """Now, for sends through ``gateway``: its clock (the sandbox's is simulated and
    ``advance()`` moves it; Twilio's is the real time)."""
    return delivery.utc(gateway.now())


def decide(
    sessions: sessionmaker[Session], gateway: Gateway, campaign_id: int, *,
    client_policy: delivery.DeliveryPolicy | None = None, at: dt.datetime | str | None = None,
    local_time: str | None = None, now: dt.datetime | None = None,
) -> Decisions:
    """Run ``campaign_sdk.delivery.plan_campaign`` for the campaign (no prices) and index it."""
    with sessions() as session:
        row = service.get_campaign(session, campaign_id)
        policy = delivery.policy_for(row, given=None, client_policy=client_policy)
        arms = delivery.plan_arms(row, gateway.channel)
        list(row.variants)  # loaded now: the plan reads the experiment's arms after the session
    engine = sessions.kw["bind"]
    now = now or clock_of(gateway)
    plan = delivery.plan_campaign(
        engine, row, gateway, arms=arms, policy=policy, at=at,
        local_time=local_time, prices=NO_PRICES, now=now,
    )
    return Decisions(plan, policy=policy)
