"""Reading ``Authorization: Bearer`` and the RFC 6750 challenges, for the two bearer backends.

``BearerTokenBackend`` and ``JWTBackend`` both derive from :class:`BearerScheme`; it lives here,
not in either public module, so neither imports the other's private names.
"""

from __future__ import annotations

from collections.abc import Sequence

from asgi_middleware._kit.types import Scope
from asgi_middleware.auth._challenge import challenge, require_realm
from asgi_middleware.auth._models import AuthenticationError
from asgi_middleware.auth._parse import B64TOKEN, authorization, split_scheme

__all__ = ["BearerScheme"]


class BearerScheme:
    """The ``Bearer`` scheme: its challenges, its errors and reading its token."""

    __slots__ = ("_invalid", "_realm", "challenge")

    def __init__(self, realm: str) -> None:
        self._realm = require_realm("realm", realm)
        self.challenge = challenge("Bearer", ("realm", self._realm))
        self._invalid = challenge("Bearer", ("realm", self._realm), ("error", "invalid_token"))

    def insufficient_scope(self, scopes: Sequence[str]) -> str:
        """Return the 403 challenge naming the ``scopes`` needed (RFC 6750 §3.1)."""
        extra = [("scope", " ".join(scopes))] if scopes else []
        params = (("realm", self._realm), ("error", "insufficient_scope"))
        return challenge("Bearer", *params, extra=extra)

    def invalid_token(self) -> AuthenticationError:
        """The error for a token that was presented but is not valid."""
        return AuthenticationError(challenge=self._invalid)

    def bearer_token(self, scope: Scope, *, check: bool = True) -> bytes | None:
        """Return the request's bearer token, or ``None`` without ``Authorization: Bearer``.

        ``check=False`` skips the ``b64token`` syntax check, for a caller whose parser checks
        the token's characters itself (PyJWT does).
        """
        value = authorization(scope)
        if value is None:
            return None
        if value.startswith(b"Bearer "):  # the spelling of RFC 6750 §2.1: no split needed
            token = value[7:].strip(b" \t")
        else:
            scheme, token = split_scheme(value)
            if scheme != b"bearer":
                return None
        if not token or (check and B64TOKEN.fullmatch(token) is None):
            raise self.invalid_token()
        return token
