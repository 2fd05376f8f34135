"""What requests reads from the environment for each request, read once per host for the gateway.

twilio-python's ``TwilioHttpClient.request`` calls requests' ``Session.merge_environment_settings``
on every request, which scans ``os.environ`` twice or more for ``*_PROXY`` / ``NO_PROXY``
(``urllib.request.getproxies_environment``) and reads ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE``:
about a seventh of a request's CPU time in the sending process. A :class:`TwilioGateway`'s own
requests take those values from an :class:`EnvironmentSettings` instead, which reads them with
requests' own functions the first time the gateway asks a host, and again whenever ``os.environ``
has changed since (the change is seen: a comparison of the environment with the copy taken,
not a scan of it). Everything else of the merge (the session's proxies, verify, cert, stream;
the proxies given to the HTTP client, which requests fills in from the environment) is requests'
own code, unchanged. Requests that are not the gateway's (the same client used directly, another
thread) go through requests unchanged.

Only a plain ``requests.Session`` with ``trust_env`` is hooked (a subclass that overrides the
merge keeps its own). On macOS and Windows, where ``urllib`` also reads the system's proxy
settings (not only the environment), a change of those settings alone is seen by a new gateway.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.utils import get_environ_proxies

_MERGE = requests.Session.merge_environment_settings
_current = threading.local()  # the EnvironmentSettings of the gateway call this thread is in


class EnvironmentSettings:
    """The environment's proxies for each (scheme, host, ``no_proxy``) and its CA bundle, as
    requests reads them (``get_environ_proxies``; ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE``),
    read once and kept while ``os.environ`` holds the same variables."""

    def __init__(self) -> None:
        # (the environment copied, proxies by host, the CA bundle): replaced whole, never edited
        # but for the proxies' dict, so that threads need no lock (a race reads a value twice)
        self._state: tuple[dict[Any, Any], dict[tuple[str, str, str | None], dict[str, str]], str | None] | None = None

    def lookup(self, url: str, no_proxy: str | None) -> tuple[dict[str, str], str | None]:
        """The environment's proxies for ``url`` (``no_proxy``: the one given with the request's
        proxies) and the CA bundle it names (None: none)."""
        environ = getattr(os.environ, "_data", None)  # CPython's and PyPy's os.environ keep it
        if not isinstance(environ, dict):  # pragma: no cover - another os.environ: read it each time
            return get_environ_proxies(url, no_proxy=no_proxy), _bundle()
        state = self._state
        if state is None or state[0] != environ:
            state = self._state = (dict(environ), {}, _bundle())
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc, no_proxy)
        if (proxies := state[1].get(key)) is None:
            proxies = state[1][key] = get_environ_proxies(url, no_proxy=no_proxy)
        return proxies, state[2]


def _bundle() -> str | None:
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")


def hook(http_client: Any) -> bool:
    """Let ``http_client``'s requests session take the environment from the
    :class:`EnvironmentSettings` of the calling gateway (:func:`using`); other callers are
    unaffected. False (nothing done) for a client without a plain ``requests.Session``."""
    session = getattr(http_client, "session", None)
    if not isinstance(session, requests.Session) or type(session).merge_environment_settings is not _MERGE:
        return False
    if not isinstance(session.__dict__.get("merge_environment_settings"), _Merge):
        session.merge_environment_settings = _Merge(session)  # type: ignore[method-assign]
    return True


@contextmanager
def using(settings: EnvironmentSettings) -> Iterator[None]:
    """The hooked sessions' requests made by this thread meanwhile read the environment from ``settings``."""
    before = getattr(_current, "settings", None)
    _current.settings = settings
    try:
        yield
    finally:
        _current.settings = before


class _Merge:
    """``merge_environment_settings`` of one session: requests' own, with the environment's
    part taken from the current :class:`EnvironmentSettings` when there is one."""

    def __init__(self, session: requests.Session) -> None:
        self._session = weakref.ref(session)  # the session holds this: no cycle

    def __call__(self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any) -> dict[str, Any]:
        session = self._session()
        assert session is not None, "called through its session"
        settings: EnvironmentSettings | None = getattr(_current, "settings", None)
        if settings is None or not session.trust_env:
            return _MERGE(session, url, proxies, stream, verify, cert)
        # requests' ``if self.trust_env:`` part, with the values read once
        env_proxies, bundle = settings.lookup(url, proxies.get("no_proxy") if proxies is not None else None)
        if proxies is not None:
            for name, value in env_proxies.items():
                proxies.setdefault(name, value)
        if verify is True or verify is None:
            verify = bundle or verify
        # the rest is requests' own merge, on a view of the session that does not read the environment
        return _MERGE(_Untrusted(session), url, proxies, stream, verify, cert)  # type: ignore[arg-type]


class _Untrusted:
    """The session, seen with ``trust_env`` off (its proxies, stream, verify and cert as they are)."""

    trust_env = False

    def __init__(self, session: requests.Session) -> None:
        self._session = session

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)
