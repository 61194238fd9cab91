"""Authentication (placeholder until issue 6 lands)."""

from __future__ import annotations

from asgi_middleware._types import ASGIApp, Receive, Scope, Send


class AuthenticationMiddleware:
    """Placeholder: lands with issue 6."""

    __slots__ = ("app",)

    def __init__(self, app: ASGIApp, **options: object) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class BasicAuthBackend:
    """Placeholder: lands with issue 6."""

    def __init__(self, **options: object) -> None:
        del options


class BearerTokenBackend(BasicAuthBackend):
    """Placeholder: lands with issue 6."""


class APIKeyBackend(BasicAuthBackend):
    """Placeholder: lands with issue 6."""


class JWTBackend(BasicAuthBackend):
    """Placeholder: lands with issue 6."""
