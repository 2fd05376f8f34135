"""Shared route plumbing: the app's client and campaign handles."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

from campaign_sdk._campaign import Campaign
from campaign_sdk.client import CampaignClient


def get_client(request: Request) -> CampaignClient:
    """The app's CampaignClient (opened, and migrated, when the app started)."""
    client: CampaignClient = request.app.state.client
    return client


def open_campaign(request: Request, campaign_id: int) -> Campaign:
    """The campaign ``campaign_id`` (404 through CampaignNotFoundError if there is none)."""
    return get_client(request).campaign(campaign_id)


def known_query_only(request: Request) -> None:
    """Refuse query parameters the route does not publish (a typo such as ``?staus=`` would
    otherwise be ignored silently and answer with unfiltered data), and a single-valued parameter
    given twice (only one of the values would be used)."""
    route = request.scope.get("route")
    if route is None or not request.query_params:
        return
    published = _published_query(request.app, route.path_format, request.method)
    takes = ", ".join(sorted(published)) or "none"
    errors = [
        {"type": "extra_forbidden", "loc": ("query", name),
         "msg": f"unknown query parameter; this route takes: {takes}"}
        for name in sorted(set(request.query_params) - set(published))
    ]
    errors += [
        {"type": "repeated", "loc": ("query", name), "msg": "given more than once; this parameter takes one value"}
        for name, many in published.items()
        if not many and len(request.query_params.getlist(name)) > 1
    ]
    if errors:
        raise RequestValidationError(errors)


def _published_query(app: Any, path: str, method: str) -> dict[str, bool]:
    """Query parameter name -> whether it takes several values, from the OpenAPI document."""
    cache: dict[tuple[str, str], dict[str, bool]] = app.state.__dict__.setdefault("_query_names", {})
    key = (path, method.lower())
    if key not in cache:
        operation = app.openapi().get("paths", {}).get(path, {}).get(key[1], {})
        cache[key] = {
            p["name"]: any(part.get("type") == "array" for part in _alternatives(p.get("schema", {})))
            for p in operation.get("parameters", []) if p.get("in") == "query"
        }
    return cache[key]


def _alternatives(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]
