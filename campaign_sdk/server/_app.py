"""The FastAPI application: settings, one CampaignClient, routers, health."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import sessionmaker
from twilio.request_validator import RequestValidator

from campaign_sdk import __version__, sending
from campaign_sdk.client import CampaignClient
from campaign_sdk.inbox._worker import InboxWorker
from campaign_sdk.server import _campaigns, _content, _errors, _lifecycle, _metrics, _webhooks
from campaign_sdk.server._models import HealthOut
from campaign_sdk.server._settings import ServerSettings

log = logging.getLogger("campaign_sdk.server")


def create_app(settings: ServerSettings | None = None, *, client: CampaignClient | None = None) -> FastAPI:
    """The HTTP service over ``client`` (default: a CampaignClient opened on
    ``settings.database_url`` when the app starts, which applies the migrations).

    >>> app = create_app(ServerSettings(api_keys=("k",)))
    >>> "/campaigns/{campaign_id}/add-leads" in app.openapi()["paths"]
    True
    """
    settings = settings or ServerSettings.from_env()
    settings.check()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = client is None
        opened = client or CampaignClient(settings.database_url, gateway=_lifecycle.gateway_for(settings))
        _attach(app, opened, settings)
        log.info("campaign_sdk server on %r; webhooks %s", opened,
                 "verified against " + str(settings.public_url) if settings.webhooks_ready else "disabled")
        try:
            yield
        finally:
            _lifecycle.shutdown(app)
            app.state.inbox.close()
            if own:
                opened.close()

    app = FastAPI(
        title="campaign_sdk", version=__version__, lifespan=lifespan,
        description="Campaigns, leads, metrics and Twilio webhooks over the campaign_sdk service layer.",
    )
    app.state.settings = settings
    _errors.install(app)
    for module in (_campaigns, _lifecycle, _content, _metrics):
        app.include_router(module.router)
    app.include_router(_webhooks.router)
    app.include_router(_content.public)
    app.add_api_route("/healthz", healthz, methods=["GET"], tags=["operation"],
                      responses={503: {"model": HealthOut, "description": "database unreachable"}})
    return app


def app_from_env() -> FastAPI:
    """App factory for ``uvicorn --factory`` and worker processes: settings from the environment."""
    return create_app(ServerSettings.from_env())


def healthz(request: Request) -> Any:
    """Whether the service can reach its database (and the schema is migrated); no API key."""
    try:
        with request.app.state.client.engine.connect() as connection:
            connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
    except Exception as exc:  # any failure is "unreachable"; the URL and password are never shown
        log.warning("health check failed: %s", type(exc).__name__)
        body = HealthOut(status="unavailable", database=f"unreachable ({type(exc).__name__})")
        return JSONResponse(body.model_dump(), status_code=503)
    return HealthOut(status="ok", database="ok")


def _attach(app: FastAPI, client: CampaignClient, settings: ServerSettings) -> None:
    engine = client.engine
    sqlite = engine.dialect.name == "sqlite"
    # Webhook writes go through one inbox worker per process (so SQLite's writers never collide
    # in-process); PostgreSQL runs them REPEATABLE READ so two workers applying callbacks for
    # one message can never both act on a stale status (the loser retries).
    webhook_engine = engine if sqlite else engine.execution_options(isolation_level="REPEATABLE READ")
    app.state.client = client
    app.state.webhook_sessions = sessionmaker(webhook_engine, expire_on_commit=False)
    app.state.inbox = InboxWorker(app.state.webhook_sessions, stale_after=dt.timedelta(seconds=settings.inbox_stale_after),
                                  after_opt_out=lambda: _cancel_opted_out(client))
    app.state.validator = RequestValidator(settings.twilio_auth_token) if settings.twilio_auth_token else None
    _lifecycle.startup(app)


def _cancel_opted_out(client: CampaignClient) -> None:
    """A STOP webhook does not cancel what Twilio's scheduler holds for that person: the server
    does, through its gateway (what could not be canceled is logged and tried again)."""
    for note in sending.sweep_notes(client._sessions, client.gateway, failures_only=True):
        log.warning("%s", note)
