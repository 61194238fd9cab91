"""Authentication: ``AuthenticationMiddleware``, its backends and ``requires`` (SPEC §8).

``scope["user"]`` and ``scope["auth"]`` follow Starlette's interface, so ``request.user``,
``request.auth`` and ``@requires`` work unchanged in Starlette and FastAPI apps; our ``requires``
refuses with the middleware's challenges.
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
from asgi_middleware.auth._requires import requires
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
    "requires",
]
