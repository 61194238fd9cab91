"""A request's ``Host`` field, the hosts a service answers for, and redirects built from them.

For the layers that read a request's ``Host`` (trusted host, HTTPS redirect): :func:`host_field`
and :func:`parse_host_field` (or both at once, :func:`read_host`) take the one ``Host`` field of a
request and say why it cannot be used (:class:`HostProblem`), and :func:`refuse_host` answers
it; :class:`HostPatterns` holds the configured ``allowed_hosts``; :func:`redirect_url` builds a
redirect's ``Location`` from a validated host, never from the raw header. Hosts follow the rules
of ``origins`` (the one parser).
"""

from __future__ import annotations

import enum
import re
from urllib.parse import quote

from asgi_middleware._kit.config import option_error, require_strings
from asgi_middleware._kit.headers import REPEATED, get_single
from asgi_middleware._kit.origins import (
    DEFAULT_PORTS,
    WILDCARD,
    HostRuleError,
    normal_host,
    normal_port,
    parse_host,
    split_authority,
)
from asgi_middleware._kit.responses import content_headers, deny_websocket, respond
from asgi_middleware._kit.types import RawHeaders, Scope, Send

__all__ = [
    "ANY_HOST",
    "HostPatterns",
    "HostProblem",
    "host_field",
    "parse_host_field",
    "read_host",
    "redirect_url",
    "refuse_host",
]

#: In ``allowed_hosts``: any host. A request still needs one valid ``Host`` field.
ANY_HOST = "*"
_HOST_FIELD = b"host"
# RFC 1035 §2.3.4: a name has at most 253 characters; with ":65535", 259. A longer field is
# refused before it is read.
_MAX_HOST_FIELD = 259
_TEXT_PLAIN = b"text/plain; charset=utf-8"
_HOST_PATTERN_RULE = "a host such as 'example.com', '*.example.com', '[::1]' or '127.0.0.1:8000'"
# RFC 3986 §3.3 and §3.4: what a path (pchar and "/") and a query (also "?") may hold as they are.
# Any other byte of a Location is percent-encoded: no space, control, non-ASCII, "#" or "\".
_PATH_UNSAFE = re.compile(rb"[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]")
_QUERY_UNSAFE = re.compile(rb"[^A-Za-z0-9\-._~!$&'()*+,;=:@/%?]")
_PATH_SAFE = "/!$&'()*+,;=:@-._~"
# Single-label names a wildcard may cover: special-use names no one registers under (RFC 6761
# §6.2 test, §6.3 localhost, where *.localhost is loopback; RFC 6762 local, for mDNS; internal,
# reserved by ICANN for private use). home.arpa (RFC 8375) has two labels, allowed as any domain.
_SPECIAL_USE = frozenset({"localhost", "test", "internal", "local"})


class HostProblem(enum.Enum):
    """Why a request's ``Host`` cannot be used; the value is the plain text of the 400 reply.

    RFC 9112 §3.2: a server answers 400 to an HTTP/1.1 request without a ``Host`` field, with
    more than one, or with an invalid one.
    """

    MISSING = "Missing host header"
    REPEATED = "Repeated host header"
    INVALID = "Invalid host header"


def host_field(headers: RawHeaders) -> bytes | HostProblem:
    """Return the value of a request's one ``Host`` field, or why there is not exactly one.

    Servers put HTTP/2's ``:authority`` into ``host`` (ASGI spec); two fields make the request
    ambiguous, and a proxy and the app could each read a different one.
    """
    value = get_single(headers, _HOST_FIELD)
    if value is None:
        return HostProblem.MISSING
    if value is REPEATED:
        return HostProblem.REPEATED
    return value


def parse_host_field(value: bytes) -> tuple[str, int | None] | None:
    """Parse a ``Host`` field's value as :func:`parse_host` does, allowing one trailing dot.

    ``example.com.`` is the fully qualified spelling of ``example.com`` (RFC 1034 §3.1): the dot
    is dropped from the host, not the port (``example.com.:8080``). A value longer than 259 bytes
    (the longest name and a port) gives ``None`` unread, as does anything :func:`parse_host`
    refuses. Never raises.
    """
    if len(value) > _MAX_HOST_FIELD:
        return None
    text = value.decode("latin-1")
    parsed = parse_host(text)
    if parsed is None and not text.startswith("["):
        name, colon, port = text.partition(":")
        if name.endswith("."):
            parsed = parse_host(name[:-1] + colon + port)
    return parsed


