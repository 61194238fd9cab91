"""Response compression (placeholder until issue 4 lands)."""

from __future__ import annotations

from asgi_middleware._types import ASGIApp, Receive, Scope, Send


class CompressionMiddleware:
    """Placeholder: lands with issue 4."""

    __slots__ = ("app",)

    def __init__(self, app: ASGIApp, **options: object) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class GZipMiddleware:
    """Placeholder: lands with issue 4."""

    __slots__ = ("app",)

    def __init__(self, app: ASGIApp, **options: object) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
