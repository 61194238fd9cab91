"""A small, well-behaved middleware: the shape every middleware here follows (STYLE.md).

The conformance suite runs against it (through ``compose``) and the suite's own tests use it as the
control that must pass every check while deliberately broken variants fail them.
"""

from __future__ import annotations

import contextvars

from asgi_middleware import ASGIApp, Message, Receive, Scope, Send
from asgi_middleware._kit.headers import set_header

#: Set for the duration of each request, then reset with its token.
current_path: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "current_path", default=None
)

_HANDLED = frozenset({"http", "websocket"})


class ReferenceMiddleware:
    """Adds a header to HTTP responses and WebSocket accepts; everything else passes through."""

    __slots__ = ("_name", "app")

    def __init__(self, app: ASGIApp, *, header: str = "x-reference") -> None:
        self.app = app
        self._name = header.lower().encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one connection."""
        if scope["type"] not in _HANDLED:
            await self.app(scope, receive, send)
            return
        name = self._name

        async def send_wrapper(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                message = {**message, "headers": set_header(message.get("headers", ()), name, b"1")}
            await send(message)

        token = current_path.set(scope.get("path"))
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            current_path.reset(token)