def read_host(headers: RawHeaders) -> tuple[str, int | None] | HostProblem:
    """Return the request's host and port, from its one valid ``Host`` field, or the problem.

    :func:`host_field`, then :func:`parse_host_field`: a host in its normal form (lower case,
    IPv6 compressed in brackets, no trailing dot) and the port as sent, or ``None`` without one.
    """
    value = host_field(headers)
    if isinstance(value, HostProblem):
        return value
    parsed = parse_host_field(value)
    return HostProblem.INVALID if parsed is None else parsed


async def refuse_host(scope: Scope, send: Send, problem: HostProblem) -> None:
    """Answer a request whose ``Host`` is refused: 400 with the problem as plain text.

    A WebSocket gets the same response through the denial extension, else a close with 1008.
    """
    body = problem.value.encode("ascii")
    headers = content_headers(body, _TEXT_PLAIN)
    if scope["type"] == "http":
        await respond(send, 400, headers, body)
    else:
        await deny_websocket(scope, send, 400, headers, body, reason=problem.value)


def _require_host_pattern(option: str, value: str) -> str:
    """Return an ``allowed_hosts`` entry in its normal form; raise ``ValueError`` with a hint."""
    if value == ANY_HOST:
        return value
    if not value:
        raise option_error(ValueError, option, _HOST_PATTERN_RULE, value)
    if not value.isascii():
        hint = "; write internationalised host names in punycode (xn--...)"
        raise option_error(ValueError, option, "an ASCII host", value, hint)
    _, scheme, rest = value.partition("://")
    if scheme:
        hint = f"; list the host only: {rest.split('/', maxsplit=1)[0]!r}"
        raise option_error(ValueError, option, "a host without a scheme", value, hint)
    if "/" in value:
        hint = f"; list the host only: {value.split('/', maxsplit=1)[0]!r}"
        raise option_error(ValueError, option, "a host without a path", value, hint)
    text = value.lower()
    prefix = WILDCARD if text.startswith(WILDCARD) else ""
    rest = text[len(prefix) :]
    if "*" in rest:
        rule = "a host with at most one leading '*.' label"
        hint = "; '*' stands for whole leading labels only, as in '*.example.com'"
        raise option_error(ValueError, option, rule, value, hint)
    if not rest.startswith("[") and rest.count(":") > 1:
        rule = "a host with an IPv6 address in brackets"
        hint = f"; write it as in '[{rest}]'"
        raise option_error(ValueError, option, rule, value, hint)
    try:
        host, port_text = split_authority(rest)
        if host.endswith("."):
            hint = "; remove the trailing dot: a request's trailing dot is ignored"
            raise option_error(ValueError, option, "a host without a trailing dot", value, hint)
        host = normal_host(host)
        port = normal_port(port_text)
    except HostRuleError as refused:
        raise option_error(ValueError, option, f"a host with {refused.rule}", value) from None
    if prefix and ((host.count(".") < 1 and host not in _SPECIAL_USE) or host[-1].isdigit()):
        rule = "a safe subdomain wildcard such as '*.example.com'"
        hint = (
            "; the part after '*.' must be a domain of two labels or more, or one of the "
            "special-use names 'localhost', 'test', 'internal' and 'local'"
        )
        raise option_error(ValueError, option, rule, value, hint)
    return prefix + host + ("" if port is None else f":{port}")


