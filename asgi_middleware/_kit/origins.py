"""Origins and hosts: the one parser every middleware uses.

A browser sends the *serialisation* of an origin (HTML, "ASCII serialization of an origin"; RFC
6454 §6.2): scheme and host in lower case, IDNs in punycode, an IPv6 address compressed in
brackets, no default port, no path, no trailing slash. Configured origins are parsed once, at
construction, into that form, so the request path compares bytes and never parses.

:func:`parse_origin` refuses with a message naming the option; :func:`parse_host` reads the
``host[:port]`` of a ``Host`` header by the same host rules and never raises.

For the layers that read a request's ``Host`` (trusted host, HTTPS redirect), :func:`host_field`
and :func:`parse_host_field` (or both at once, :func:`read_host`) take the one ``Host`` field of a
request and say why it cannot be used (:class:`HostProblem`); :class:`HostPatterns` holds the
configured ``allowed_hosts`` and :func:`redirect_url` builds a redirect's ``Location`` from a
validated host, never from the raw header.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple
from urllib.parse import quote

from asgi_middleware._kit.config import option_error, require_strings
from asgi_middleware._kit.headers import REPEATED, get_single
from asgi_middleware._kit.responses import content_headers, deny_websocket, respond
from asgi_middleware._kit.types import RawHeaders, Scope, Send

__all__ = [
    "ANY_HOST",
    "DEFAULT_PORTS",
    "LABEL",
    "NULL_ORIGIN",
    "HostPatterns",
    "HostProblem",
    "Origin",
    "host_field",
    "parse_host",
    "parse_host_field",
    "parse_origin",
    "read_host",
    "redirect_url",
    "refuse_host",
    "require_origin",
]

#: URL standard, "default port": the port of each special scheme, which an origin never shows.
DEFAULT_PORTS: Mapping[str, int] = MappingProxyType(
    {"http": 80, "https": 443, "ws": 80, "wss": 443}
)
#: The serialisation of an opaque origin (sandboxed frames, ``file:`` pages, redirects).
NULL_ORIGIN = "null"
#: One DNS label as browsers accept it in a host, in lower case (underscores appear in real
#: names): a regular expression source, for patterns that must agree with the parser.
LABEL = r"[a-z0-9_\-]{1,63}"

_WILDCARD = "*."
_MAX_PORT = 65535
_PORT_DIGITS = 5
_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]*")
_HOSTNAME = re.compile(rf"{LABEL}(?:\.{LABEL})*")
# Characters that never appear in an origin but do in regular expressions.
_REGEX_HINTS = frozenset("^$\\(){}+|")
# What a host or port must be: each completes "an origin with ...".
_IPV6_RULE = "a valid IPv6 host"
_IPV4_RULE = "a valid IPv4 host"
_NAME_RULE = "a valid host name (use punycode for IDNs)"
_EMPTY_PORT_RULE = "':' followed by a port"
_PORT_RULE = "a port from 1 to 65535"


class Origin(NamedTuple):
    """A tuple origin (HTML §7.5), normalised by :func:`parse_origin`.

    Attributes:
        scheme: The scheme in lower case, such as ``https``.
        host: A host name in lower case (IDNs in punycode), a dotted-quad IPv4 address, or a
            compressed IPv6 address in brackets; parsed with ``wildcard=True``, possibly ``*.``
            followed by a domain.
        port: The port, or ``None`` when it is absent or the scheme's default.
    """

    scheme: str
    host: str
    port: int | None = None

    def serialize(self) -> str:
        """Return the origin as browsers send it, ``scheme://host[:port]``."""
        if self.port is None:
            return f"{self.scheme}://{self.host}"
        return f"{self.scheme}://{self.host}:{self.port}"


class _RuleError(Exception):
    """A host or port breaks ``rule``, which completes "an origin with ..."."""

    def __init__(self, rule: str) -> None:
        super().__init__(rule)
        self.rule = rule


def _looks_like_regex(value: str) -> bool:
    scheme, _, rest = value.partition("://")
    # "[" opens an IPv6 host right after "://" and nowhere else; "?" in a scheme is "https?".
    return (
        bool(_REGEX_HINTS.intersection(value))
        or ".*" in value
        or "?" in scheme
        or "[" in rest[1:]
        or ("]" in rest and not rest.startswith("["))
    )


def _split(authority: str) -> tuple[str, str | None]:
    """Split ``host[:port]`` into the host and the port's text (``None`` without a ``:``)."""
    if authority.startswith("["):  # an IPv6 literal, RFC 3986 §3.2.2
        end = authority.find("]") + 1
        host, after = authority[:end], authority[end:]
        if not end or (after and not after.startswith(":")):
            raise _RuleError(_IPV6_RULE)
        port = after[1:] if after else None
    else:
        host, colon, text = authority.partition(":")
        port = text if colon else None
    if port == "":
        raise _RuleError(_EMPTY_PORT_RULE)
    return host, port


