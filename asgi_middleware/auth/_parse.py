"""Parsers for credentials in requests: ``Authorization``, query strings and cookies.

Everything here takes client bytes and either returns a value or raises one of the auth errors;
nothing else can escape, so malformed input is a 400 or 401 and never a 500 (SPEC §2.10, §8).
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import unquote_to_bytes

from asgi_middleware._kit.headers import REPEATED, get_all, get_single
from asgi_middleware._kit.types import Scope
from asgi_middleware.auth._models import AuthenticationError, InvalidRequestError

__all__ = [
    "MAX_CREDENTIALS",
    "authorization",
    "basic_credentials",
    "cookie_value",
    "query_value",
    "single_header",
    "split_scheme",
]

#: Longest ``Authorization`` value (or API key) accepted, in bytes. Real tokens, even JWTs with
#: many claims, stay well below; anything longer is refused before any decoding work.
MAX_CREDENTIALS = 8192

_AUTHORIZATION = b"authorization"

# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
B64TOKEN = re.compile(rb"[A-Za-z0-9\-._~+/]+=*")


def single_header(scope: Scope, name: bytes, detail: str) -> bytes | None:
    """Return the one value of request header ``name`` (lower case), or ``None`` if absent.

    Raises:
        InvalidRequestError: The header is repeated, with ``detail`` as the reason.
    """
    found = get_single(scope.get("headers", ()), name)
    if found is REPEATED:
        raise InvalidRequestError(detail)
    return found


def authorization(scope: Scope) -> bytes | None:
    """Return the one ``Authorization`` value of the request, or ``None`` if there is none.

    Raises:
        InvalidRequestError: The header is repeated. RFC 9110 §5.3 allows repeating only list
            fields, and ``Authorization`` is not one; RFC 6750 §3.1 calls a request that repeats a
            parameter or uses more than one method ``invalid_request``, a 400.
        AuthenticationError: The value is longer than :data:`MAX_CREDENTIALS`.
    """
    found = get_single(scope.get("headers", ()), _AUTHORIZATION)
    if found is REPEATED:
        detail = "Repeated Authorization header"
        raise InvalidRequestError(detail)
    if found is not None and len(found) > MAX_CREDENTIALS:
        raise AuthenticationError
    return found


def split_scheme(value: bytes) -> tuple[bytes, bytes]:
    """Split ``Authorization`` into the lower-cased scheme and the stripped credentials.

    The scheme is case-insensitive (RFC 9110 §11.1); one or more spaces separate it from the
    credentials.
    """
    scheme, _, rest = value.strip(b" \t").partition(b" ")
    return scheme.lower(), rest.strip(b" \t")


def basic_credentials(token: bytes) -> tuple[str, str]:
    """Decode RFC 7617 ``user-id:password`` credentials (UTF-8, as our challenge announces).

    Raises:
        AuthenticationError: Bad base64, bytes that are not UTF-8, or no colon.
    """
    try:
        decoded = base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as error:  # UnicodeDecodeError is a ValueError
        raise AuthenticationError from error
    username, colon, password = decoded.partition(":")
    if not colon:
        raise AuthenticationError
    return username, password


def query_value(query_string: bytes, name: bytes) -> bytes | None:
    """Return the percent-decoded value of parameter ``name`` in a query string, or ``None``.

    Raises:
        InvalidRequestError: The parameter is repeated (which value would be meant is unclear).
    """
    found: bytes | None = None
    for pair in query_string.split(b"&"):
        key, _, value = pair.partition(b"=")
        if unquote_to_bytes(key.replace(b"+", b" ")) == name:
            if found is not None:
                detail = "Repeated API key parameter"
                raise InvalidRequestError(detail)
            found = unquote_to_bytes(value.replace(b"+", b" "))
    return found


def cookie_value(scope: Scope, name: bytes) -> bytes | None:
    """Return the first value of cookie ``name`` from every ``Cookie`` header, or ``None``.

    HTTP/2 and HTTP/3 clients may send several ``Cookie`` fields (RFC 9113 §8.2.3). A cookie
    sent twice (two paths) is taken in the order the browser sent it, most specific path first
    (RFC 6265 §5.4), as frameworks do.
    """
    for value in get_all(scope.get("headers", ()), b"cookie"):
        for item in value.split(b";"):
            cookie_name, _, cookie = item.partition(b"=")
            if cookie_name.strip(b" \t") == name:
                found: bytes = cookie.strip(b" \t")
                return found
    return None
