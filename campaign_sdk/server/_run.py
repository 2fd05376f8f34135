"""Running the service with uvicorn (``campaign-sdk serve``)."""

from __future__ import annotations

import os

from campaign_sdk.client import CampaignClient
from campaign_sdk.server._app import create_app
from campaign_sdk.server._settings import ServerSettings


def serve(
    settings: ServerSettings | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    log_level: str = "info",
) -> None:
    """Serve until interrupted. ``workers > 1`` runs that many processes (PostgreSQL is the store
    for that; SQLite works but writes one at a time). Migrations are applied before any worker
    starts."""
    import uvicorn

    settings = settings or ServerSettings.from_env()
    settings.check()
    if workers <= 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)
        return
    # Worker processes rebuild the app from the environment; migrating once here means they
    # never race each other to create the schema.
    CampaignClient(settings.database_url).close()
    os.environ.update(settings.to_env())
    uvicorn.run(
        "campaign_sdk.server:app_from_env", factory=True, host=host, port=port,
        workers=workers, log_level=log_level,
    )
