"""Authentication backends: the protocol, Basic, Bearer and API keys.

Static secrets are compared in constant time (see ``_secrets.py``); what a backend does with a
request it cannot read is decided by the parsers in ``_parse.py``, which only ever raise the auth
errors, so malformed input is a 400 or a 401, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Literal, Protocol

from asgi_middleware._kit.config import require_header_value, require_strings, require_token
from asgi_middleware._kit.types import Scope
from asgi_middleware.auth._bearer import BearerScheme
from asgi_middleware.auth._challenge import challenge, require_realm, require_scope_token
from asgi_middleware.auth._models import (
    AuthCredentials,
    AuthenticationError,
    AuthResult,
    BaseUser,
)
from asgi_middleware.auth._parse import (
    B64TOKEN,
    MAX_CREDENTIALS,
    authorization,
    basic_credentials,
    cookie_value,
    query_value,
    single_header,
    split_scheme,
)
from asgi_middleware.auth._secrets import (
    MaybeAwaitable,
    Result,
    Secrets,
    UserPasswords,
    one_of,
    verified,
)

__all__ = ["APIKeyBackend", "AuthBackend", "BasicAuthBackend", "BearerTokenBackend"]

_DEFAULT_SCOPES = ("authenticated",)
_LOCATIONS = ("header", "query", "cookie")


class AuthBackend(Protocol):
    """What a backend implements: one async method, and optionally two more and an attribute.

    ``authenticate`` returns ``None`` when the connection carries no credentials of its kind (the
    next backend in the chain is asked), an ``(AuthCredentials, user)`` pair for valid ones, or
    raises [`AuthenticationError`][asgi_middleware.auth.AuthenticationError] (401; the next
    backends are still asked, and the request is refused if none accepts),
    [`PermissionDeniedError`][asgi_middleware.auth.PermissionDeniedError] (403) or
    [`InvalidRequestError`][asgi_middleware.auth.InvalidRequestError] (400), which decide at
    once.

    The middleware also uses these when a backend has them (the built-in ones do):

    - ``challenge``, a ``str`` attribute: the ``WWW-Authenticate`` value sent with a 401.
    - ``lookup(scope) -> (AuthCredentials, user) | None``, a plain (not async) method: a fast
      path the middleware calls on its first backend before anything else, so a connection it
      recognises is authenticated without awaiting. It answers as ``authenticate`` would, or
      returns ``None`` to leave the decision to ``authenticate`` (credentials it cannot settle
      without I/O, or none at all); it raises the same errors, with the same effect. The
      benchmark row ``auth-bearer-static`` is this path.
    - ``insufficient_scope(scopes) -> str``: the ``WWW-Authenticate`` value of a 403 for a
      connection this backend authenticated that lacks ``scopes`` (the middleware's
      ``required_scopes``, or those of [`requires`][asgi_middleware.auth.requires]), as RFC 6750
      §3.1 asks of bearer tokens; without it such a 403 has no challenge.

    Added in version 0.1.0.
    """

    async def authenticate(self, scope: Scope) -> tuple[AuthCredentials, BaseUser] | None:
        """Authenticate the connection described by ``scope`` (read it, never change it)."""


def _scopes(value: object) -> tuple[str, ...]:
    return require_strings("scopes", value, require_scope_token)


def _require_b64token(option: str, token: str) -> str:
    if not token.isascii() or B64TOKEN.fullmatch(token.encode()) is None:
        msg = f"{option} must be an RFC 6750 b64token (letters, digits, -._~+/, trailing =)"
        raise ValueError(msg)
    return token


def _require_key(option: str, key: str) -> str:
    # A key that cannot arrive in a header value could never match: refuse it at start-up.
    if not key or not key.isprintable() or not key.isascii() or key != key.strip():
        msg = f"{option} must be non-empty visible ASCII without surrounding spaces"
        raise ValueError(msg)
    return key


class BearerTokenBackend(BearerScheme):
    """Bearer tokens (RFC 6750) from the ``Authorization`` header.

    A request without ``Authorization: Bearer ...`` is not this backend's (the chain goes on); a
    malformed or unknown token is a 401 whose challenge says ``error="invalid_token"`` (RFC 6750
    §3.1). Tokens are never read from the query string or a form body (RFC 6750 §2.2-2.3: they
    leak into logs and caches).

    Args:
        tokens: Accepted tokens: a list (each gets ``scopes`` and the user ``token-<index>``, so
            logs never show a token), or a mapping from token to a user name (the user gets
            ``scopes``) or to an ``(AuthCredentials, user)`` pair. Compared in constant time.
        verify: Instead of ``tokens``: ``verify(token)``, sync or async, returning a
            ``(credentials, user)`` pair, or ``None`` for an invalid token.
        scopes: Scopes granted to every token of a ``tokens`` list and to every token mapped
            to a user name.
        realm: The ``realm`` of the ``WWW-Authenticate`` challenge.

    Example:
        ```python
        BearerTokenBackend(tokens={os.environ["CI_TOKEN"]: "ci"}, scopes=["items:read"])
        ```

    Added in version 0.1.0.
    """

    __slots__ = ("_check",)

    def __init__(
        self,
        *,
        tokens: Sequence[str] | Mapping[str, str | Result] | None = None,
        verify: Callable[[str], MaybeAwaitable] | None = None,
        scopes: Sequence[str] = _DEFAULT_SCOPES,
        realm: str = "api",
    ) -> None:
        super().__init__(realm)
        granted = _scopes(scopes)
        verify = one_of("tokens", tokens, verify)
        self._check: Secrets | Callable[[str], MaybeAwaitable] = (
            Secrets("tokens", tokens, granted, label="token", check=_require_b64token)
            if verify is None
            else verify
        )

    def lookup(self, scope: Scope) -> AuthResult | None:
        """Return the result for a known static token sent as ``Bearer <token>``, else ``None``.

        The middleware calls this synchronous fast path first; ``None`` (no or another token,
        other spelling, ``verify`` configured) leaves the decision to :meth:`authenticate`.

        Raises:
            InvalidRequestError: ``Authorization`` is repeated.
        """
        secrets = self._check
        if not isinstance(secrets, Secrets):
            return None
        value = authorization(scope)
        if value is None or not value.startswith(b"Bearer "):
            return None
        return secrets.lookup(value[7:])

    async def authenticate(self, scope: Scope) -> tuple[AuthCredentials, BaseUser] | None:
        """Authenticate a bearer token; see the class docstring."""
        token = self.bearer_token(scope)
        if token is None:
            return None
        check = self._check
        if isinstance(check, Secrets):
            result = check.lookup(token)
        else:
            result = await verified(check, token.decode("ascii"))
        if result is None:
            raise self.invalid_token()
        return result


class BasicAuthBackend:
    """HTTP Basic authentication (RFC 7617).

    The challenge is ``Basic realm="...", charset="UTF-8"``, so browsers send UTF-8 (RFC 7617
    §2.1). Bad base64, bytes that are not UTF-8 or a missing colon are a 401, like a wrong
    password. Send Basic credentials only over HTTPS: they are a reversible encoding.

    Args:
        users: A mapping of username to password. Every request compares the presented name and
            password against every entry, both parts always, in constant time; for many users or
            hashed passwords, use ``verify``.
        verify: Instead of ``users``: ``verify(username, password)``, sync or async, returning a
            ``(credentials, user)`` pair or ``None``. Use a constant-time password hash check.
        scopes: Scopes granted to every user of ``users``.
        realm: The ``realm`` of the challenge, which browsers show in their login dialog.

    Example:
        ```python
        BasicAuthBackend(users={"admin": os.environ["ADMIN_PASSWORD"]}, realm="admin")
        ```

    Added in version 0.1.0.
    """

    __slots__ = ("_check", "challenge")

    def __init__(
        self,
        *,
        users: Mapping[str, str] | None = None,
        verify: Callable[[str, str], MaybeAwaitable] | None = None,
        scopes: Sequence[str] = _DEFAULT_SCOPES,
        realm: str = "api",
    ) -> None:
        self.challenge = challenge(
            "Basic", ("realm", require_realm("realm", realm)), ("charset", "UTF-8")
        )
        granted = _scopes(scopes)
        verify = one_of("users", users, verify)
        self._check: UserPasswords | Callable[[str, str], MaybeAwaitable] = (
            UserPasswords("users", users, granted) if verify is None else verify
        )

    async def authenticate(self, scope: Scope) -> tuple[AuthCredentials, BaseUser] | None:
        """Authenticate Basic credentials; see the class docstring."""
        value = authorization(scope)
        if value is None:
            return None
        scheme, token = split_scheme(value)
        if scheme != b"basic":
            return None
        username, password = basic_credentials(token)
        check = self._check
        if isinstance(check, UserPasswords):
            result = check.lookup(username, password)
        else:
            result = await verified(check, username, password)
        if result is None:
            raise AuthenticationError
        return result


class APIKeyBackend:
    """API keys from a header, a query parameter or a cookie.

    A request without the key is not this backend's (the chain goes on); an empty, oversized or
    unknown key is a 401, a repeated header or parameter a 400. There is no registered
    authentication scheme for API keys, so the challenge is ``APIKey realm="...", in="header",
    name="X-API-Key"``: well-formed (RFC 9110 §11.6.1) and it tells a client where the key goes.

    Args:
        keys: Accepted keys: a list (each gets ``scopes`` and the user ``key-<index>``), or a
            mapping from key to a user name (the user gets ``scopes``) or to an
            ``(AuthCredentials, user)`` pair. Compared in constant time.
        verify: Instead of ``keys``: ``verify(key)``, sync or async, returning a
            ``(credentials, user)`` pair or ``None``.
        name: The header, query parameter or cookie name; header names match in any case.
        location: ``"header"``, ``"query"`` or ``"cookie"``. Keys in a query string end up in
            access logs and browser history: prefer a header.
        scopes: Scopes granted to every key of a ``keys`` list and to every key mapped to a
            user name.
        realm: The ``realm`` of the challenge.

    Example:
        ```python
        APIKeyBackend(keys=[os.environ["PARTNER_KEY"]], name="X-API-Key")
        ```

    Added in version 0.1.0.
    """

    __slots__ = ("_check", "_location", "_name", "challenge")

    def __init__(
        self,
        *,
        keys: Sequence[str] | Mapping[str, str | Result] | None = None,
        verify: Callable[[str], MaybeAwaitable] | None = None,
        name: str = "X-API-Key",
        location: Literal["header", "query", "cookie"] = "header",
        scopes: Sequence[str] = _DEFAULT_SCOPES,
        realm: str = "api",
    ) -> None:
        if location not in _LOCATIONS:
            msg = f'location must be "header", "query" or "cookie", got {location!r}'
            raise ValueError(msg)
        self._location = location
        token = require_token("name", name)
        self._name = (token.lower() if location == "header" else token).encode("ascii")
        params = (("realm", require_realm("realm", realm)), ("in", location), ("name", name))
        self.challenge = require_header_value("challenge", challenge("APIKey", *params))
        granted = _scopes(scopes)
        verify = one_of("keys", keys, verify)
        self._check: Secrets | Callable[[str], MaybeAwaitable] = (
            Secrets("keys", keys, granted, label="key", check=_require_key)
            if verify is None
            else verify
        )

    def _key(self, scope: Scope) -> bytes | None:
        if self._location == "header":
            return single_header(scope, self._name, "Repeated API key header")
        if self._location == "query":
            return query_value(scope.get("query_string", b""), self._name)
        return cookie_value(scope, self._name)

    async def authenticate(self, scope: Scope) -> tuple[AuthCredentials, BaseUser] | None:
        """Authenticate an API key; see the class docstring."""
        key = self._key(scope)
        if key is None:
            return None
        key = key.strip(b" \t")
        if not key or len(key) > MAX_CREDENTIALS:
            raise AuthenticationError
        check = self._check
        if isinstance(check, Secrets):
            result = check.lookup(key)
        else:
            # latin-1 maps every byte, so a key with odd bytes reaches verify and fails there.
            result = await verified(check, key.decode("latin-1"))
        if result is None:
            raise AuthenticationError
        return result
