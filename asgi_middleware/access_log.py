"""Access log (placeholder until issue 5 lands)."""

from __future__ import annotations

from asgi_middleware._types import ASGIApp, Receive, Scope, Send


class AccessLogMiddleware:
    """Placeholder: lands with issue 5."""

    __slots__ = ("app",)

    def __init__(self, app: ASGIApp, **options: object) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
