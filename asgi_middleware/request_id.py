"""Request IDs (placeholder until issue 5 lands)."""

from __future__ import annotations

import logging

from asgi_middleware._types import ASGIApp, Receive, Scope, Send


class RequestIDMiddleware:
    """Placeholder: lands with issue 5."""

    __slots__ = ("app",)

    def __init__(self, app: ASGIApp, **options: object) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def get_request_id() -> str | None:
    """Return the current request's ID (placeholder)."""
    return None


class RequestIDLogFilter(logging.Filter):
    """Placeholder: lands with issue 5."""
