"""HTTPS redirect: send plain-HTTP and ``ws:`` requests to HTTPS (SPEC §11)."""

from __future__ import annotations

from collections.abc import Sequence

from asgi_middleware._kit.config import option_error, require_int
from asgi_middleware._kit.hosts import (
    HostPatterns,
    HostProblem,
    read_host,
    redirect_url,
    refuse_host,
)
from asgi_middleware._kit.order import check_position
from asgi_middleware._kit.paths import PathMatcher
from asgi_middleware._kit.responses import content_headers, deny_websocket, respond
from asgi_middleware._kit.types import ASGIApp, Receive, Scope, Send

__all__ = ["HTTPSRedirectMiddleware"]

_HANDLED = frozenset({"http", "websocket"})
# What proxy headers (or the server) set for a request that came over TLS.
_SECURE = frozenset({"https", "wss"})
# RFC 9110 §15.4.8, §15.4.9: 307 and 308 keep the method and the body; 301 and 302 let clients
# turn a POST into a GET.
_STATUSES = (307, 308)
_HTTPS_PORT = 443
_BODY = b"Redirecting to HTTPS"
_TEXT_PLAIN = b"text/plain; charset=utf-8"
_WS_REASON = "Use wss://"


def _require_status(value: object) -> int:
    rule = "307 or 308"
    if isinstance(value, bool) or not isinstance(value, int):
        raise option_error(TypeError, "status", rule, value)
    if value not in _STATUSES:
        hint = (
            "; 301 and 302 let clients turn a POST into a GET: use 307 (temporary) or 308 "
            "(permanent)"
        )
        raise option_error(ValueError, "status", rule, value, hint)
    return value


class HTTPSRedirectMiddleware:
    """Redirect plain-HTTP requests to HTTPS, and ``ws:`` WebSockets to ``wss:``.

    For `http` scopes whose ``scope["scheme"]`` is not ``https`` the response is a redirect
    (``status``) to the same URL over HTTPS; the app is not called. A `websocket` scope that is
    not ``wss`` gets the same redirect, to ``wss:``, through the denial extension when the
    server offers it, else a close with code 1008 before the handshake. A request already over
    HTTPS, as the server or a proxy-headers layer outside this one says, passes untouched, at the
    cost of one comparison. `lifespan` and other scope types pass through.

    The ``Location`` is built from the request's one ``Host`` field, validated as the trusted
    host check does: missing, repeated or invalid, the request gets a ``400`` with a plain
    reason and no redirect. Port 80 is dropped and any other port replaced by ``https_port``,
    which is left out when it is 443; an IPv6 host keeps its brackets. The path is the
    request's ``raw_path`` (else its ``path``, percent-encoded) and the query is kept.

    Args:
        app: The ASGI application to wrap.
        status: ``307`` (temporary, the default) or ``308`` (permanent); both keep the method
            and body. Anything else is a ``ValueError``.
        https_port: The port HTTPS is served on: it replaces the request's port in the
            ``Location``, and is left out when it is 443.
        allowed_hosts: ``None`` (any valid host), or the hosts to redirect, in
            ``TrustedHostMiddleware``'s syntax; a request for another host gets ``400``
            instead of a redirect.
        exclude_paths: Paths served over plain HTTP as they are, such as a health check on an
            internal port: exact (``"/health"``) or prefix (``"/internal/*"``) patterns,
            anchored, matched against the path relative to ``root_path``.

    Security:
        A redirect built from a raw ``Host`` is an open redirect: ``Host: evil.example`` would
        send the client there. Here the host is parsed and normalised first (no user info, no
        path, no spaces), the path always starts with ``/`` and unsafe bytes are
        percent-encoded, so the ``Location`` names the host the client asked for, or nothing.
        Pass ``allowed_hosts`` (or put ``TrustedHostMiddleware`` outside this layer) to redirect
        only hosts you serve. Add HSTS so browsers skip the plain-HTTP request next time.

    Example:
        ```python
        app = HTTPSRedirectMiddleware(app, status=308, exclude_paths=["/health"])
        ```

    Added in version 0.1.0.
    """

    __slots__ = ("_exclude", "_hosts", "_port", "_status", "app")
    _compose_role = "https_redirect"

    def __init__(
        self,
        app: ASGIApp,
        *,
        status: int = 307,
        https_port: int = _HTTPS_PORT,
        allowed_hosts: Sequence[str] | None = None,
        exclude_paths: Sequence[str] = (),
    ) -> None:
        self.app = app
        check_position(self, app)
        self._status = _require_status(status)
        port = require_int("https_port", https_port, minimum=1, maximum=65535)
        self._port = None if port == _HTTPS_PORT else port
        self._hosts = (
            None if allowed_hosts is None else HostPatterns("allowed_hosts", allowed_hosts)
        )
        exclude = PathMatcher("exclude_paths", exclude_paths)
        self._exclude = exclude if exclude else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        # The one fast path (benchmark row https-redirect-passthrough): a request already over
        # HTTPS costs one scheme check, before the scope type's (any scope with a secure scheme
        # passes either way; lifespan has no scheme).
        if scope.get("scheme") in _SECURE or scope["type"] not in _HANDLED:
            await self.app(scope, receive, send)
            return
        if self._exclude is not None and self._exclude.matches(scope):
            await self.app(scope, receive, send)
            return
        websocket = scope["type"] == "websocket"
        host = read_host(scope.get("headers", ()))
        # The request is plain HTTP: a host without a port is on port 80.
        scheme = "ws" if websocket else "http"
        hosts = self._hosts
        if not isinstance(host, HostProblem) and hosts and not hosts.allows(*host, scheme):
            host = HostProblem.INVALID
        if isinstance(host, HostProblem):
            await refuse_host(scope, send, host)
            return
        location = redirect_url("wss" if websocket else "https", host[0], self._port, scope)
        headers = [(b"location", location), *content_headers(_BODY, _TEXT_PLAIN)]
        if websocket:
            await deny_websocket(scope, send, self._status, headers, _BODY, reason=_WS_REASON)
        else:
            await respond(send, self._status, headers, _BODY)
