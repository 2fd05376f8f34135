"""campaign_sdk over HTTP (``pip install "campaign-sdk[server]"``: FastAPI + uvicorn).

Routes call the same CampaignClient / Campaign methods and service functions as the SDK, so every
rule is the SDK's. Configure it with environment variables (see :data:`ENV`) and start it with
``campaign-sdk serve``; or build the app yourself::

    from campaign_sdk.server import ServerSettings, create_app
    app = create_app(ServerSettings.from_env())       # uvicorn.run(app)

``import campaign_sdk`` never imports this package (nor FastAPI).
"""

from __future__ import annotations

from campaign_sdk.server._app import app_from_env, create_app
from campaign_sdk.server._run import serve
from campaign_sdk.server._settings import ENV, ServerConfigError, ServerSettings

__all__ = ["ENV", "ServerConfigError", "ServerSettings", "app_from_env", "create_app", "serve"]