def _host(host: str) -> str:
    """Normalise a lower-case host: a compressed IPv6 literal, an IPv4 address or a name."""
    if host.startswith("["):
        # Zone identifiers ("%eth0") are not allowed in URLs (URL standard, IPv6 parser).
        if "%" in host:
            raise _RuleError(_IPV6_RULE)
        try:
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise _RuleError(_IPV6_RULE) from None
        if address.ipv4_mapped is not None:
            # The URL standard serialises every IPv6 address as hex pieces; Python 3.13 writes
            # an IPv4-mapped one with a dotted tail, so that one case is spelled out here.
            mapped = int(address.ipv4_mapped)
            return f"[::ffff:{mapped >> 16:x}:{mapped & 0xFFFF:x}]"
        return f"[{address.compressed}]"
    if host.replace(".", "").isdigit():
        # Dotted-quad decimal only: browsers read "127.1" as 127.0.0.1 and "010.0.0.1" as
        # octal, so such forms are refused rather than guessed at.
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError:
            raise _RuleError(_IPV4_RULE) from None
    # Non-ASCII names are refused before this point rather than converted: Python's "idna"
    # codec is IDNA 2003, which maps some names ("faß") differently from browsers (UTS #46).
    if _HOSTNAME.fullmatch(host) is None:
        raise _RuleError(_NAME_RULE)
    return host


def _port(port: str | None) -> int | None:
    if port is None:
        return None
    # Leading zeros are harmless ("08000"), but int() of thousands of digits raises.
    digits = port.lstrip("0")
    if not port.isdigit() or len(digits) > _PORT_DIGITS or not 0 < int(digits or "0") <= _MAX_PORT:
        raise _RuleError(_PORT_RULE)
    return int(digits)


def parse_origin(
    option: str, value: str, *, wildcard: bool = False, regex_option: str | None = None
) -> Origin:
    """Parse a configured origin, ``scheme://host[:port]``, into its normal form.

    The scheme and host are lower-cased, an IPv6 host is compressed, a default port
    (:data:`DEFAULT_PORTS`) is dropped. ``null`` is not a tuple origin and is refused here:
    :func:`require_origin` accepts it.

    Args:
        option: The option's name, for the message.
        value: The configured text.
        wildcard: Accept one leading ``*.`` label standing for any subdomains, as in
            ``https://*.example.com``; the rest must be a domain of two labels or more.
        regex_option: The option to suggest when ``value`` looks like a regular expression.

    Raises:
        ValueError: ``"<option> must be <rule>, got <value!r>"`` with a hint, for non-ASCII
            text, something like a regex, a missing scheme, a path or trailing slash, a query,
            fragment or user name, an empty ``:`` port, a bad port or host (``..``, empty
            labels, IPv6 zone identifiers) or a ``*`` that is not allowed.
    """
    if not value.isascii():
        hint = "; write internationalised host names in punycode (xn--...)"
        raise option_error(ValueError, option, "an ASCII origin", value, hint)
    if _looks_like_regex(value):
        hint = (
            f"; it looks like a regular expression: pass it as {regex_option} instead"
            if regex_option
            else "; it looks like a regular expression, and origins here are compared literally"
        )
        raise option_error(
            ValueError, option, "an origin such as 'https://app.example'", value, hint
        )
    scheme, sep, rest = value.lower().partition("://")
    if not sep or _SCHEME.fullmatch(scheme) is None:
        rule = "an origin with a scheme, as in 'https://app.example'"
        raise option_error(ValueError, option, rule, value)
    if rest.endswith("/") and "/" not in rest[:-1]:
        hint = f"; remove the trailing slash: {value[:-1]!r}"
        raise option_error(ValueError, option, "an origin without a trailing slash", value, hint)
    for char, part in (("/", "path"), ("?", "query"), ("#", "fragment"), ("@", "user name")):
        if char in rest:
            hint = "; an origin is scheme://host[:port] only"
            raise option_error(ValueError, option, f"an origin without a {part}", value, hint)
    prefix = _WILDCARD if wildcard and rest.startswith(_WILDCARD) else ""
    try:
        host, port_text = _split(rest[len(prefix) :])
        if "*" in host:
            if wildcard:
                rule = "an origin with at most one leading '*.' label"
                hint = "; '*' may only stand for the leading labels, as in 'https://*.example.com'"
            else:
                rule = "an origin without '*'"
                hint = "; list each origin: this option has no wildcards"
            raise option_error(ValueError, option, rule, value, hint)
        host = _host(host)
        port = _port(port_text)
    except _RuleError as refused:
        raise option_error(ValueError, option, f"an origin with {refused.rule}", value) from None
    if prefix and (host.count(".") < 1 or host[-1].isdigit()):
        rule = "a safe subdomain wildcard such as 'https://*.example.com'"
        hint = "; the part after '*.' must be a domain of two labels or more"
        raise option_error(ValueError, option, rule, value, hint)
    if port == DEFAULT_PORTS.get(scheme):
        port = None
    return Origin(scheme, prefix + host, port)


