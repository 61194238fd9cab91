"""``WWW-Authenticate`` challenges (RFC 9110 §11.6.1, RFC 7617 §2, RFC 6750 §3).

Backends build theirs once, in ``__init__``; the request path only picks a prebuilt string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from asgi_middleware._kit.config import require_header_value

__all__ = ["challenge", "distinct", "require_realm", "require_scope_token"]

# RFC 6750 §3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), no space, quote or backslash.
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
# The realm parameter of a challenge (RFC 9110 §11.5), quoted or a token; names are caseless.
_REALM = re.compile(r'(?:^|[\s,])realm\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)', re.IGNORECASE)


def require_realm(option: str, value: object) -> str:
    """Return ``value`` if it can stand in a quoted ``realm`` parameter."""
    realm = require_header_value(option, value)
    if '"' in realm or "\\" in realm or not realm:
        msg = f"{option} must be a non-empty str without quotes or backslashes, got {value!r}"
        raise ValueError(msg)
    return realm


def require_scope_token(option: str, value: str) -> str:
    """Return ``value`` if it is an RFC 6750 scope token, so it can go into a challenge."""
    if _SCOPE_TOKEN.fullmatch(value) is None:
        rule = "a scope token (visible ASCII but space, quote, backslash)"
        msg = f"{option} must be {rule}, got {value!r}"
        raise ValueError(msg)
    return value


def challenge(
    scheme: str,
    realm: tuple[str, str],
    *params: tuple[str, str],
    extra: Iterable[tuple[str, str]] = (),
) -> str:
    """Build ``scheme realm="...", name="value", ...``; values must already be safe to quote."""
    pairs = [realm, *params, *extra]
    return scheme + " " + ", ".join(f'{name}="{value}"' for name, value in pairs)


def _scheme_and_realm(value: str) -> tuple[str, str | None]:
    scheme, _, params = value.partition(" ")
    found = _REALM.search(params)
    return scheme.lower(), None if found is None else found[1].strip('"')


def distinct(challenges: Iterable[tuple[str, bool]]) -> list[str]:
    """Keep one challenge per scheme and realm, in first-seen order.

    Each item is ``(challenge, is_error)``. Two backends of one scheme and realm (static bearer
    tokens and JWTs, say) ask the client for the same thing, so one line says it (RFC 9110
    §11.6.1); an error challenge (``error="invalid_token"``) wins over its plain form.
    """
    chosen: dict[tuple[str, str | None], tuple[str, bool]] = {}
    for value, is_error in challenges:
        key = _scheme_and_realm(value)
        if key not in chosen or (is_error and not chosen[key][1]):
            chosen[key] = (value, is_error)
    return [value for value, _ in chosen.values()]
