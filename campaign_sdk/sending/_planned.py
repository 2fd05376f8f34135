"""The delivery plan's decisions as the send engine reads them: per lead, send now, defer (until
when, why) or skip (why). The decisions are ``campaign_sdk.delivery``'s (``plan_campaign``), not
recomputed here; this module only runs the plan for the engine and looks leads up in it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from campaign_sdk._store import engine_of
from campaign_sdk import delivery, service
from campaign_sdk.gateways import Gateway
from campaign_sdk.sending._deadline import deadlines

@dataclass(frozen=True)
class Decision:
    """What the plan says for one lead: ``action`` send / defer / skip / holdout / unplanned (the
    lead was added after the plan was made), ``reason``, ``send_at`` (aware UTC) and ``scheduler``
    (now / twilio / worker)."""

    action: str
    reason: str | None = None
    send_at: dt.datetime | None = None
    scheduler: str | None = None
    until: dt.datetime | None = None  # a lead sent now: its request must leave before this (_deadline)
    reopen: dt.datetime | None = None  # ... else it is deferred to this moment


UNPLANNED = Decision("unplanned")


class Decisions:
    """A campaign's plan, indexed by lead id: each lead holds the index of its decision among the
    plan's few distinct ones (numpy arrays), so making it and asking about every lead
    (:meth:`last`, :meth:`count`) cost no Python work per lead; :meth:`of` costs a lookup per
    lead asked about."""

    def __init__(self, frame: pd.DataFrame, *, policy: delivery.DeliveryPolicy) -> None:
        self.policy = policy
        columns = ["action", "reason", "send_at", "scheduler", *(c for c in ("until", "reopen") if c in frame)]
        indexed = frame.set_index("lead_id")[columns]
        self.frame = indexed[columns[:4]]  # the plan's own columns (until / reopen: in the decisions)
        self.now: dt.datetime = frame.attrs.get("now") or dt.datetime.now(dt.UTC)
        self.warnings: list[str] = list(frame.attrs.get("warnings", []))  # e.g. US marketing on WhatsApp
        self._ids, self._codes, self._choices = _decisions(indexed)

    def of(self, lead_ids: Sequence[int]) -> list[Decision]:
        """The decisions of ``lead_ids``, in order (a lead the plan does not know: ``unplanned``)."""
        if not len(lead_ids):
            return []
        wanted = np.asarray(lead_ids, dtype=np.int64)
        at = np.minimum(np.searchsorted(self._ids, wanted), max(len(self._ids) - 1, 0))
        known = self._ids[at] == wanted if len(self._ids) else np.zeros(len(wanted), bool)
        codes = np.where(known, self._codes[at] if len(self._ids) else -1, -1)
        choices = self._choices
        return [choices[c] for c in codes.tolist()]  # choices[-1] is UNPLANNED

    def _kept(self, keep: Callable[[Decision], bool]) -> np.ndarray:
        """Per planned lead (in ``_ids`` order): ``keep`` accepts its decision."""
        accepted = np.array([keep(d) for d in self._choices[:-1]] + [False], dtype=bool)
        return accepted[self._codes]

    def last(self, keep: Callable[[Decision], bool]) -> int | None:
        """The highest planned lead id that ``keep`` accepts (None: none)."""
        ids = self._ids[self._kept(keep)]
        return int(ids.max()) if len(ids) else None

    def count(self, keep: Callable[[Decision], bool]) -> int:
        """How many planned leads ``keep`` accepts."""
        return int(self._kept(keep).sum())

    def counts(self) -> pd.DataFrame:
        """Leads by action and reason."""
        return self.frame.groupby(["action", "reason"], dropna=False, observed=True).size().rename("leads").reset_index()


def _factor(values: pd.Series, convert: Callable[[Any], Any] = lambda v: v) -> tuple[np.ndarray, list[Any]]:
    """Codes (0: missing) and the distinct values (index 0: None) of ``values``, set-wise."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes.astype(np.int64) + 1, [None, *(convert(v) for v in list(uniques))]


def _moment(value: Any) -> dt.datetime | None:
    return None if pd.isna(value) else pd.Timestamp(value).to_pydatetime()


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _decisions(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[Decision]]:
    """(planned lead ids, sorted; each one's index into the decisions; the distinct decisions,
    then UNPLANNED). Leads with the same decision share one object (most leads of a send have
    the same few); a lead without an action is not planned (looked up as UNPLANNED)."""
    parts = [_factor(frame["action"], _text), _factor(frame["reason"], _text),
             _factor(frame["send_at"], _moment), _factor(frame["scheduler"], _text),
             *(_factor(frame[c], _moment) for c in ("until", "reopen") if c in frame)]
    key = np.zeros(len(frame), dtype=np.int64)
    for codes, uniques in parts:
        key = key * len(uniques) + codes
    planned = parts[0][0] > 0
    ids = frame.index.to_numpy(dtype=np.int64)[planned]
    which, distinct = pd.factorize(key[planned])
    choices: list[Decision] = []
    for value in distinct.tolist():
        fields = []
        for _, uniques in reversed(parts):
            value, code = divmod(value, len(uniques))
            fields.append(uniques[code])
        choices.append(Decision(*reversed(fields)))
    order = np.argsort(ids, kind="stable")
    return ids[order], which.astype(np.int64)[order], [*choices, UNPLANNED]


def clock_of(gateway: Gateway) -> dt.datetime:
    """Now, for sends through ``gateway``: its clock (the sandbox's is simulated and
    ``advance()`` moves it; Twilio's is the real time)."""
    return delivery.utc(gateway.now())


def decide(
    sessions: sessionmaker[Session], gateway: Gateway, campaign_id: int, *,
    client_policy: delivery.DeliveryPolicy | None = None, at: dt.datetime | str | None = None,
    local_time: str | None = None, now: dt.datetime | None = None,
) -> Decisions:
    """Run ``campaign_sdk.delivery.plan_campaign`` for the campaign (its decisions only: no
    rendering, zones or prices) and index it."""
    with sessions() as session:
        row = service.get_campaign(session, campaign_id)
        policy = delivery.policy_for(row, given=None, client_policy=client_policy)
        arms = delivery.plan_arms(row, gateway.channel)
        list(row.variants)  # loaded now: the plan reads the experiment's arms after the session
    engine = engine_of(sessions)
    now = now or clock_of(gateway)
    plan = delivery.plan_campaign(
        engine, row, gateway, arms=arms, policy=policy, at=at,
        local_time=local_time, now=now, decisions_only=True,
    )
    when = delivery.schedule(at=at, local_time=local_time, now=now, expires_at=None)
    timed = deadlines(engine, plan, policy=policy, category=str(row.campaign_type), schedule=when, now=now)
    timed.attrs.update(plan.attrs)
    return Decisions(timed, policy=policy)
