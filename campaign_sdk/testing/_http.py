"""A twilio-python HTTP client that sends every Twilio URL to a local server."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from requests.adapters import HTTPAdapter
from twilio.http.response import Response

from campaign_sdk.gateways._http import RetryAfterHttpClient


class LocalTwilioHttpClient(RetryAfterHttpClient):
    """twilio-python's own ``TwilioHttpClient`` (requests, pooled connections; each thread's last
    answer kept, see :class:`RetryAfterHttpClient`), with the scheme and host of every request
    replaced by ``base_url`` (``http://127.0.0.1:PORT``).

    ``pool_size`` connections are kept alive, so many threads can send at once.
    """

    def __init__(self, base_url: str, *, pool_size: int = 64, timeout: float | None = 30.0, **options: Any) -> None:
        super().__init__(timeout=timeout, **options)
        self.base = urlsplit(base_url)
        assert self.session is not None
        self.session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=pool_size))

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        parts = urlsplit(url)
        local = urlunsplit((self.base.scheme, self.base.netloc, parts.path, parts.query, parts.fragment))
        return super().request(method, local, *args, **kwargs)

    def close(self) -> None:
        """Close the pooled connections."""
        if self.session is not None:
            self.session.close()
