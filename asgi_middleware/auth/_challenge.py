"""``WWW-Authenticate`` challenges (RFC 9110 §11.6.1, RFC 7617 §2, RFC 6750 §3).

Backends build theirs once, in ``__init__``; the request path only picks a prebuilt string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from asgi_middleware._config import require_header_value

__all__ = ["challenge", "require_realm", "require_scope_token"]

# RFC 6750 §3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), no space, quote or backslash.
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


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
