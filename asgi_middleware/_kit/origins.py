"""Origins and hosts: the one parser every middleware uses.

A browser sends the *serialisation* of an origin (HTML, "ASCII serialization of an origin"; RFC
6454 §6.2): scheme and host in lower case, IDNs in punycode, an IPv6 address compressed in
brackets, no default port, no path, no trailing slash. Configured origins are parsed once, at
construction, into that form, so the request path compares bytes and never parses.

:func:`parse_origin` refuses with a message naming the option; :func:`parse_host` reads the
``host[:port]`` of a ``Host`` header by the same host rules and never raises.

The request's ``Host`` field, the hosts a service answers for and redirect URLs built from
them are in ``hosts``, on these rules.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from asgi_middleware._kit.config import option_error

__all__ = [
    "DEFAULT_PORTS",
    "LABEL",
    "NULL_ORIGIN",
    "WILDCARD",
    "HostRuleError",
    "Origin",
    "normal_host",
    "normal_port",
    "parse_host",
    "parse_origin",
    "require_origin",
    "split_authority",
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

WILDCARD = "*."
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


class HostRuleError(Exception):
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


def split_authority(authority: str) -> tuple[str, str | None]:
    """Split ``host[:port]`` into the host and the port's text (``None`` without a ``:``)."""
    if authority.startswith("["):  # an IPv6 literal, RFC 3986 §3.2.2
        end = authority.find("]") + 1
        host, after = authority[:end], authority[end:]
        if not end or (after and not after.startswith(":")):
            raise HostRuleError(_IPV6_RULE)
        port = after[1:] if after else None
    else:
        host, colon, text = authority.partition(":")
        port = text if colon else None
    if port == "":
        raise HostRuleError(_EMPTY_PORT_RULE)
    return host, port


def normal_host(host: str) -> str:
    """Normalise a lower-case host: a compressed IPv6 literal, an IPv4 address or a name."""
    if host.startswith("["):
        # Zone identifiers ("%eth0") are not allowed in URLs (URL standard, IPv6 parser).
        if "%" in host:
            raise HostRuleError(_IPV6_RULE)
        try:
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise HostRuleError(_IPV6_RULE) from None
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
            raise HostRuleError(_IPV4_RULE) from None
    # Non-ASCII names are refused before this point rather than converted: Python's "idna"
    # codec is IDNA 2003, which maps some names ("faß") differently from browsers (UTS #46).
    if _HOSTNAME.fullmatch(host) is None:
        raise HostRuleError(_NAME_RULE)
    return host


def normal_port(port: str | None) -> int | None:
    if port is None:
        return None
    # Leading zeros are harmless ("08000"), but int() of thousands of digits raises.
    digits = port.lstrip("0")
    if not port.isdigit() or len(digits) > _PORT_DIGITS or not 0 < int(digits or "0") <= _MAX_PORT:
        raise HostRuleError(_PORT_RULE)
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
    prefix = WILDCARD if wildcard and rest.startswith(WILDCARD) else ""
    try:
        host, port_text = split_authority(rest[len(prefix) :])
        if "*" in host:
            if wildcard:
                rule = "an origin with at most one leading '*.' label"
                hint = "; '*' may only stand for the leading labels, as in 'https://*.example.com'"
            else:
                rule = "an origin without '*'"
                hint = "; list each origin: this option has no wildcards"
            raise option_error(ValueError, option, rule, value, hint)
        host = normal_host(host)
        port = normal_port(port_text)
    except HostRuleError as refused:
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
        host, port = split_authority(value.lower())
        return normal_host(host), normal_port(port)
    except HostRuleError:
        return None
