"""Trusted hosts: refuse requests for hosts the service does not serve (SPEC §11)."""

from __future__ import annotations

from collections.abc import Sequence

from asgi_middleware._kit.config import require_bool
from asgi_middleware._kit.hosts import (
    HostPatterns,
    HostProblem,
    host_field,
    parse_host_field,
    redirect_url,
    refuse_host,
)
from asgi_middleware._kit.order import check_position
from asgi_middleware._kit.responses import content_headers, respond
from asgi_middleware._kit.types import ASGIApp, Receive, Scope, Send

__all__ = ["TrustedHostMiddleware"]

_HANDLED = frozenset({"http", "websocket"})
_DEFAULT_SCHEMES = {"http": "http", "websocket": "ws"}
# Starlette's status for the www redirect: 307 keeps the method and the body.
_WWW_STATUS = 307
_WWW_BODY = b"Redirecting to the www host"
_TEXT_PLAIN = b"text/plain; charset=utf-8"


class TrustedHostMiddleware:
    """Refuse requests whose ``Host`` is not one the service answers for.

    For `http` and `websocket` scopes the request's one ``Host`` field (where servers also put
    HTTP/2's ``:authority``) is parsed and compared with ``allowed_hosts``: case-insensitively,
    without a trailing dot, and without the port unless the entry lists one. An allowed request
    reaches the app untouched. Any other gets a complete ``400`` with a plain-text reason
    (``Invalid host header``, ``Missing host header`` or ``Repeated host header``); a WebSocket
    gets that response through the denial extension when the server offers it, else a close
    with code 1008 before the handshake. `lifespan` and other scope types pass through.

    A ``Host`` field sent twice is always refused (RFC 9112 §3.2), even with ``"*"``: a proxy and
    the app could each read a different one. A missing one is refused for HTTP/1.1 and later;
    an HTTP/1.0 request, which may omit it, is let through only with ``"*"``.

    Args:
        app: The ASGI application to wrap.
        allowed_hosts: The hosts served, Starlette's syntax: ``"example.com"`` (any port),
            ``"example.com:8443"`` (that port only; a request without a port is on its scheme's
            default one), ``"*.example.com"`` (one or more whole labels before
            ``example.com``, never ``example.com`` itself; over one label only for the
            special-use ``localhost``, ``test``, ``internal`` and ``local``), IP addresses
            (``"127.0.0.1"``, IPv6 in brackets: ``"[::1]"``), or ``"*"`` for any valid host.
            Checked at start-up: a scheme, a path, a misplaced ``*``, a wildcard over another
            single label (``"*.com"``) or an IPv6 address without brackets is a ``ValueError``
            saying how to fix it, a bare ``str`` a ``TypeError``.
        www_redirect: When the host is not allowed but ``www.<host>`` is listed (without a
            wildcard), redirect an `http` request there with ``307``, keeping the port, path
            and query. WebSockets are refused instead: browsers do not follow their redirects.

    Security:
        The ``Host`` header is client input. An app that builds absolute URLs from it (password
        reset links, redirects, canonical links) or a cache keyed without it can be steered to
        an attacker's host; this middleware lets only listed hosts reach the app. The www
        redirect's ``Location`` is built from the parsed, normalised host, never the raw field,
        and its path always starts with ``/``, so a crafted ``Host`` cannot redirect elsewhere.

    Example:
        ```python
        app = TrustedHostMiddleware(app, allowed_hosts=["example.com", "*.example.com"])
        ```

    Added in version 0.1.0.
    """

    __slots__ = ("_hosts", "_known", "_www", "app")
    _compose_role = "trusted_host"

    def __init__(
        self, app: ASGIApp, *, allowed_hosts: Sequence[str], www_redirect: bool = True
    ) -> None:
        self.app = app
        check_position(self, app)
        self._hosts = HostPatterns("allowed_hosts", allowed_hosts)
        self._known = self._hosts.known
        self._www = require_bool("www_redirect", www_redirect)

    def _check(self, scope: Scope, field: bytes | HostProblem) -> HostProblem | bytes | None:
        """Return ``None`` to let the request through, a problem to refuse, or a www URL."""
        if isinstance(field, HostProblem):
            # RFC 9112 §3.2 requires Host from HTTP/1.1 on; HTTP/1.0 clients may omit it.
            missing_allowed = self._hosts.allow_any and scope.get("http_version") == "1.0"
            return None if field is HostProblem.MISSING and missing_allowed else field
        parsed = parse_host_field(field)
        if parsed is None:
            return HostProblem.INVALID
        host, port = parsed
        kind = scope["type"]
        scheme = scope.get("scheme") or _DEFAULT_SCHEMES[kind]
        if self._hosts.allows(host, port, scheme):
            return None
        www = f"www.{host}"
        if self._www and kind == "http" and self._hosts.lists(www, port, scheme):
            return redirect_url("https" if scheme == "https" else "http", www, port, scope)
        return HostProblem.INVALID

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] not in _HANDLED:
            await self.app(scope, receive, send)
            return
        field = host_field(scope.get("headers", ()))
        # The one fast path (benchmark row trusted-host): a Host field that is an allowed
        # entry's normal form, as clients send it, needs no parsing.
        if field in self._known:
            await self.app(scope, receive, send)
            return
        verdict = self._check(scope, field)
        if verdict is None:
            await self.app(scope, receive, send)
        elif isinstance(verdict, HostProblem):
            await refuse_host(scope, send, verdict)
        else:
            headers = [(b"location", verdict), *content_headers(_WWW_BODY, _TEXT_PLAIN)]
            await respond(send, _WWW_STATUS, headers, _WWW_BODY)
