"""CORS-specific origin handling, for ``CORSMiddleware``.

Configured origins are parsed by the kit (``_kit.origins``) once, at construction, into what the
request path needs: a frozenset of exact serialised origins (``bytes``) and, for the subdomain
wildcards only CORS offers, a regex over bytes. The request path compares bytes, never parses.
Besides: the origin regex and callable options.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from asgi_middleware._kit.config import option_error, require_sync_callable
from asgi_middleware._kit.origins import LABEL, NULL_ORIGIN, require_origin

__all__ = [
    "WILDCARD",
    "OriginCheck",
    "build_matcher",
    "parse_token_list",
    "require_origin_check",
    "require_origin_regex",
    "split_origins",
]

WILDCARD = "*"

OriginCheck = Callable[[str], bool]

_NULL = NULL_ORIGIN.encode("ascii")
# RFC 9110 §5.6.2 token characters, lower case only (callers lower-case first).
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9a-z]+")


def split_origins(option: str, origins: Iterable[str]) -> tuple[bool, frozenset[bytes], list[str]]:
    """Parse configured origins into ``(allow_all, exact origins, wildcard origins)``.

    Each origin but ``"*"`` is normalised by the kit's parser, which also accepts a leading
    ``*.`` label (``https://*.example.com``) and suggests ``allow_origin_regex`` for a value that
    looks like a regular expression.
    """
    allow_all = False
    exact: set[bytes] = set()
    wildcards: list[str] = []
    for index, origin in enumerate(origins):
        if origin == WILDCARD:
            allow_all = True
            continue
        parsed = require_origin(
            f"{option}[{index}]", origin, wildcard=True, regex_option="allow_origin_regex"
        )
        if "://*." in parsed:
            wildcards.append(parsed)
        else:
            exact.add(parsed.encode("ascii"))
    return allow_all, frozenset(exact), wildcards


def _wildcard_pattern(origin: str) -> str:
    scheme, _, rest = origin.partition("://*.")
    # One or more whole labels, then the literal suffix: never a port, path or second host.
    return rf"{re.escape(scheme)}://(?:{LABEL}\.)+{re.escape(rest)}"


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
        if origin == _NULL:
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
        raise option_error(TypeError, option, "a str or a compiled str pattern", value)
    try:
        return re.compile(value)
    except re.error as error:
        rule = f"a valid regular expression ({error})"
        raise option_error(ValueError, option, rule, value) from None


def require_origin_check(option: str, value: OriginCheck | None) -> OriginCheck | None:
    """Return a synchronous ``(origin: str) -> bool`` callable, or ``None``."""
    if value is None:
        return None
    return require_sync_callable(option, value)


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
