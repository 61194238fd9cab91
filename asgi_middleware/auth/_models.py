"""Users, credentials and errors of the authentication middleware.

The shapes match Starlette's (``request.user.is_authenticated``, ``.display_name``, ``.identity``;
``request.auth.scopes``), so a Starlette or FastAPI app behind our middleware, and Starlette's
``@requires``, work unchanged, without this package importing Starlette.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol, runtime_checkable

__all__ = [
    "AuthCredentials",
    "AuthError",
    "AuthResult",
    "AuthenticationError",
    "BaseUser",
    "InvalidRequestError",
    "PermissionDeniedError",
    "SimpleUser",
    "UnauthenticatedUser",
]

_NO_CLAIMS: Mapping[str, Any] = MappingProxyType({})


_CHANNELS_AUTH = (
    "Channels' AuthMiddlewareStack sits inside AuthenticationMiddleware and tried to replace "
    "scope['user'] ({user!r}) with its session user. Use one authority per connection: put "
    "AuthMiddlewareStack on the websocket branch only (AuthenticationMiddleware around the http "
    "branch), or drop it and use AuthenticationMiddleware for both"
)


def _refuse_channels_user(user: object, _value: object) -> None:
    """The setter of ``_wrapped``: Channels' ``AuthMiddleware`` assigns it on ``scope["user"]``."""
    raise TypeError(_CHANNELS_AUTH.format(user=user))


# Channels' AuthMiddleware fills in its lazy user with ``scope["user"]._wrapped = ...``. On our
# users (``__slots__``) that was an AttributeError and a 500; this says what is wrong instead.
# Reading it is an AttributeError, as before: no attribute named ``_wrapped`` exists.
_CHANNELS_GUARD = property(None, _refuse_channels_user)


@runtime_checkable
class BaseUser(Protocol):
    """What ``scope["user"]`` offers: Starlette's ``BaseUser`` interface.

    Added in version 0.1.0.
    """

    @property
    def is_authenticated(self) -> bool:
        """Whether the connection presented valid credentials."""

    @property
    def display_name(self) -> str:
        """A name to show, such as the username."""

    @property
    def identity(self) -> str:
        """A stable identifier, such as the username or the token's subject."""


class SimpleUser:
    """An authenticated user.

    Args:
        username: The name the backend authenticated; ``display_name`` and ``identity`` too.
        claims: What the credentials said about the user (a JWT's claims, say), kept as a
            read-only copy (a ``MappingProxyType`` is kept as it is).

    Added in version 0.1.0.
    """

    __slots__ = ("claims", "username")

    def __init__(self, username: str, claims: Mapping[str, Any] | None = None) -> None:
        self.username = username
        if claims is None:
            claims = _NO_CLAIMS
        elif not isinstance(claims, MappingProxyType):
            claims = MappingProxyType(dict(claims))
        self.claims: Mapping[str, Any] = claims

    # A class attribute, not a property as in Starlette's BaseUser: read the same way, and
    # cheaper for apps that test it on every request (benchmark row stack-100b).
    is_authenticated = True
    """Always ``True``."""

    @property
    def display_name(self) -> str:
        """The username."""
        return self.username

    @property
    def identity(self) -> str:
        """The username."""
        return self.username

    _wrapped = _CHANNELS_GUARD

    def __repr__(self) -> str:
        return f"SimpleUser({self.username!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SimpleUser):
            return NotImplemented
        return (self.username, dict(self.claims)) == (other.username, dict(other.claims))

    def __hash__(self) -> int:
        return hash(self.username)


class UnauthenticatedUser:
    """The user of a connection without credentials (anonymous mode, excluded paths).

    Added in version 0.1.0.
    """

    __slots__ = ()

    is_authenticated = False
    """Always ``False`` (a class attribute, as on :class:`SimpleUser`)."""

    @property
    def display_name(self) -> str:
        """An empty string."""
        return ""

    @property
    def identity(self) -> str:
        """An empty string."""
        return ""

    _wrapped = _CHANNELS_GUARD

    def __repr__(self) -> str:
        return "UnauthenticatedUser()"


class AuthCredentials:
    """What an authenticated connection may do: ``scope["auth"]``, with ``.scopes``.

    Args:
        scopes: The granted scopes (permissions), checked by ``required_scopes`` and by
            Starlette's ``@requires``.

    Added in version 0.1.0.
    """

    __slots__ = ("scopes",)

    def __init__(self, scopes: Sequence[str] = ()) -> None:
        if isinstance(scopes, (str, bytes)):
            msg = f"scopes must be a list or tuple of str, got {scopes!r}"
            raise TypeError(msg)
        self.scopes: tuple[str, ...] = tuple(scopes)

    def __repr__(self) -> str:
        return f"AuthCredentials({list(self.scopes)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AuthCredentials):
            return NotImplemented
        return self.scopes == other.scopes

    def __hash__(self) -> int:
        return hash(self.scopes)


class AuthResult(NamedTuple):
    """What a backend returns for valid credentials: ``(credentials, user)``, as in Starlette.

    Added in version 0.1.0.
    """

    credentials: AuthCredentials
    user: BaseUser


class AuthError(Exception):
    """Base of the errors a backend raises to deny a connection.

    Args:
        detail: The public reason, sent in the response body. Never put why a secret failed here.
        challenge: A ``WWW-Authenticate`` challenge replacing the backend's usual one.

    Added in version 0.1.0.
    """

    status_code = 401

    def __init__(
        self, detail: str = "Invalid credentials", *, challenge: str | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.challenge = challenge


class AuthenticationError(AuthError):
    """Credentials were presented but are not valid: 401.

    Added in version 0.1.0.
    """


class PermissionDeniedError(AuthError):
    """Valid credentials without the rights the request needs: 403.

    Added in version 0.1.0.
    """

    status_code = 403

    def __init__(self, detail: str = "Insufficient scope", *, challenge: str | None = None) -> None:
        super().__init__(detail, challenge=challenge)


class InvalidRequestError(AuthError):
    """A malformed request, such as repeated ``Authorization`` headers: 400 (RFC 6750 §3.1).

    Added in version 0.1.0.
    """

    status_code = 400

    def __init__(
        self, detail: str = "Malformed credentials", *, challenge: str | None = None
    ) -> None:
        super().__init__(detail, challenge=challenge)
