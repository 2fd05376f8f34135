"""Server configuration from environment variables; secrets never appear in reprs."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from campaign_sdk._exceptions import CampaignError
from campaign_sdk.gateways._twilio import TWILIO_ENV

ENV = {
    "database_url": "CAMPAIGN_SDK_DATABASE_URL",
    "public_url": "CAMPAIGN_SDK_PUBLIC_URL",
    "api_keys": "CAMPAIGN_SDK_API_KEYS",
    "api_keys_file": "CAMPAIGN_SDK_API_KEYS_FILE",
    "media_dir": "CAMPAIGN_SDK_MEDIA_DIR",
    "media_url": "CAMPAIGN_SDK_MEDIA_URL",
    **{f"twilio_{name}": variable for name, variable in TWILIO_ENV.items()},  # the gateway's names
    "inbox_wait": "CAMPAIGN_SDK_INBOX_WAIT",
    "inbox_stale_after": "CAMPAIGN_SDK_INBOX_STALE_AFTER",
}
"""Setting -> the environment variable it is read from."""


class ServerConfigError(CampaignError, ValueError):
    """The server's configuration is incomplete or contradictory; the message names the variable."""


@dataclass(frozen=True, repr=False)
class ServerSettings:
    """What the HTTP service needs; :meth:`from_env` reads it from the environment.

    >>> settings = ServerSettings(api_keys=("k-123",), twilio_auth_token="secret")
    >>> "k-123" in repr(settings) or "secret" in repr(settings)
    False

    ``public_url`` is the address Twilio calls (``https://campaigns.example.com``): webhook
    signatures are checked against it, never against the Host header. ``media_url`` is where
    uploaded media are reachable (default ``{public_url}/media``, served by this app).
    ``inbox_wait``: seconds a webhook waits at most for its stored event to be applied before it
    is answered (default 0: answered once stored, applied right after); ``inbox_stale_after``: seconds after
    which a pending event (a status whose SID was never recorded) is reported in the log.
    ``twilio_from`` (``TWILIO_FROM``) is the sender's number, used when there is no
    ``twilio_messaging_service_sid``, as ``campaign-sdk worker`` uses it.
    """

    database_url: str | None = None
    public_url: str | None = None
    api_keys: tuple[str, ...] = ()
    media_dir: Path = Path("media")
    media_url: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_from: str | None = None
    inbox_wait: float = 0.0
    inbox_stale_after: float = 900.0

    def __repr__(self) -> str:
        database = _masked(self.database_url) if self.database_url else "sqlite:///campaigns.db"
        token = "set" if self.twilio_auth_token else "unset"
        sender = f" twilio_sender={self.twilio_sender}" if self.twilio_sender else ""
        return (
            f"<ServerSettings {database} public_url={self.public_url!r} "
            f"api_keys={len(self.api_keys)} twilio_auth_token={token}{sender}>"
        )

    @property
    def twilio_sender(self) -> str | None:
        """What the server's Twilio gateway sends from: the Messaging Service, else ``twilio_from``
        (as ``campaign-sdk worker`` chooses); None: no sender set. Not a secret."""
        return self.twilio_messaging_service_sid or self.twilio_from

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerSettings:
        """Settings from ``environ`` (default ``os.environ``); see :data:`ENV` for the names.

        API keys come from ``CAMPAIGN_SDK_API_KEYS`` (comma-separated) and/or
        ``CAMPAIGN_SDK_API_KEYS_FILE`` (one key per line, ``#`` starts a comment).
        """
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            return (env.get(ENV[name]) or "").strip() or None

        keys = [k.strip() for k in (get("api_keys") or "").split(",") if k.strip()]
        if (path := get("api_keys_file")) is not None:
            keys += read_keys_file(Path(path))
        return cls(
            database_url=get("database_url"),
            public_url=get("public_url"),
            api_keys=tuple(dict.fromkeys(keys)),
            media_dir=Path(get("media_dir") or "media"),
            media_url=get("media_url"),
            twilio_account_sid=get("twilio_account_sid"),
            twilio_auth_token=get("twilio_auth_token"),
            twilio_messaging_service_sid=get("twilio_messaging_service_sid"),
            twilio_from=get("twilio_from"),
            inbox_wait=_seconds(get("inbox_wait"), "inbox_wait", 0.0),
            inbox_stale_after=_seconds(get("inbox_stale_after"), "inbox_stale_after", 900.0),
        )

    def check(self) -> None:
        """Raise ServerConfigError if the service cannot run safely with these settings."""
        if not self.api_keys:
            raise ServerConfigError(
                f"no API keys configured: set {ENV['api_keys']} (comma-separated) or "
                f"{ENV['api_keys_file']} (one key per line); every non-webhook route needs one"
            )
        if self.public_url is not None and not self.public_url.startswith(("http://", "https://")):
            raise ServerConfigError(
                f"{ENV['public_url']} must be an absolute http(s) URL such as "
                f"https://campaigns.example.com, not {self.public_url!r}"
            )
        account = [ENV[name] for name in ("twilio_account_sid", "twilio_auth_token") if not getattr(self, name)]
        if self.twilio_sender and account:
            given = [ENV[name] for name in ("twilio_messaging_service_sid", "twilio_from") if getattr(self, name)]
            raise ServerConfigError(
                f"the server sends through Twilio when a sender is given ({', '.join(given)}), but "
                f"{' and '.join(account)} {'is' if len(account) == 1 else 'are'} not set: set "
                f"{'it' if len(account) == 1 else 'them'}, or unset {', '.join(given)} to run on the sandbox "
                "(which sends nothing to anybody)"
            )

    @property
    def webhooks_ready(self) -> bool:
        """Whether Twilio webhooks can be verified (needs the auth token and the public URL)."""
        return bool(self.twilio_auth_token and self.public_url)

    @property
    def media_base_url(self) -> str | None:
        """Where an uploaded file named ``x`` is reachable: ``{media_base_url}/x``."""
        if self.media_url:
            return self.media_url.rstrip("/")
        return f"{self.public_url.rstrip('/')}/media" if self.public_url else None

    def to_env(self) -> dict[str, str]:
        """These settings as environment variables (for worker processes)."""
        values = {
            "database_url": self.database_url,
            "public_url": self.public_url,
            "api_keys": ",".join(self.api_keys) or None,
            "media_dir": str(self.media_dir),
            "media_url": self.media_url,
            "twilio_account_sid": self.twilio_account_sid,
            "twilio_auth_token": self.twilio_auth_token,
            "twilio_messaging_service_sid": self.twilio_messaging_service_sid,
            "twilio_from": self.twilio_from,
            "inbox_wait": str(self.inbox_wait),
            "inbox_stale_after": str(self.inbox_stale_after),
        }
        return {ENV[k]: v for k, v in values.items() if v is not None}


def _seconds(value: str | None, name: str, default: float) -> float:
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise ServerConfigError(f"{ENV[name]} must be a number of seconds (e.g. 0.2), not {value!r}")
    return seconds


def _masked(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy understands: show no part of it
        return "<database url>"


def read_keys_file(path: Path) -> list[str]:
    """API keys from a file: one per line; blank lines and ``#`` comments are skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ServerConfigError(
            f"cannot read the API keys file {str(path)!r} ({ENV['api_keys_file']}): {exc.strerror}"
        ) from None
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]