class HostPatterns:
    """The hosts a service answers for, an ``allowed_hosts`` option parsed once.

    An entry is ``"*"`` (any host), a host (``example.com``, ``127.0.0.1``, ``[::1]``), a host
    with a port (``example.com:8443``), or a subdomain wildcard with or without a port
    (``*.example.com``): one or more whole labels before the domain (``a.example.com``,
    ``a.b.example.com``), never the domain itself nor ``evilexample.com``. The domain has two
    labels or more, or is a special-use name (``*.localhost``, ``*.test``, ``*.internal``,
    ``*.local``). Entries are normalised as :func:`parse_host` normalises a request's host
    (lower case, IPv6 compressed).
    An entry without a port allows any port; one with a port allows that port only, a request
    without a port being on its scheme's default port (:data:`DEFAULT_PORTS`).

    Attributes:
        allow_any: Whether ``"*"`` is listed.
        known: ``Host`` field values allowed exactly as they are, as bytes: the entries without
            a wildcard, in normal form. A request whose field is one of them needs no parsing.

    Raises:
        TypeError: ``patterns`` is not a list or tuple (or other iterable) of ``str``.
        ValueError: An entry has a scheme, a path, a ``*`` other than a leading ``*.`` label or
            over another single label or an IP address, an IPv6 address without brackets, a
            trailing dot or a bad host or port; or no entry.
    """

    __slots__ = ("_names", "_pairs", "_patterns", "_ported", "_suffixes", "allow_any", "known")

    def __init__(self, option: str, patterns: object) -> None:
        self._patterns = require_strings(option, patterns, _require_host_pattern)
        if not self._patterns:
            hint = f"; list {ANY_HOST!r} to allow any host"
            raise option_error(ValueError, option, "a non-empty list of hosts", patterns, hint)
        names: set[str] = set()
        pairs: set[tuple[str, int]] = set()
        suffixes: list[str] = []
        ported: list[tuple[str, int]] = []
        for pattern in self._patterns:
            if pattern == ANY_HOST:
                continue
            host, port_text = split_authority(pattern)
            port = None if port_text is None else int(port_text)
            if host.startswith(WILDCARD):
                # "*.example.com" -> ".example.com": valid hosts have no empty labels, so a
                # host ending in it has one or more whole labels before it.
                if port is None:
                    suffixes.append(host[1:])
                else:
                    ported.append((host[1:], port))
            elif port is None:
                names.add(host)
            else:
                pairs.add((host, port))
        self.allow_any = ANY_HOST in self._patterns
        self._names = frozenset(names)
        self._pairs = frozenset(pairs)
        self._suffixes = tuple(suffixes)
        self._ported = tuple(ported)
        self.known = frozenset(
            pattern.encode("ascii")
            for pattern in self._patterns
            if pattern != ANY_HOST and not pattern.startswith(WILDCARD)
        )

    def __repr__(self) -> str:
        return f"HostPatterns({list(self._patterns)!r})"

    def lists(self, host: str, port: int | None, scheme: str) -> bool:
        """Whether an entry without a wildcard allows ``host`` and ``port`` (over ``scheme``).

        ``host`` is in normal form, as :func:`parse_host_field` gives it.
        """
        if host in self._names:
            return True
        return (host, DEFAULT_PORTS.get(scheme) if port is None else port) in self._pairs

    def allows(self, host: str, port: int | None, scheme: str) -> bool:
        """Whether any entry allows ``host`` and ``port`` (over ``scheme``), wildcards included."""
        if self.allow_any or self.lists(host, port, scheme) or host.endswith(self._suffixes):
            return True
        if port is None:
            port = DEFAULT_PORTS.get(scheme)
        return any(host.endswith(suffix) and port == only for suffix, only in self._ported)


def _percent(match: re.Match[bytes]) -> bytes:
    return b"%%%02X" % match[0][0]


def redirect_url(scheme: str, host: str, port: int | None, scope: Scope) -> bytes:
    r"""Return ``scheme://host[:port]`` and the request's path and query, for a ``Location``.

    ``host`` must be a validated host (from :func:`parse_host_field`), never the raw header. The
    path is the request's ``raw_path`` as it came when there is one, else its ``path``
    percent-encoded (UTF-8, a lone surrogate as the byte it escapes); it always starts with
    ``/``, so nothing in it can extend the host. Bytes a URL may not hold (controls, spaces,
    non-ASCII, ``#``, ``\``) are percent-encoded, so the value is safe to send as a header.
    """
    raw = scope.get("raw_path")
    if raw:
        path: bytes = _PATH_UNSAFE.sub(_percent, raw)
    else:
        # A server that decodes the path with surrogateescape hands its undecodable bytes on as
        # lone surrogates: they go back to those bytes, percent-encoded, instead of raising.
        text = quote(scope.get("path", ""), safe=_PATH_SAFE, errors="surrogateescape")
        path = text.encode("ascii")
    if not path.startswith(b"/"):
        path = b"/" + path
    authority = host if port is None else f"{host}:{port}"
    url = f"{scheme}://{authority}".encode("ascii") + path
    query = scope.get("query_string")
    if query:
        url += b"?" + _QUERY_UNSAFE.sub(_percent, query)
    return url
