"""Background jobs (e.g. a campaign send started over HTTP), visible to every process on the store.

A job is a JSON record under ``job:<id>`` in ``sync_state``; at most one job per *scope* (e.g.
``send:<campaign id>``) is active, marked by ``job-active:<scope>``. A marker whose heartbeat is
older than ``ttl`` belongs to a process that died and is taken over.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaign_sdk.models import OutboundMessage, SyncState

JOB_TTL = 30.0


def start_job(
    session: Session, scope: str, job_id: str, data: dict[str, Any], *, ttl: float = JOB_TTL
) -> dict[str, Any] | None:
    """Make ``job_id`` the active job of ``scope`` and store ``data`` as its record.

    Returns None when it started, or the record of the job already active in ``scope`` (whose
    heartbeat is fresh): the caller refuses. A concurrent start of the same scope fails at
    commit (IntegrityError) or finds the other job, never both succeed.
    """
    now = time.time()
    marker = json.dumps({"job_id": job_id, "heartbeat": now})
    row = session.get(SyncState, f"job-active:{scope}")
    if row is None:
        session.add(SyncState(key=f"job-active:{scope}", value=marker))
    else:
        holder = _load(row.value)
        if now - float(holder.get("heartbeat", 0)) < ttl:
            return get_job(session, str(holder.get("job_id"))) or holder
        if not _swap(session, f"job-active:{scope}", row.value, marker):
            return holder
    put_job(session, job_id, data | {"heartbeat": now})
    session.flush()
    return None


def beat_job(session: Session, scope: str, job_id: str, data: dict[str, Any] | None = None) -> bool:
    """Refresh the job's heartbeat (and merge ``data`` into its record); False if it lost ``scope``."""
    now = time.time()
    row = session.get(SyncState, f"job-active:{scope}")
    if row is None or _load(row.value).get("job_id") != job_id:
        return False
    _swap(session, row.key, row.value, json.dumps({"job_id": job_id, "heartbeat": now}))
    put_job(session, job_id, (get_job(session, job_id) or {}) | (data or {}) | {"heartbeat": now})
    return True


def finish_job(session: Session, scope: str, job_id: str, data: dict[str, Any]) -> None:
    """Store the job's final record and free ``scope`` (if this job still holds it)."""
    put_job(session, job_id, (get_job(session, job_id) or {}) | data | {"heartbeat": time.time()})
    row = session.get(SyncState, f"job-active:{scope}")
    if row is not None and _load(row.value).get("job_id") == job_id:
        session.delete(row)
    session.flush()


def get_job(session: Session, job_id: str) -> dict[str, Any] | None:
    """The record of ``job_id`` (None if there is no such job)."""
    row = session.get(SyncState, f"job:{job_id}")
    return None if row is None else _load(row.value)


def put_job(session: Session, job_id: str, data: dict[str, Any]) -> None:
    row = session.get(SyncState, f"job:{job_id}")
    if row is None:
        session.add(SyncState(key=f"job:{job_id}", value=json.dumps(data, default=str)))
    else:
        row.value = json.dumps(data, default=str)
    session.flush()


def message_status_counts(session: Session, campaign_id: int) -> dict[str, int]:
    """How many of the campaign's messages are in each status (a send's live progress)."""
    rows = session.execute(
        sa.select(OutboundMessage.status, sa.func.count())
        .where(OutboundMessage.campaign_id == campaign_id).group_by(OutboundMessage.status)
    )
    counts: Counter[str] = Counter()
    for status, n in rows:
        counts[str(status.value if status is not None else "intended")] += int(n)
    return dict(sorted(counts.items()))


def _swap(session: Session, key: str, old: str, new: str) -> bool:
    result = session.execute(
        sa.update(SyncState).where(SyncState.key == key, SyncState.value == old).values(value=new)
        .execution_options(synchronize_session=False)
    )
    return bool(cast("sa.CursorResult[Any]", result).rowcount)


def _load(value: str) -> dict[str, Any]:
    try:
        loaded = json.loads(value)
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}
