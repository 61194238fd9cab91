"""Field building for the access log: redaction of query strings and headers, safe text.

Everything here runs once per logged request, after the response, never on the hot path of a
message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from urllib.parse import unquote_plus

from asgi_middleware._types import RawHeaders

__all__ = [
    "DEFAULT_REDACT_HEADERS",
    "DEFAULT_REDACT_QUERY_PARAMS",
    "REDACTED",
    "client_text",
    "query_redactor",
    "redact_headers",
    "redact_query",
    "safe_text",
]

#: What a redacted value is replaced with.
REDACTED = "[redacted]"

#: Header names whose values are never logged (SPEC §6), lower case.
DEFAULT_REDACT_HEADERS = (
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-auth-token",
    "x-csrf-token",
)

#: Query parameter names whose values are never logged (SPEC §6), compared case-insensitively
#: after percent-decoding.
DEFAULT_REDACT_QUERY_PARAMS = (
    "access_token",
    "api_key",
    "apikey",
    "auth",
    "client_secret",
    "code",
    "id_token",
    "jwt",
    "key",
    "passwd",
    "password",
    "pwd",
    "refresh_token",
    "secret",
    "session",
    "sessionid",
    "sig",
    "signature",
    "token",
    "x-amz-credential",
    "x-amz-security-token",
    "x-amz-signature",
)


def safe_text(value: str) -> str:
    """Return ``value`` with control and other non-printable characters escaped.

    A path is percent-decoded by the server, so ``/a%0Ab`` arrives with a real newline: written
    as is by a console renderer, it would forge a log line.
    """
    if value.isprintable():
        return value
    return value.encode("unicode_escape").decode("ascii")


def redact_query(query: bytes, names: Collection[str]) -> str:
    """Return the query string as text with the values of parameters in ``names`` redacted.

    ``names`` are lower case; a parameter name is compared after percent-decoding, so
    ``?Pass%77ord=x`` is caught too. Order and every other byte are kept.
    """
    text = query.decode("latin-1")
    if not names:
        return safe_text(text)
    parts = text.split("&")
    changed = False
    for index, part in enumerate(parts):
        name, equals, _ = part.partition("=")
        if not equals:
            continue
        key = name.lower()
        if "%" in key or "+" in key:  # only then can decoding change the name
            key = unquote_plus(key).lower()
        if key.strip() in names:
            parts[index] = f"{name}={REDACTED}"
            changed = True
    return safe_text("&".join(parts) if changed else text)


def query_redactor(names: Collection[str]) -> Callable[[bytes], str]:
    """Return a function like :func:`redact_query` for ``names``, with a fast path.

    Most query strings hold no sensitive name: one precompiled search proves that, and the
    per-parameter work runs only for the others (or when ``%``, ``+`` or a space could hide a
    name from the search).
    """
    if not names:
        return lambda query: safe_text(query.decode("latin-1"))
    alternatives = "|".join(re.escape(name) for name in sorted(names))
    search = re.compile(rf"(?:^|&)(?:{alternatives})=", re.IGNORECASE).search
    hiding = re.compile(r"[%+ ]").search

    def redact(query: bytes) -> str:
        text = query.decode("latin-1")
        if search(text) is None and hiding(text) is None:
            return safe_text(text)
        return redact_query(query, names)

    return redact


def redact_headers(headers: RawHeaders, names: Collection[bytes]) -> dict[str, str]:
    """Return the headers as a dict of text, values of ``names`` (lower case) redacted.

    Repeated headers are joined with ``", "`` (a redacted one stays one ``REDACTED``).
    """
    result: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name = bytes(raw_name).lower()
        value = REDACTED if name in names else safe_text(bytes(raw_value).decode("latin-1"))
        key = safe_text(name.decode("latin-1"))
        if key in result:
            if value != REDACTED:
                result[key] = f"{result[key]}, {value}"
        else:
            result[key] = value
    return result


def client_text(client: object) -> str | None:
    """Return the ASGI ``client`` pair as ``host:port`` (``[v6]:port``), or ``None``."""
    if not isinstance(client, (list, tuple)) or len(client) != 2:  # noqa: PLR2004 - a pair
        return None
    host, port = client
    host = safe_text(str(host))
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
