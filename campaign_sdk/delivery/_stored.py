"""The client's delivery policy, kept in the store: the policy of every campaign that sets none
of its own, the same for every process on the store (a notebook, ``campaign-sdk worker``, the
HTTP service, a second client). One ``store_settings`` row (migration 0015), key
``delivery_policy``, value ``DeliveryPolicy.model_dump(mode="json")`` as a campaign's own is
stored; no row: the default policy (``DeliveryPolicy()``).

>>> import sqlalchemy as sa
>>> from sqlalchemy.orm import Session
>>> from campaign_sdk.delivery import SendWindow
>>> from campaign_sdk.migrations import upgrade
>>> engine = sa.create_engine("sqlite://")
>>> upgrade(engine)
>>> with Session(engine) as session, session.begin():
...     save_client_policy(session, DeliveryPolicy(window=SendWindow(start="10:00", end="18:00")))
>>> with Session(engine) as session:
...     stored_client_policy(session).window
SendWindow(start='10:00', end='18:00', days=('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'))
"""

from __future__ import annotations

import functools
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from campaign_sdk._exceptions import DeliveryPolicyError
from campaign_sdk.delivery._policy import DeliveryPolicy
from campaign_sdk.models import StoreSetting, utcnow

KEY = "delivery_policy"


def stored_client_policy(session: Session | sa.Connection) -> DeliveryPolicy | None:
    """The store's client delivery policy (None: none set, the default applies), read with one
    small SELECT; the same stored value is validated once per process."""
    value = session.scalar(sa.select(StoreSetting.value).where(StoreSetting.key == KEY))
    if value is None:
        return None
    return _policy(json.dumps(value, sort_keys=True))


@functools.lru_cache(maxsize=8)
def _policy(text: str) -> DeliveryPolicy:
    """The policy a stored value describes (policies are frozen: one object serves every caller)."""
    value: dict[str, Any] = json.loads(text)
    try:
        return DeliveryPolicy(**value)
    except DeliveryPolicyError as exc:  # e.g. written by another version of campaign_sdk
        raise DeliveryPolicyError(
            f"the store's client delivery policy (store_settings key {KEY!r}) is not a policy this version of "
            f"campaign_sdk can read: {exc}\nset it again with client.set_delivery(policy), or "
            "client.set_delivery(None) for the default", problems=exc.problems,
        ) from None


def save_client_policy(session: Session, policy: DeliveryPolicy | None) -> None:
    """Store ``policy`` as the client delivery policy of the store, in ``session``'s transaction
    (None deletes it: the default applies). Two writers at once: the last one wins, never an error."""
    if policy is None:
        session.execute(sa.delete(StoreSetting).where(StoreSetting.key == KEY))
        return
    row = {"key": KEY, "value": policy.model_dump(mode="json"), "updated_at": utcnow()}
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        session.merge(StoreSetting(**row))
        return
    insert = (pg_insert if dialect == "postgresql" else sqlite_insert)(StoreSetting).values(**row)
    session.execute(insert.on_conflict_do_update(
        index_elements=[StoreSetting.key],
        set_={"value": insert.excluded.value, "updated_at": insert.excluded.updated_at},
    ))
