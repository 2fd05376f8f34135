"""Template routes (catalogue, draft check) and media upload for media / card templates."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from campaign_sdk import service
from campaign_sdk._exceptions import Issue, TemplateValidationError
from campaign_sdk.schemas._draft import check_draft
from campaign_sdk.server._auth import require_api_key
from campaign_sdk.server._campaigns import CampaignId
from campaign_sdk.server._deps import get_client, known_query_only
from campaign_sdk.server._errors import ERROR_RESPONSES, error_response
from campaign_sdk.server._models import Counter, DraftIn, DraftOut, IssueOut, MediaOut, TemplateOut, VariableOut
from campaign_sdk.templates import default_templates

log = logging.getLogger("campaign_sdk.server")
router = APIRouter(dependencies=[Depends(require_api_key), Depends(known_query_only)], responses=ERROR_RESPONSES)
public = APIRouter()

_MEDIA_NAME = re.compile(r"^[0-9a-f]{32}\.[a-z0-9]{2,5}$")
_HEAD_BYTES = 16
_UPLOAD_TYPES = {
    mime: {"schema": {"type": "string", "format": "binary"}} for mime in service.MEDIA_TYPES
}


@router.get("/templates", tags=["templates"])
def list_templates() -> list[TemplateOut]:
    """The default templates, each with its context variables, sample values and category."""
    return [
        TemplateOut(
            key=t.key, title=t.title, description=t.description, content_type=t.content_type,
            category=t.category, context_variables=list(t.context_variables),
            context=t.context.model_dump(mode="json", exclude_none=True), samples=dict(t.samples),
        )
        for t in default_templates()
    ]


@router.post("/templates/validate", tags=["templates"])
def validate_draft(body: DraftIn) -> DraftOut:
    """Check a draft template without saving it: the same errors and WhatsApp warnings the
    notebook's Template Studio shows, with character counters and variables.

    A draft that is not a context at all (an unknown content type, text that is not JSON, JSON
    that is not an object) is answered like any other: ``valid`` false, with its one error."""
    check = check_draft(body.content_type, body.content_context, sample=body.samples, lead_columns=body.lead_columns)
    return _draft_out(
        check.errors, check.warnings, check.counters,
        [VariableOut(name=v.name, number=v.number, fields=list(v.fields), source=v.source, sample=v.sample)
         for v in check.variables],
    )


@router.post(
    "/campaigns/{campaign_id}/media",
    tags=["campaigns"],
    status_code=201,
    openapi_extra={"requestBody": {"required": True, "content": _UPLOAD_TYPES}},
    responses={413: ERROR_RESPONSES[422] | {"description": "the file is over Twilio's size limit"},
               415: ERROR_RESPONSES[422] | {"description": "a media type Twilio does not send"},
               503: ERROR_RESPONSES[422] | {"description": "no media URL configured"}},
)
async def upload_media(
    request: Request,
    campaign_id: CampaignId,
    content_type: Annotated[str | None, Header()] = None,
    append: Annotated[bool, Query(description="add to the template's media instead of replacing them")] = False,
) -> Any:
    """Upload a file (the raw bytes, with its ``Content-Type``) for a ``twilio/media`` or
    ``twilio/card`` template: type and size are checked against Twilio's WhatsApp limits, the
    file is stored under the media directory and the template's ``media`` points at its URL."""
    settings = request.app.state.settings
    base = settings.media_base_url
    if base is None:
        return error_response(503, "media uploads need a public address: set CAMPAIGN_SDK_PUBLIC_URL "
                              "or CAMPAIGN_SDK_MEDIA_URL", error="ServerConfigError")
    client = get_client(request)
    template_type = await run_in_threadpool(lambda: client.campaign(campaign_id).content.content_type)
    data = await _read_capped(request, service.MAX_MEDIA_BYTES)
    size = len(data)
    if size > service.MAX_MEDIA_BYTES and (declared := request.headers.get("content-length", "")).isdigit():
        size = int(declared)
    try:
        kind = service.check_media(content_type or "", size, data[:_HEAD_BYTES], content_type=template_type)
    except TemplateValidationError as exc:
        status = {"media_too_large": 413, "media_type_unsupported": 415}.get(exc.issues[0].rule, 422)
        return error_response(status, str(exc), error=type(exc).__name__, issues=exc.issues)
    name = f"{hashlib.sha256(data).hexdigest()[:32]}.{kind.extension}"
    url = f"{base}/{name}"
    created = await run_in_threadpool(_store, Path(settings.media_dir), name, data)

    def attach() -> list[str]:
        with client.transaction() as session:
            row = service.attach_media(session, service.get_campaign(session, campaign_id), url, append=append)
            return list(row.content.get("media") or [])

    try:
        media = await run_in_threadpool(attach)
    except Exception:
        if created:  # nothing stays behind from a refused request
            Path(settings.media_dir, name).unlink(missing_ok=True)
        raise
    log.info("media %s stored for campaign %s (%s bytes)", name, campaign_id, len(data))
    return MediaOut(url=url, filename=name, content_type=(content_type or "").split(";")[0].strip().lower(),
                    size=len(data), media=media)


@public.get("/media/{filename}", tags=["media"], include_in_schema=False)
def get_media(request: Request, filename: str) -> Any:
    """Uploaded media, public so Twilio can fetch them (names are unguessable content hashes)."""
    path = Path(request.app.state.settings.media_dir, filename)
    if not _MEDIA_NAME.match(filename) or not path.is_file():
        return error_response(404, f"no media file {filename!r}", error="NotFound")
    extension = filename.rsplit(".", 1)[1]
    mime = next(m for m, t in service.MEDIA_TYPES.items() if t.extension == extension)
    return FileResponse(path, media_type=mime)


async def _read_capped(request: Request, cap: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:  # stop reading: the size check below reports it
            chunks.append(chunk[: cap + 1 - (size - len(chunk))])
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _store(directory: Path, name: str, data: bytes) -> bool:
    """Write ``data`` as ``directory/name`` atomically; False if it was already there."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / name
    if target.exists():
        return False
    with tempfile.NamedTemporaryFile(dir=directory, delete=False) as handle:
        handle.write(data)
    os.replace(handle.name, target)
    return True


def _draft_out(errors: list[Issue], warnings: list[Issue], counters: dict[str, tuple[int, int]],
               variables: list[VariableOut]) -> DraftOut:
    return DraftOut(
        valid=not errors,
        errors=[IssueOut(field=i.field, rule=i.rule, message=i.message) for i in errors],
        warnings=[IssueOut(field=i.field, rule=i.rule, message=i.message) for i in warnings],
        counters={path: Counter(characters=n, limit=limit) for path, (n, limit) in counters.items()},
        variables=variables,
    )
