"""Parsers for the proxy headers: RFC 7239 ``Forwarded`` and the ``X-Forwarded-*`` lists.

Every function here reads client-controlled text and never raises: what it cannot read it
reports as ``None``. The work is bounded: at most :data:`MAX_HOPS` list elements are read, from
the right (the end our proxies wrote), and a ``Forwarded`` value longer than
:data:`MAX_FORWARDED_LENGTH` is not parsed at all.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import unquote

from asgi_middleware._kit.config import TOKEN
from asgi_middleware.proxy_headers._trust import is_ipv4

__all__ = [
    "MAX_FORWARDED_LENGTH",
    "MAX_HOPS",
    "parse_forwarded",
    "parse_node",
    "parse_prefix",
    "pick",
    "split_right",
]

#: The most list elements (hops) read from the right of a header; the rest is never split.
MAX_HOPS = 64
#: The longest ``Forwarded`` value parsed (about a hundred hops); a longer one is ignored.
MAX_FORWARDED_LENGTH = 8192

# RFC 7239 §4: forwarded-pair = token "=" value; value = token / quoted-string (RFC 9110 §5.6).
_TOKEN = TOKEN.pattern
_QUOTED = r'"((?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*)"'
_PAIR = re.compile(rf"({_TOKEN})=(?:({_TOKEN})|{_QUOTED})")
# What may follow a pair: ";" (next pair), "," (next element) or the end, with optional blanks.
_SEPARATOR = re.compile(r"[ \t]*([,;]|\Z)[ \t]*")
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
# RFC 7239 §6.3: obfport = "_" 1*(ALPHA / DIGIT / "." / "_" / "-").
_OBFUSCATED_PORT = re.compile(r"_[A-Za-z0-9._\-]+")
_MAX_PORT = 65535
_PORT_DIGITS = 5
_BLANKS = b" \t"
# A prefix: printable ASCII other than "?", "#" and "\" (browsers read "\" as "/").
_PREFIX = re.compile(r"/[\x21\x22\x24-\x3e\x40-\x5b\x5d-\x7e]*")
# What a decoded prefix may not hold either: in root_path it ends up unencoded in the app's
# links (Starlette's url_for), where it would end the path or split the URL. Other whitespace
# and controls are not printable.
_DECODED_UNSAFE = re.compile(r"[ ?#\\]")


def split_right(value: bytes) -> tuple[list[str], bool]:
    """Split a comma-separated list into its elements, the right-most first.

    Blanks around elements are stripped and empty elements dropped (RFC 9110 §5.6.1); bytes
    are read as latin-1. At most :data:`MAX_HOPS` elements are returned.

    Returns:
        The elements, right to left, and whether they are all of them.
    """
    if b"," not in value:
        element = value.strip(_BLANKS)
        return ([element.decode("latin-1")] if element else []), True
    parts = value.rsplit(b",", MAX_HOPS)
    complete = len(parts) <= MAX_HOPS
    if not complete:
        del parts[0]  # the unsplit rest, left of the elements read
    elements = [element.decode("latin-1") for part in parts if (element := part.strip(_BLANKS))]
    elements.reverse()
    return elements, complete


def pick(value: bytes | None, index: int) -> str | None:
    """Return the element of a list header that belongs to the hop ``index`` from the right.

    A header with one value is that value, whatever the index: a proxy that sets the header
    rather than appending to it writes one value for the whole chain. ``None`` when the header
    is absent, empty, or has several values but none at ``index``.
    """
    if value is None:
        return None
    elements, _ = split_right(value)
    if len(elements) == 1:
        return elements[0]
    return elements[index] if index < len(elements) else None


def _unquote(text: str) -> str:
    return _QUOTED_PAIR.sub(r"\1", text) if "\\" in text else text


def parse_forwarded(value: str) -> list[dict[str, str]] | None:
    """Parse a ``Forwarded`` value (RFC 7239 §4) into its elements, left to right.

    Each element maps its parameter names, in lower case, to their values with quotes and
    escapes removed. Empty elements are dropped. ``None`` when the value is invalid: a syntax
    error anywhere, a parameter given twice in one element (RFC 7239 §4 makes that invalid, and
    the whole header is then ignored), or a value longer than :data:`MAX_FORWARDED_LENGTH`.
    """
    if len(value) > MAX_FORWARDED_LENGTH:
        return None
    elements: list[dict[str, str]] = []
    element: dict[str, str] = {}
    position = len(value) - len(value.lstrip(" \t"))
    while True:
        pair = _PAIR.match(value, position)
        if pair is not None:
            name = pair[1].lower()
            if name in element:
                return None
            token = pair[2]
            element[name] = token if token is not None else _unquote(pair[3])
            position = pair.end()
        separator = _SEPARATOR.match(value, position)
        if separator is None:
            return None
        position = separator.end()
        if separator[1] == ";":
            continue
        if element:
            elements.append(element)
            element = {}
        if not separator[1]:
            return elements


def _port(text: str) -> int | None:
    if text.isdigit() and text.isascii() and len(text) <= _PORT_DIGITS:
        port = int(text)
        return port if port <= _MAX_PORT else None
    return 0 if _OBFUSCATED_PORT.fullmatch(text) else None


def _ipv6(text: str) -> str | None:
    if "%" in text:  # a zone identifier means nothing beyond the proxy's own host
        return None
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        return None
    if address.ipv4_mapped is not None:  # one spelling on every Python (3.13 changed it)
        return f"::ffff:{address.ipv4_mapped}"
    return address.compressed


def parse_node(text: str) -> tuple[str, int] | None:
    """Parse a hop's address: RFC 7239 ``for=`` or an ``X-Forwarded-For`` element.

    Accepts ``1.2.3.4``, ``1.2.3.4:5678``, ``[2001:db8::1]``, ``[2001:db8::1]:4711`` and a bare
    ``2001:db8::1`` (as ``X-Forwarded-For`` writes it). An obfuscated port (``_abc``) reads as
    0, as does a missing one.

    Returns:
        ``(address, port)`` with the address in its normal form (IPv6 compressed, lower case),
        or ``None`` for ``unknown``, an obfuscated identifier (``_hidden``) or anything that is
        not an IP address.
    """
    if is_ipv4(text):  # the usual case, first
        return text, 0
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        address = _ipv6(host) if bracket else None
        port = _port(rest[1:]) if rest.startswith(":") else None if rest else 0
    elif text.count(":") == 1:
        address, _, port_text = text.partition(":")
        address = address if is_ipv4(address) else None
        port = _port(port_text)
    else:
        address, port = _ipv6(text), 0
    if address is None or port is None:
        return None
    return address, port


def parse_prefix(text: str) -> tuple[str, bytes] | None:
    r"""Check an ``X-Forwarded-Prefix`` value; return it decoded (for ``path``) and raw.

    The prefix must be a path starting with ``/``: printable ASCII, percent-encoding allowed,
    no ``?``, ``#``, ``\\``, whitespace or control character, no empty, ``.`` or ``..``
    segment, and none of these after decoding either (``//host`` or ``/%2F/host`` would make
    the app's links point to another site, ``/a%3Fb`` would cut them short). One trailing
    ``/`` is dropped; ``/`` alone is the empty prefix.
    """
    if _PREFIX.fullmatch(text) is None:
        return None
    if text.endswith("/"):
        text = text[:-1]
    try:
        decoded = unquote(text, errors="strict")
    except UnicodeDecodeError:
        return None
    for form in (text, decoded):
        segments = form.split("/")[1:]
        if any(segment in {"", ".", ".."} for segment in segments):
            return None
    if not decoded.isprintable() or _DECODED_UNSAFE.search(decoded) is not None:
        return None
    return decoded, text.encode("ascii")
