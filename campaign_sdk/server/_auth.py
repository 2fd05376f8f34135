"""API keys (``Authorization: Bearer <key>``) for every route except Twilio's webhooks."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

_bearer = HTTPBearer(auto_error=False, description="An API key from CAMPAIGN_SDK_API_KEYS(_FILE)")


def key_matches(given: str, keys: Iterable[str]) -> bool:
    """Whether ``given`` is one of ``keys``, in time that does not depend on where they differ.

    Digests are compared (so lengths leak nothing) and every key is checked, match or not.

    >>> key_matches("k-2", ["k-1", "k-2"]), key_matches("k-3", ["k-1", "k-2"])
    (True, False)
    """
    digest = hashlib.sha256(given.encode("utf-8")).digest()
    found = False
    for key in keys:
        found |= hmac.compare_digest(digest, hashlib.sha256(key.encode("utf-8")).digest())
    return found


def require_api_key(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """FastAPI dependency: 401 unless the request carries a configured API key."""
    keys = request.app.state.settings.api_keys
    if credentials is None or not key_matches(credentials.credentials, keys):
        raise HTTPException(
            status_code=401,
            detail="missing or unknown API key; send the header 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
