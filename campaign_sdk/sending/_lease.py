"""A per-campaign send lease, so two processes (or notebooks) never send the same campaign at once.

The lease is a ``sync_state`` row holding the owner's host, pid, a random token and a heartbeat.
It is taken over when its heartbeat is older than ``ttl`` or when its owner, on this host, is dead
(a send killed with SIGKILL does not make the next one wait).
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from campaign_sdk._exceptions import CampaignStateError
from campaign_sdk.models import SyncState


class LeaseLost(CampaignStateError):
    """Another process took the send lease over (this one stalled longer than the lease ttl)."""


class SendLease:
    def __init__(self, sessions: sessionmaker[Session], campaign_id: int, *, ttl: float = 60.0) -> None:
        self.key = f"send-lease:{campaign_id}"
        self.campaign_id = campaign_id
        self.ttl = ttl
        self._sessions = sessions
        self._token = uuid.uuid4().hex
        self._value = ""

    def acquire(self) -> None:
        """Take the lease or raise CampaignStateError naming the process that holds it."""
        self._value = self._payload()
        try:
            with self._sessions.begin() as session:
                row = session.get(SyncState, self.key)
                if row is None:
                    session.add(SyncState(key=self.key, value=self._value))
                    session.flush()
                    return
                holder = _load(row.value)
                if not self._stale(holder):
                    raise CampaignStateError(
                        f"campaign {self.campaign_id} is being sent by process {holder.get('pid')} on "
                        f"{holder.get('host')!r} (heartbeat {time.time() - holder.get('heartbeat', 0):.0f} s ago); "
                        "wait for it to finish, or disable the campaign to stop it"
                    )
                if not _swap(session, self.key, row.value, self._value):
                    raise CampaignStateError(f"campaign {self.campaign_id}: another send took the lease just now")
        except IntegrityError:
            raise CampaignStateError(f"campaign {self.campaign_id}: another send took the lease just now") from None

    def heartbeat(self, session: Session) -> None:
        """Refresh the lease inside ``session``'s transaction; LeaseLost if it was taken over."""
        fresh = self._payload()
        if not _swap(session, self.key, self._value, fresh):
            raise LeaseLost(
                f"campaign {self.campaign_id}: this send stalled for more than {self.ttl:.0f} s and another "
                "process took over; this one stops"
            )
        self._value = fresh

    def release(self) -> None:
        with self._sessions.begin() as session:
            session.execute(sa.delete(SyncState).where(SyncState.key == self.key, SyncState.value == self._value))

    def _payload(self) -> str:
        return json.dumps(
            {"token": self._token, "pid": os.getpid(), "host": socket.gethostname(), "heartbeat": time.time()}
        )

    def _stale(self, holder: dict[str, Any]) -> bool:
        if time.time() - float(holder.get("heartbeat", 0)) > self.ttl:
            return True
        return holder.get("host") == socket.gethostname() and not _alive(int(holder.get("pid", 0)))


def _swap(session: Session, key: str, old: str, new: str) -> bool:
    result = session.execute(
        sa.update(SyncState).where(SyncState.key == key, SyncState.value == old).values(value=new)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def _load(value: str) -> dict[str, Any]:
    try:
        loaded = json.loads(value)
        return loaded if isinstance(loaded, dict) else {}
    except ValueError:
        return {}


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead
    except (OSError, IndexError):
        return True
