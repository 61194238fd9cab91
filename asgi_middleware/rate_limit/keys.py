"""Key functions: which bucket a request counts against.

A key function takes the scope and returns the request's key, a ``str``, or ``None`` to exempt
the request. The built-in ones return keys of printable ASCII without ``{``, ``}``, ``:`` or
spaces, each under its own prefix (``ip-``, ``ip6-``, ``host-``, ``user-``, ``key%``,
``route-``), so no client value can reach another key or break a store's key layout
(``stores.py``). Text that is not safe that way, or longer than 200 characters, is replaced by
its hash after ``%``; the middleware does the same with what a key function of yours returns.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from collections.abc import Callable
from socket import AF_INET, AF_INET6, inet_ntop, inet_pton
from typing import Any, TypeAlias

from asgi_middleware._kit.config import require_int, require_sync_callable, require_token
from asgi_middleware._kit.headers import REPEATED, get_single
from asgi_middleware._kit.paths import relative_path
from asgi_middleware._kit.types import Scope

__all__ = ["KeyFunction", "api_key", "client_address", "route", "user"]

_logger = logging.getLogger("asgi_middleware.rate_limit")

KeyFunction: TypeAlias = Callable[[Scope], str | None]
"""A key function: ``(scope) -> str | None``; ``None`` exempts the request."""

# Printable ASCII except space, '"', '%', ':', '\', '{' and '}': safe in a Redis key inside its
# hash tag, in a log line and in a header. '%' is kept out so that hashed keys ("%...") and
# prefixed hashed parts ("key%...") can never be spelled by a safe key.
_SAFE = re.compile(r"[!#$&'()*+,\-./0-9;<=>?@A-Z\[\]^_`a-z|~]{1,200}")
_MAPPED = b"\x00" * 10 + b"\xff\xff"  # ::ffff:0:0/96, IPv4-mapped IPv6 (RFC 4291 §2.5.5.2)


def _digest(text: str | bytes) -> str:
    """A stable 128-bit hash of ``text``, the same in every process and on every host."""
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=16, person=b"asgi-rate-limit").hexdigest()


def safe_key(text: str) -> str:
    """``text`` when it is a safe key (see the module), else ``"%"`` and its hash."""
    return text if _SAFE.fullmatch(text) is not None else "%" + _digest(text)


def _part(prefix: str, text: str) -> str:
    """``prefix-text``, or ``prefix%hash`` when ``text`` is not safe as it is."""
    if _SAFE.fullmatch(text) is not None:
        return f"{prefix}-{text}"
    return f"{prefix}%{_digest(text)}"


class _BuiltinKey:
    """A key function of this module: its keys are safe, so the middleware uses them as is."""

    __slots__ = ()

    def __call__(self, scope: Scope) -> str | None:  # pragma: no cover - every subclass has its own
        raise NotImplementedError


class _CheckedKey(_BuiltinKey):
    """A key function of the user's, its result checked and made safe."""

    __slots__ = ("_function",)

    def __init__(self, function: Callable[[Scope], Any]) -> None:
        self._function = function

    def __repr__(self) -> str:
        return repr(self._function)

    def __call__(self, scope: Scope) -> str | None:
        key = self._function(scope)
        if key is None:
            return None
        if not isinstance(key, str):
            msg = f"a key function must return a str or None, got {key!r} from {self._function!r}"
            raise TypeError(msg)
        return safe_key(key)


def checked(option: str, function: KeyFunction) -> _BuiltinKey:
    """Return a key function whose keys are safe: a built-in one as it is, any other wrapped.

    Raises:
        TypeError: ``function`` is not a plain (not async) callable.
    """
    if isinstance(function, _BuiltinKey):
        return function
    return _CheckedKey(require_sync_callable(option, function))


@functools.lru_cache(maxsize=4096)
def _address_key(host: str, prefix: int) -> str:
    """The key of ``host`` with IPv6 grouped by ``prefix`` bits.

    Cached: a client sends many requests, and a lookup costs a tenth of the parsing
    (benchmark row rate-limit-memory). The cache is bounded and holds only this pure mapping.
    """
    # inet_pton raises OSError for what is not an address, ValueError for a NUL in it.
    try:
        return "ip-" + inet_ntop(AF_INET, inet_pton(AF_INET, host))
    except (OSError, ValueError):
        pass
    try:
        packed = inet_pton(AF_INET6, host)
    except (OSError, ValueError):  # a name ("testclient"), a zone ("fe80::1%eth0")
        return _part("host", host)
    if packed.startswith(_MAPPED):
        return "ip-" + inet_ntop(AF_INET, packed[12:])
    mask = ((1 << prefix) - 1) << (128 - prefix)
    network = (int.from_bytes(packed, "big") & mask).to_bytes(16, "big")
    return f"ip6-{inet_ntop(AF_INET6, network).replace(':', '.')}/{prefix}"


class _ClientAddress(_BuiltinKey):
    __slots__ = ("_prefix", "_warned")

    def __init__(self, ipv6_prefix: int) -> None:
        self._prefix = require_int("ipv6_prefix", ipv6_prefix, minimum=1, maximum=128)
        self._warned = False

    def __repr__(self) -> str:
        return f"client_address(ipv6_prefix={self._prefix})"

    def __call__(self, scope: Scope) -> str | None:
        client = scope.get("client")
        host = client[0] if client else None
        if not host or not isinstance(host, str):
            if not self._warned:
                self._warned = True
                _logger.warning(
                    "a request without a client address is not rate limited: behind a proxy "
                    "that connects over a Unix socket, put ProxyHeadersMiddleware with "
                    "trust_unix_socket=True in front (this is logged once)"
                )
            return None
        return _address_key(host, self._prefix)


