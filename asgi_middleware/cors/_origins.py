"""Origin parsing, validation and matching, and CORS request scanning, for ``CORSMiddleware``.

Configured origins are checked once, at construction, and turned into what the request path needs:
a frozenset of exact serialised origins (``bytes``) and, for wildcards, a regex over bytes. A
browser sends the *serialisation* of an origin (HTML, "ASCII serialization of an origin"; RFC
6454 §6.2): scheme and host in lower case, IDNs in punycode, no default port, no path, no trailing
slash. Normalising the configuration to that form lets the request path compare bytes, not parse.
"""

from __future__ import annotations

import inspect
import ipaddress
import itertools
import re
from collections.abc import Callable, Iterable

from asgi_middleware._kit.types import RawHeaders

__all__ = [
    "NULL_ORIGIN",
    "ORIGIN_SPELLINGS",
    "WILDCARD",
    "OriginCheck",
    "build_matcher",
    "find_origin",
    "parse_origin",
    "parse_token_list",
    "preflight_fields",
    "require_origin_check",
    "require_origin_regex",
    "split_origins",
]

WILDCARD = "*"
NULL_ORIGIN = "null"

OriginCheck = Callable[[str], bool]

_ORIGIN = b"origin"
_REQUEST_METHOD = b"access-control-request-method"
_REQUEST_HEADERS = b"access-control-request-headers"
_REQUEST_PRIVATE_NETWORK = b"access-control-request-private-network"
# Header names differ in length: one len() settles most comparisons without a lower().
_ORIGIN_SIZE, _METHOD_SIZE, _HEADERS_SIZE, _PRIVATE_SIZE = map(
    len, (_ORIGIN, _REQUEST_METHOD, _REQUEST_HEADERS, _REQUEST_PRIVATE_NETWORK)
)
#: ``origin`` in every mix of cases: one set lookup per request header finds it in any case.
ORIGIN_SPELLINGS = frozenset(
    bytes(spelling) for spelling in itertools.product(*((c, c ^ 0x20) for c in _ORIGIN))
)

# URL standard, "default port": the port of each special scheme, which an origin never shows.
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_MAX_PORT = 65535
_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]*")
# One DNS label as browsers accept it in a host (underscores appear in real names).
_LABEL = r"[a-z0-9_\-]{1,63}"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
# Characters that never appear in an origin but do in regular expressions.
_REGEX_HINTS = frozenset("^$\\(){}+|")
# RFC 9110 §5.6.2 token characters, lower case only (callers lower-case first).
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9a-z]+")


def _fail(option: str, rule: str, value: str, hint: str = "") -> ValueError:
    return ValueError(f"{option} must be {rule}, got {value!r}{hint}")


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


def _split_host_port(option: str, value: str, rest: str) -> tuple[str, str]:
    if rest.startswith("["):  # IPv6 literal, RFC 3986 §3.2.2
        end = rest.find("]")
        if end < 0:
            raise _fail(option, "an origin with a valid IPv6 host", value)
        host, after = rest[: end + 1], rest[end + 1 :]
        if after and not after.startswith(":"):
            raise _fail(option, "an origin with a valid IPv6 host", value)
        return host, after[1:] if after else ""
    host, colon, port = rest.partition(":")
    if colon and not port:
        raise _fail(option, "an origin whose ':' is followed by a port", value)
    return host, port


def _normalise_host(option: str, value: str, host: str) -> str:
    if host.startswith("["):
        try:
            return f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
        except ValueError:
            raise _fail(option, "an origin with a valid IPv6 host", value) from None
    if host and all(char.isdigit() or char == "." for char in host):
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError:
            raise _fail(option, "an origin with a valid IPv4 host", value) from None
    if _HOSTNAME.fullmatch(host) is None:
        raise _fail(option, "an origin with a valid host name (use punycode for IDNs)", value)
    return host


def parse_origin(option: str, value: str) -> str:
    """Validate a configured origin and return its serialisation as browsers send it.

    ``"null"`` and a leading ``*.`` label (``https://*.example.com``) are kept as they are; the
    scheme and host are lower-cased, a default port is dropped and an IPv6 host is compressed.

    Raises:
        ValueError: With a hint, for a path or trailing slash, a missing scheme, a regex, a
            user name, a query, a fragment, a bad port or host, or a misplaced ``*``.
    """
    if value == NULL_ORIGIN:
        return value
    if not value.isascii():
        hint = "; write internationalised host names in punycode (xn--...)"
        raise _fail(option, "an ASCII origin", value, hint)
    if _looks_like_regex(value):
        hint = "; it looks like a regular expression: pass it as allow_origin_regex instead"
        raise _fail(option, "an origin such as 'https://app.example'", value, hint)
    lowered = value.lower()
    scheme, sep, rest = lowered.partition("://")
    if not sep or _SCHEME.fullmatch(scheme) is None:
        raise _fail(option, "an origin with a scheme, as in 'https://app.example'", value)
    if rest.endswith("/") and "/" not in rest[:-1]:
        hint = f"; remove the trailing slash: {value[:-1]!r}"
        raise _fail(option, "an origin without a trailing slash", value, hint)
    for char, part in (("/", "path"), ("?", "query"), ("#", "fragment"), ("@", "user name")):
        if char in rest:
            hint = "; an origin is scheme://host[:port] only"
            raise _fail(option, f"an origin without a {part}", value, hint)
    wildcard = rest.startswith("*.")
    host, port = _split_host_port(option, value, rest[2:] if wildcard else rest)
    if "*" in host:
        hint = "; '*' may only stand for the leading labels, as in 'https://*.example.com'"
        raise _fail(option, "an origin with at most one leading '*.' label", value, hint)
    host = _normalise_host(option, value, host)
    if wildcard and (host.count(".") < 1 or host[-1].isdigit()):
        hint = "; the part after '*.' must be a domain of two labels or more"
        raise _fail(
            option, "a safe subdomain wildcard such as 'https://*.example.com'", value, hint
        )
    if port:
        if not port.isdigit() or not 0 < int(port) <= _MAX_PORT:
            raise _fail(option, "an origin with a port from 1 to 65535", value)
        if int(port) == _DEFAULT_PORTS.get(scheme):
            port = ""
    prefix = "*." if wildcard else ""
    return f"{scheme}://{prefix}{host}:{int(port)}" if port else f"{scheme}://{prefix}{host}"


