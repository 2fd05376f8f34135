"""SDK exceptions -> HTTP answers with one body shape (:class:`ErrorBody`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError

from campaign_sdk._exceptions import (
    CampaignError,
    CampaignNotFoundError,
    CampaignStateError,
    DuplicateCampaignError,
    GatewayError,
    Issue,
    LeadValidationError,
    TemplateValidationError,
)
from campaign_sdk.server._models import ErrorBody, IssueOut

_STATUS: dict[type[Exception], int] = {
    GatewayError: 502,
    DuplicateCampaignError: 409,
    CampaignStateError: 409,
    CampaignNotFoundError: 404,
    TemplateValidationError: 422,
    LeadValidationError: 422,
}
# Any other CampaignError is answered by the builtin it also derives from (see _exceptions).
_BY_BUILTIN: tuple[tuple[type[Exception], int], ...] = ((LookupError, 404), (ValueError, 422), (RuntimeError, 409))


def status_of(exc: Exception) -> int:
    """The HTTP status for an exception raised by the SDK (or a plain ValueError: 422)."""
    for exc_type, status in _STATUS.items():
        if isinstance(exc, exc_type):
            return status
    for exc_type, status in _BY_BUILTIN:
        if isinstance(exc, exc_type):
            return status
    return 400


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in {
        400: "the body could not be parsed (not JSON)",
        401: "missing or unknown API key",
        404: "no such campaign",
        409: "not allowed in the campaign's state, or a name clash",
        422: "the request breaks a rule; ``issues`` lists every problem",
    }.items()
}
"""Error answers every API route may give (published in the OpenAPI document)."""


def error_response(status: int, detail: str, *, error: str | None = None,
                   issues: Sequence[Issue] = (), headers: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorBody(detail=detail, error=error, issues=[_issue(i) for i in issues])
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(CampaignError, _sdk_error)
    app.add_exception_handler(ValueError, _sdk_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(DataError, _data_error)


async def _sdk_error(_request: Request, exc: Exception) -> JSONResponse:
    issues = exc.issues if isinstance(exc, TemplateValidationError) else ()
    return error_response(status_of(exc), str(exc), error=type(exc).__name__, issues=issues)


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    issues = [
        Issue(".".join(str(part) for part in error.get("loc", ())), str(error.get("type", "invalid")),
              str(error.get("msg", "invalid value")))
        for error in exc.errors()
    ]
    detail = f"the request has {len(issues)} problem(s): " + "; ".join(str(i) for i in issues)
    return error_response(422, detail, error="RequestValidationError", issues=issues)


async def _data_error(_request: Request, exc: Exception) -> JSONResponse:
    # A value the database cannot store (e.g. a NUL character in PostgreSQL text): nothing was
    # written, the transaction rolled back.
    orig = getattr(exc, "orig", None) or exc
    reason = str(orig).splitlines()[0] if str(orig) else type(orig).__name__
    return error_response(422, f"the database cannot store a value of this request: {reason}",
                          error="DataError")


def _issue(issue: Issue) -> IssueOut:
    return IssueOut(field=issue.field, rule=issue.rule, message=issue.message)