def require_origin(
    option: str, value: object, *, wildcard: bool = False, regex_option: str | None = None
) -> str:
    """Return a configured origin's serialisation, as browsers send it in ``Origin``.

    ``"null"`` is returned as it is, when given literally (in lower case); anything else is
    parsed by :func:`parse_origin` with ``wildcard`` and ``regex_option``.

    Raises:
        TypeError: If ``value`` is not a ``str``.
        ValueError: As :func:`parse_origin` does.
    """
    if not isinstance(value, str):
        raise option_error(TypeError, option, "a str", value)
    if value == NULL_ORIGIN:
        return value
    return parse_origin(option, value, wildcard=wildcard, regex_option=regex_option).serialize()


def parse_host(value: str) -> tuple[str, int | None] | None:
    """Parse ``host[:port]``, as in a ``Host`` header, into ``(host, port)``; ``None`` if invalid.

    The host follows :func:`parse_origin`'s rules (a name in lower case, a dotted-quad IPv4
    address or a compressed IPv6 address in brackets); the port is ``None`` when absent and is
    kept even when it is a default port, since no scheme is known here. Anything else, such as
    non-ASCII text, an empty label, a ``:`` without a port or a port outside 1 to 65535, gives
    ``None``. Never raises, whatever the text.
    """
    if not value.isascii():
        return None
    try:
        host, port = _split(value.lower())
        return _host(host), _port(port)
    except _RuleError:
        return None


# --- A request's Host, and the hosts a service answers for ---------------------------------------

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
    prefix = _WILDCARD if text.startswith(_WILDCARD) else ""
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
        host, port_text = _split(rest)
        if host.endswith("."):
            hint = "; remove the trailing dot: a request's trailing dot is ignored"
            raise option_error(ValueError, option, "a host without a trailing dot", value, hint)
        host = _host(host)
        port = _port(port_text)
    except _RuleError as refused:
        raise option_error(ValueError, option, f"a host with {refused.rule}", value) from None
    if prefix and (host.count(".") < 1 or host[-1].isdigit()):
        rule = "a safe subdomain wildcard such as '*.example.com'"
        hint = "; the part after '*.' must be a domain of two labels or more"
        raise option_error(ValueError, option, rule, value, hint)
    return prefix + host + ("" if port is None else f":{port}")


class HostPatterns:
    """The hosts a service answers for, an ``allowed_hosts`` option parsed once.

    An entry is ``"*"`` (any host), a host (``example.com``, ``127.0.0.1``, ``[::1]``), a host
    with a port (``example.com:8443``), or a subdomain wildcard with or without a port
    (``*.example.com``): one or more whole labels before the domain (``a.example.com``,
    ``a.b.example.com``), never the domain itself nor ``evilexample.com``. Entries are
    normalised as :func:`parse_host` normalises a request's host (lower case, IPv6 compressed).
    An entry without a port allows any port; one with a port allows that port only, a request
    without a port being on its scheme's default port (:data:`DEFAULT_PORTS`).

    Attributes:
        allow_any: Whether ``"*"`` is listed.
        known: ``Host`` field values allowed exactly as they are, as bytes: the entries without
            a wildcard, in normal form. A request whose field is one of them needs no parsing.

    Raises:
        TypeError: ``patterns`` is not a list or tuple (or other iterable) of ``str``.
        ValueError: An entry has a scheme, a path, a ``*`` other than a leading ``*.`` label, an
            IPv6 address without brackets, a trailing dot or a bad host or port; or no entry.
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
            host, port_text = _split(pattern)
            port = None if port_text is None else int(port_text)
            if host.startswith(_WILDCARD):
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
            if pattern != ANY_HOST and not pattern.startswith(_WILDCARD)
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
    percent-encoded; it always starts with ``/``, so nothing in it can extend the host. Bytes a
    URL may not hold (controls, spaces, non-ASCII, ``#``, ``\``) are percent-encoded, so the
    value is safe to send as a header.
    """
    raw = scope.get("raw_path")
    if raw:
        path: bytes = _PATH_UNSAFE.sub(_percent, raw)
    else:
        path = quote(scope.get("path", ""), safe=_PATH_SAFE).encode("ascii")
    if not path.startswith(b"/"):
        path = b"/" + path
    authority = host if port is None else f"{host}:{port}"
    url = f"{scheme}://{authority}".encode("ascii") + path
    query = scope.get("query_string")
    if query:
        url += b"?" + _QUERY_UNSAFE.sub(_percent, query)
    return url
