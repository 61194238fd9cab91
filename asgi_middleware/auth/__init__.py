"""Authentication: ``AuthenticationMiddleware`` and its backends (SPEC §8).

``scope["user"]`` and ``scope["auth"]`` follow Starlette's interface, so ``request.user``,
``request.auth`` and ``@requires`` work unchanged in Starlette and FastAPI apps.
"""

from __future__ import annotations

from asgi_middleware.auth._models import (
    AuthCredentials,
    AuthenticationError,
    AuthError,
    AuthResult,
    BaseUser,
    InvalidRequestError,
    PermissionDeniedError,
    SimpleUser,
    UnauthenticatedUser,
)
from asgi_middleware.auth.backends import (
    APIKeyBackend,
    AuthBackend,
    BasicAuthBackend,
    BearerTokenBackend,
)
from asgi_middleware.auth.jwt import JWTBackend
from asgi_middleware.auth.middleware import AuthenticationMiddleware

__all__ = [
    "APIKeyBackend",
    "AuthBackend",
    "AuthCredentials",
    "AuthError",
    "AuthResult",
    "AuthenticationError",
    "AuthenticationMiddleware",
    "BaseUser",
    "BasicAuthBackend",
    "BearerTokenBackend",
    "InvalidRequestError",
    "JWTBackend",
    "PermissionDeniedError",
    "SimpleUser",
    "UnauthenticatedUser",
]
