"""Client address, scheme, host and prefix from trusted proxies (SPEC §11)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from socket import AF_INET, inet_pton
from typing import Any, Literal

from asgi_middleware._kit.config import option_error, require_bool
from asgi_middleware._kit.headers import HeaderNames, with_headers
from asgi_middleware._kit.hosts import HostProblem, read_host
from asgi_middleware._kit.order import check_position
from asgi_middleware._kit.origins import DEFAULT_PORTS, parse_host
from asgi_middleware._kit.types import ASGIApp, Receive, Scope, Send
from asgi_middleware.proxy_headers._forwarded import (
    MAX_HOPS,
    parse_forwarded,
    parse_node,
    parse_prefix,
    pick,
    split_right,
)
from asgi_middleware.proxy_headers._trust import TrustedProxies

__all__ = ["ProxyHeadersMiddleware"]

_logger = logging.getLogger("asgi_middleware.proxy_headers")
_HANDLED = frozenset({"http", "websocket"})
_FAMILIES = ("x-forwarded", "forwarded", "both")
_HOST = HeaderNames(b"host")
# The schemes a proxy may report, by scope type: WebSocket handshakes arrive as http(s) from
# most proxies (nginx's $scheme), and are ws(s) to the app.
_SCHEMES: dict[str, dict[str, str]] = {
    "http": {"http": "http", "https": "https"},
    "websocket": {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"},
}
_FAST_SCHEMES = {
    kind: {key.encode("ascii"): value for key, value in schemes.items()}
    for kind, schemes in _SCHEMES.items()
}
_Node = tuple[str, int]


def _hop(texts: Sequence[str | None], trust: TrustedProxies, *, complete: bool) -> int | None:
    """The index from the right of the hop that is the client, or ``None`` past the hop limit.

    Right to left, hops that are trusted proxies are skipped; the first that is not (or cannot
    be read) is the client. When every hop is trusted, the left-most one is.
    """
    for index, text in enumerate(texts):
        node = None if text is None else parse_node(text)
        if node is None or not trust.trusts_hop(node[0]):
            return index
    if complete:
        return max(len(texts) - 1, 0)
    return None


class ProxyHeadersMiddleware:
    """Take the client's address and the scheme from the proxy headers of trusted proxies.

    For `http` and `websocket` scopes whose connecting peer (``scope["client"]``) is a trusted
    proxy, the proxy headers say who the client is: the app gets a new scope with ``client``
    and ``scheme`` (``ws``/``wss`` for a WebSocket) as the proxy saw them and, when opted in,
    the ``host`` header and ``server``, and a ``root_path`` prefix. A request from any other
    peer reaches the app with the very scope it came with, whatever headers it carries.
    `lifespan` and other scope types pass through.

    The client is found by walking the hops of ``X-Forwarded-For`` (every field, every comma
    list) or the ``for=`` of every RFC 7239 ``Forwarded`` element from right to left, skipping
    the hops that are trusted proxies; the first other hop is the client, and the scheme (and
    host, port and prefix) are the values of that same hop. A hop that is not an IP address
    (``unknown``, ``_hidden``, garbage) leaves ``client`` as it was; its scheme still applies.

    Args:
        app: The ASGI application to wrap.
        trusted_proxies: The proxies' addresses: IPv4 and IPv6 addresses and CIDR networks, or
            ``"*"`` to trust every connecting peer (the hops inside the headers are then still
            trusted only by the addresses and networks listed).
        headers: Which header family the proxies write: ``"x-forwarded"``
            (``X-Forwarded-For``, ``-Proto``, ``-Host``, ``-Port``, ``-Prefix``), ``"forwarded"``
            (RFC 7239 ``Forwarded``) or ``"both"`` (``Forwarded`` when a request has it, else
            the ``X-Forwarded-*`` headers). Your proxy must overwrite or append to the family
            you read, or a client can write it.
        trust_unix_socket: Trust a peer without an address (a Unix-socket connection). With
            it, ``trusted_proxies`` may be empty; without it, an empty list is a ``ValueError``
            (no peer could ever be trusted).
        forwarded_host: Take the host from ``X-Forwarded-Host`` (or ``host=``): the app sees
            it in its ``host`` header and in ``server``.
        forwarded_port: Take the port from ``X-Forwarded-Port``, into ``server`` and the
            ``host`` header. Not with ``headers="forwarded"``: RFC 7239 carries the port in
            ``host=``.
        forwarded_prefix: Take a path prefix from ``X-Forwarded-Prefix`` (in every header
            family: RFC 7239 has no such parameter) into ``root_path`` and ``path``.

    Security:
        Trust only the addresses of your own proxies, and read only the header family they
        overwrite: a header a client sent reaches the app unchanged through a proxy that only
        appends. ``"*"`` trusts whoever connects, which is safe only when nothing but your
        proxy can reach the app. The left-most ``X-Forwarded-For`` entry is whatever the client
        wrote; it is never taken unless every hop to its right is a listed proxy.

    Example:
        ```python
        app = ProxyHeadersMiddleware(app, trusted_proxies=["10.0.0.0/8"])
        ```

    Added in version 0.1.0.
    """

    __slots__ = (
        "_exact",
        "_forwarded",
        "_host",
        "_names",
        "_plain",
        "_port",
        "_prefix",
        "_scan",
        "_trust",
        "_unix",
        "_x_forwarded",
        "app",
    )
    _compose_role = "proxy_headers"

    def __init__(
        self,
        app: ASGIApp,
        *,
        trusted_proxies: Sequence[str] = ("127.0.0.1", "::1"),
        headers: Literal["x-forwarded", "forwarded", "both"] = "x-forwarded",
        trust_unix_socket: bool = False,
        forwarded_host: bool = False,
        forwarded_port: bool = False,
        forwarded_prefix: bool = False,
    ) -> None:
        self.app = app
        check_position(self, app)
        self._trust = TrustedProxies("trusted_proxies", trusted_proxies)
        if not isinstance(headers, str):
            raise option_error(TypeError, "headers", "a str", headers)
        if headers not in _FAMILIES:
            rule = "one of 'x-forwarded', 'forwarded' or 'both'"
            raise option_error(ValueError, "headers", rule, headers)
        self._unix = require_bool("trust_unix_socket", trust_unix_socket)
        if not (self._unix or self._trust.everyone or self._trust.exact or self._trust.networks):
            # No peer could ever be trusted: the layer would silently do nothing.
            rule = "a non-empty list of addresses or networks"
            hint = "; pass trust_unix_socket=True to trust only Unix-socket peers"
            raise option_error(ValueError, "trusted_proxies", rule, trusted_proxies, hint)
        self._host = require_bool("forwarded_host", forwarded_host)
        self._port = require_bool("forwarded_port", forwarded_port)
        self._prefix = require_bool("forwarded_prefix", forwarded_prefix)
        if self._port and headers == "forwarded":
            hint = (
                "; RFC 7239 has no port parameter: the port comes with host=, so use "
                "forwarded_host=True"
            )
            raise option_error(
                ValueError, "forwarded_port", "False with headers='forwarded'", forwarded_port, hint
            )
        self._forwarded = headers != "x-forwarded"
        self._x_forwarded = headers != "forwarded"
        # One scan reads every header we may need; each is a list field, its fields joined.
        names = [b"forwarded"] if self._forwarded else []
        if self._x_forwarded:
            names += [b"x-forwarded-for", b"x-forwarded-proto"]
            names += [b"x-forwarded-host"] if self._host else []
            names += [b"x-forwarded-port"] if self._port else []
        names += [b"x-forwarded-prefix"] if self._prefix else []
        self._names = HeaderNames(*names, lists=names)
        self._exact = self._trust.exact
        self._scan = self._names.scan
        self._plain = headers == "x-forwarded" and not (self._host or self._port or self._prefix)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        kind = scope["type"]
        if kind not in _HANDLED:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        if client is None:
            trusted = self._unix
        else:
            trusted = client[0] in self._exact or self._trust.trusts_peer(client[0])
        if not trusted:
            await self.app(scope, receive, send)
            return
        if self._plain:
            # The one fast path (benchmark row proxy-headers): the default options and a proxy
            # that wrote one IPv4 hop in its normal form and at most one scheme, in lower case.
            # One hop is the client whether or not it is trusted (with every hop trusted, the
            # left-most is), so no trust check. A comma, a blank or anything unusual fails the
            # address or the scheme lookup and takes the general path, which logs what it
            # refuses.
            forwarded_for, proto = self._scan(scope.get("headers", ()))
            if forwarded_for is not None:
                address = forwarded_for.decode("latin-1")
                try:
                    inet_pton(AF_INET, address)  # is_ipv4(), inlined
                except (OSError, ValueError):
                    pass
                else:
                    if proto is None:
                        await self.app({**scope, "client": (address, 0)}, receive, send)
                        return
                    scheme = _FAST_SCHEMES[kind].get(proto)
                    if scheme is not None:
                        inner = {**scope, "client": (address, 0), "scheme": scheme}
                        await self.app(inner, receive, send)
                        return
        changes = self._changes(scope)
        await self.app({**scope, **changes} if changes else scope, receive, send)

    def _changes(self, scope: Scope) -> dict[str, Any]:
        """What the proxy headers change in the scope: the keys and their new values."""
        headers = scope.get("headers", ())
        values = dict(zip(self._names.names, self._names.scan(headers), strict=True))
        forwarded = values.get(b"forwarded")
        changes: dict[str, Any] = {}
        if forwarded is not None:
            fields = self._from_forwarded(forwarded)
            if fields is None:
                return changes
            index, client, scheme, host = fields
            port = None
        elif self._x_forwarded:
            hops, complete = split_right(values[b"x-forwarded-for"] or b"")
            found = _hop(hops, self._trust, complete=complete)
            if found is None:
                _logger.debug("ignored X-Forwarded-For: more than %d hops", MAX_HOPS)
                return changes
            index = found
            client = parse_node(hops[index]) if hops else None
            scheme = pick(values[b"x-forwarded-proto"], index)
            host = pick(values[b"x-forwarded-host"], index) if self._host else None
            port = pick(values[b"x-forwarded-port"], index) if self._port else None
        else:  # headers="forwarded" and no Forwarded header: nothing a proxy said
            return changes
        if client is not None:
            changes["client"] = client
        elif index or (forwarded is None and values[b"x-forwarded-for"] is not None):
            _logger.debug("kept the client: the forwarded address is not an IP address")
        if scheme is not None:
            mapped = _SCHEMES[scope["type"]].get(scheme.lower())
            if mapped is None:
                _logger.debug("kept the scheme: the forwarded one is not http or https")
            else:
                changes["scheme"] = mapped
        if host is not None or port is not None:
            self._authority(scope, headers, changes, host, port)
        if self._prefix:
            self._root(scope, changes, pick(values[b"x-forwarded-prefix"], index))
        return changes

    def _from_forwarded(
        self, value: bytes
    ) -> tuple[int, _Node | None, str | None, str | None] | None:
        """The client's hop of a ``Forwarded`` value: its index, address, proto and host."""
        elements = parse_forwarded(value.decode("latin-1"))
        if elements is None:
            _logger.debug("ignored an invalid Forwarded header")
            return None
        complete = len(elements) <= MAX_HOPS
        texts = [element.get("for") for element in reversed(elements[-MAX_HOPS:])]
        index = _hop(texts, self._trust, complete=complete)
        if index is None:
            _logger.debug("ignored Forwarded: more than %d hops", MAX_HOPS)
            return None
        if not elements:
            return index, None, None, None
        element = elements[-1 - index]
        text = element.get("for")
        client = None if text is None else parse_node(text)
        host = element.get("host") if self._host else None
        return index, client, element.get("proto"), host

    def _authority(
        self,
        scope: Scope,
        headers: Any,
        changes: dict[str, Any],
        host_text: str | None,
        port_text: str | None,
    ) -> None:
        """Apply a forwarded host and port to the ``host`` header and ``server``.

        A forwarded host replaces every ``Host`` field. A port alone corrects the request's one
        ``Host`` field: when it has two, both stay, and ``server`` too, since one field written
        over them would hide the repetition from the trusted-host layer inside, which must
        refuse it (RFC 9112 §3.2; SPEC §11).
        """
        scheme = str(changes.get("scheme", scope.get("scheme", "http")))
        authority = None
        if host_text is not None:
            authority = parse_host(host_text)
            if authority is None:
                _logger.debug("kept the host: the forwarded one is not a valid host[:port]")
        port = None
        if port_text is not None:
            parsed = parse_host(f"h:{port_text}") if port_text.isdigit() else None
            port = None if parsed is None else parsed[1]
            if port is None:
                _logger.debug("kept the port: the forwarded one is not a port")
        if authority is None:
            if port is None:
                return
            current = read_host(headers)
            if current is HostProblem.REPEATED:
                _logger.debug("kept the host and port: the request has more than one Host field")
                return
            if isinstance(current, HostProblem):  # no Host to correct: only the server's port
                server = scope.get("server")
                if server is not None:
                    changes["server"] = (server[0], port)
                return
            authority = current
        name = authority[0]
        number = authority[1] if port is None else port
        default = DEFAULT_PORTS.get(scheme)
        shown = name if number is None or number == default else f"{name}:{number}"
        field = ((b"host", shown.encode("ascii")),)
        changes["headers"] = with_headers(headers, field, _HOST)
        bare = name[1:-1] if name.startswith("[") else name
        changes["server"] = (bare, default if number is None else number)

    def _root(self, scope: Scope, changes: dict[str, Any], text: str | None) -> None:
        """Apply a forwarded prefix to ``root_path``, ``path`` and ``raw_path``."""
        if text is None:
            return
        prefix = parse_prefix(text)
        if prefix is None:
            _logger.debug("kept the root path: the forwarded prefix is not a safe path")
            return
        decoded, raw = prefix
        if not decoded:
            return
        changes["root_path"] = decoded + scope.get("root_path", "")
        changes["path"] = decoded + scope.get("path", "")
        raw_path = scope.get("raw_path")
        if raw_path is not None:
            changes["raw_path"] = raw + raw_path