def split_origins(option: str, origins: Iterable[str]) -> tuple[bool, frozenset[bytes], list[str]]:
    """Parse configured origins into ``(allow_all, exact origins, wildcard origins)``."""
    allow_all = False
    exact: set[bytes] = set()
    wildcards: list[str] = []
    for index, origin in enumerate(origins):
        if origin == WILDCARD:
            allow_all = True
            continue
        parsed = parse_origin(f"{option}[{index}]", origin)
        if "://*." in parsed:
            wildcards.append(parsed)
        else:
            exact.add(parsed.encode("ascii"))
    return allow_all, frozenset(exact), wildcards


def _wildcard_pattern(origin: str) -> str:
    scheme, _, rest = origin.partition("://*.")
    # One or more whole labels, then the literal suffix: never a port, path or second host.
    return rf"{re.escape(scheme)}://(?:{_LABEL}\.)+{re.escape(rest)}"


def build_matcher(
    wildcards: Iterable[str],
    regex: re.Pattern[str] | None = None,
    check: OriginCheck | None = None,
) -> Callable[[bytes], bool] | None:
    """Return a function that tells whether an origin (not an exact one) is allowed, or ``None``.

    The function never allows ``null``: that origin is shared by sandboxed frames, ``file:``
    pages and redirects, so it is allowed only when listed literally (an exact origin).
    """
    patterns = [_wildcard_pattern(origin) for origin in wildcards]
    wildcard = re.compile("|".join(patterns).encode("ascii")).fullmatch if patterns else None
    if wildcard is None and regex is None and check is None:
        return None

    def matches(origin: bytes) -> bool:
        if origin == b"null":
            return False
        if wildcard is not None and wildcard(origin) is not None:
            return True
        text = origin.decode("latin-1")
        if regex is not None and regex.fullmatch(text) is not None:
            return True
        return check is not None and check(text) is True

    return matches


def require_origin_regex(option: str, value: object) -> re.Pattern[str] | None:
    """Compile an ``allow_origin_regex`` (a ``str`` or compiled ``str`` pattern), or ``None``."""
    if value is None:
        return None
    if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
        return value
    if not isinstance(value, str):
        msg = f"{option} must be a str or a compiled str pattern, got {value!r}"
        raise TypeError(msg)
    try:
        return re.compile(value)
    except re.error as error:
        raise _fail(option, f"a valid regular expression ({error})", value) from None


def require_origin_check(option: str, value: object) -> OriginCheck | None:
    """Return a synchronous ``(origin: str) -> bool`` callable, or ``None``."""
    if value is None:
        return None
    if not callable(value):
        msg = f"{option} must be callable, got {value!r}"
        raise TypeError(msg)
    if inspect.iscoroutinefunction(value) or inspect.iscoroutinefunction(
        getattr(value, "__call__", None)  # noqa: B004 - an instance with an async __call__
    ):
        msg = f"{option} must be a plain (not async) function, got {value!r}"
        raise TypeError(msg)
    check: OriginCheck = value
    return check


def parse_token_list(value: bytes) -> list[bytes] | None:
    """Parse a comma-separated list of tokens, such as ``Access-Control-Request-Headers``.

    Elements are lower-cased; whitespace around them and empty elements are dropped (RFC 9110
    §5.6.1). Returns ``None`` if an element is not a token (RFC 9110 §5.6.2).
    """
    tokens: list[bytes] = []
    for part in value.split(b","):
        token = part.strip(b" \t").lower()
        if token:
            if _TOKEN.fullmatch(token) is None:
                return None
            tokens.append(token)
    return tokens


def find_origin(headers: RawHeaders) -> bytes | None:
    """Return the first ``Origin`` request header's value, or ``None``."""
    for name, value in headers:
        if name in ORIGIN_SPELLINGS:
            return value
    return None


def preflight_fields(
    headers: RawHeaders,
) -> tuple[bytes | None, bytes | None, bytes | None, bytes | None]:
    """Scan once for Origin and the three preflight request headers (first of each)."""
    origin = method = requested = private = None
    for name, value in headers:
        size = len(name)
        if size == _ORIGIN_SIZE:
            if origin is None and (name == _ORIGIN or name.lower() == _ORIGIN):
                origin = value
        elif size == _METHOD_SIZE:
            if method is None and (name == _REQUEST_METHOD or name.lower() == _REQUEST_METHOD):
                method = value
        elif size == _HEADERS_SIZE:
            if name == _REQUEST_HEADERS or name.lower() == _REQUEST_HEADERS:
                # Two fields of a list header are one list (RFC 9110 §5.3).
                requested = value if requested is None else requested + b"," + value
        elif size == _PRIVATE_SIZE and private is None and name.lower() == _REQUEST_PRIVATE_NETWORK:
            private = value
    return origin, method, requested, private