def client_address(ipv6_prefix: int = 64) -> KeyFunction:
    """Key requests on the client's IP address, as ``scope["client"]`` holds it.

    Put [`ProxyHeadersMiddleware`][asgi_middleware.ProxyHeadersMiddleware] outside the rate
    limit when a proxy connects to the app: it replaces ``scope["client"]`` with the client the
    trusted proxies saw, which this key then reads. Never key on the left-most
    ``X-Forwarded-For`` entry yourself: the client writes it.

    An IPv6 address is grouped by its first ``ipv6_prefix`` bits (a /64 is what one home or
    one host usually gets, and switching addresses inside it is free); an IPv4-mapped IPv6
    address (``::ffff:192.0.2.1``) counts as its IPv4 address. A client that is not an IP
    address (a test client's name) gets a bucket of its own. A request with no client address
    (a Unix-socket connection without proxy headers) is exempt, never put in one bucket shared
    by every such request, and a warning says so once.

    Args:
        ipv6_prefix: The IPv6 prefix length that makes one client, from 1 to 128.

    Returns:
        The key function: ``ip-192.0.2.1``, ``ip6-2001.db8.1.2../64``, ``host-testclient``.

    Added in version 0.1.0.
    """
    return _ClientAddress(ipv6_prefix)


#: The default key function of the middleware and the fallback of ``user`` and ``api_key``.
CLIENT_ADDRESS = client_address()


class _User(_BuiltinKey):
    __slots__ = ("_fallback",)

    def __init__(self, fallback: KeyFunction | None) -> None:
        self._fallback = None if fallback is None else checked("fallback", fallback)

    def __repr__(self) -> str:
        return f"user(fallback={self._fallback!r})"

    def __call__(self, scope: Scope) -> str | None:
        user = scope.get("user")
        if user is not None and getattr(user, "is_authenticated", False):
            try:
                identity = user.identity
            except (AttributeError, NotImplementedError):  # Starlette's BaseUser may lack one
                identity = getattr(user, "display_name", None)
            if isinstance(identity, str) and identity:
                return _part("user", identity)
        return None if self._fallback is None else self._fallback(scope)


def user(fallback: KeyFunction | None = CLIENT_ADDRESS) -> KeyFunction:
    """Key requests on the authenticated user, ``scope["user"]``.

    Reads the user that an authentication layer outside the rate limit set, ours or
    Starlette's: its ``identity`` (``display_name`` when it has none: a Starlette ``BaseUser``
    may leave ``identity`` unimplemented). A request without an authenticated user gets
    ``fallback``'s key.

    Args:
        fallback: The key function for anonymous requests: the client address by default,
            so they are limited too; ``None`` exempts them.

    Returns:
        The key function: ``user-alice``, or ``user%<hash>`` for an identity with characters
        a key may not hold.

    Added in version 0.1.0.
    """
    return _User(fallback)


class _APIKey(_BuiltinKey):
    __slots__ = ("_fallback", "_header")

    def __init__(self, header: str, fallback: KeyFunction | None) -> None:
        self._header = require_token("header", header).lower().encode("ascii")
        self._fallback = None if fallback is None else checked("fallback", fallback)

    def __repr__(self) -> str:
        return f"api_key(header={self._header.decode()!r}, fallback={self._fallback!r})"

    def __call__(self, scope: Scope) -> str | None:
        value = get_single(scope.get("headers", ()), self._header)
        if value is None or value is REPEATED or not value:
            return None if self._fallback is None else self._fallback(scope)
        return "key%" + _digest(value)


def api_key(
    header: str = "X-API-Key", fallback: KeyFunction | None = CLIENT_ADDRESS
) -> KeyFunction:
    """Key requests on an API key header, hashed: the key itself is never stored or logged.

    A request without the header (or with it twice, or empty) gets ``fallback``'s key. Put the
    rate limit inside the layer that checks the keys (such as our ``APIKeyBackend``): a made-up
    key would otherwise get a fresh bucket on every request.

    Args:
        header: The request header holding the key.
        fallback: The key function for requests without one: the client address by default;
            ``None`` exempts them.

    Returns:
        The key function: ``key%<hash of the key>``.

    Raises:
        ValueError: ``header`` is not a header name.

    Added in version 0.1.0.
    """
    return _APIKey(header, fallback)


class _Route(_BuiltinKey):
    __slots__ = ()

    def __repr__(self) -> str:
        return "route()"

    def __call__(self, scope: Scope) -> str | None:
        method: str = scope.get("method", "GET")
        if not method.isupper():  # "post" is a POST (RateLimit.applies): one bucket for both
            method = method.upper()
        if method == "HEAD":  # frameworks run the GET endpoint: HEAD spends GET's budget
            method = "GET"
        return _part("route", method + relative_path(scope))


def route() -> KeyFunction:
    """Key requests on their method and path: one bucket per endpoint, shared by every client.

    For a limit on what the whole service may spend on one endpoint. The path is the request's
    path relative to ``root_path``, not a route template (the middleware runs before routing):
    ``/items/1`` and ``/items/2`` are two buckets. The method is upper-cased (``post`` shares
    the ``POST`` bucket); a ``HEAD`` request and a WebSocket handshake count as a ``GET``, the
    endpoint frameworks run for them.

    Returns:
        The key function: ``route-GET/items/1``.

    Added in version 0.1.0.
    """
    return _Route()
