"""Metric routes: the analytics layer's frames as JSON records (NaN -> null)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request

from campaign_sdk.analytics import DEFAULT_WINDOW
from campaign_sdk.server._auth import require_api_key
from campaign_sdk.server._campaigns import CampaignId
from campaign_sdk.server._deps import get_client, known_query_only, open_campaign
from campaign_sdk.server._errors import ERROR_RESPONSES

router = APIRouter(dependencies=[Depends(require_api_key), Depends(known_query_only)],
                   responses=ERROR_RESPONSES, tags=["metrics"])

Window = Annotated[str, Query(max_length=20, description="e.g. 7d, 36h, 2w, 90m")]
Shape = Annotated[Literal["wide", "long"], Query(description="wide: one row per campaign; long: per metric")]
By = Annotated[str | None, Query(max_length=64, description='"day", "week", "campaign_type" or a custom variable')]
Bound = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}([T ][0-9:.]+)?(Z|[+-]\d{2}:?\d{2})?$",
                                    description="keep leads messaged in [start, end): an ISO 8601 date or time")]


@router.get("/metrics")
def metrics(
    request: Request,
    campaigns: Annotated[list[Annotated[int, Query(ge=1, le=2**31 - 1)]] | None, Query()] = None,
    by: By = None,
    reply_window: Window = DEFAULT_WINDOW,
    attribution_window: Window = DEFAULT_WINDOW,
    start: Bound = None,
    end: Bound = None,
    shape: Shape = "wide",
) -> list[dict[str, Any]]:
    """Funnel counts and rates per campaign (every rate with numerator, denominator and a 95%
    Wilson interval), as :meth:`CampaignClient.metrics` computes them."""
    frame = get_client(request).metrics(
        campaigns=campaigns, by=by, reply_window=reply_window, attribution_window=attribution_window,
        start=start, end=end, shape=shape,
    )
    return _records(frame)


@router.get("/campaigns/{campaign_id}/metrics")
def campaign_metrics(
    request: Request,
    campaign_id: CampaignId,
    by: By = None,
    reply_window: Window = DEFAULT_WINDOW,
    attribution_window: Window = DEFAULT_WINDOW,
    start: Bound = None,
    end: Bound = None,
    shape: Shape = "wide",
) -> list[dict[str, Any]]:
    """This campaign's metrics (same parameters as ``GET /metrics``)."""
    frame = open_campaign(request, campaign_id).metrics(
        by=by, reply_window=reply_window, attribution_window=attribution_window, start=start, end=end, shape=shape
    )
    return _records(frame)


Alpha = Annotated[float, Query(gt=0, lt=1, description="significance level of the tests and 1 - interval level")]


@router.get("/lift", tags=["experiments"])
def lift(
    request: Request,
    campaigns: Annotated[list[Annotated[int, Query(ge=1, le=2**31 - 1)]] | None, Query()] = None,
    alpha: Alpha = 0.05,
    reply_window: Window = DEFAULT_WINDOW,
    attribution_window: Window = DEFAULT_WINDOW,
) -> list[dict[str, Any]]:
    """The lift table of every experiment campaign (or those given), as
    :meth:`CampaignClient.lift` computes it: one record per campaign x metric x test x arm."""
    frame = get_client(request).lift(
        campaigns=campaigns, alpha=alpha, reply_window=reply_window, attribution_window=attribution_window
    )
    return _records(frame)


@router.get("/campaigns/{campaign_id}/lift", tags=["experiments"])
def campaign_lift(
    request: Request,
    campaign_id: CampaignId,
    alpha: Alpha = 0.05,
    reply_window: Window = DEFAULT_WINDOW,
    attribution_window: Window = DEFAULT_WINDOW,
) -> list[dict[str, Any]]:
    """This campaign's lift table (``test`` "fixed" rows are valid for one planned look,
    "sequential" rows however often you look; ``srm`` flags a broken assignment). 409 when
    the campaign is not an experiment."""
    frame = open_campaign(request, campaign_id).lift(
        alpha=alpha, reply_window=reply_window, attribution_window=attribution_window
    )
    return _records(frame)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(frame.to_json(orient="records", date_format="iso"))
    return records
