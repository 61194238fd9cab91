"""Django Channels: its `ProtocolTypeRouter` wrapped with `compose`, for HTTP and WebSockets.

The HTTP side is the Django app of guide_django.py. Try
`uvicorn guide_django_channels:app --app-dir docs/examples --lifespan off` and open
`ws://127.0.0.1:8000/ws` with `Authorization: Bearer change-me`.
"""

from __future__ import annotations

from channels.generic.websocket import AsyncWebsocketConsumer  # type: ignore[import-untyped]
from channels.routing import ProtocolTypeRouter, URLRouter  # type: ignore[import-untyped]
from django.urls import path  # type: ignore[import-untyped]
from guide_django import ORIGIN, TOKEN, django_asgi

from asgi_middleware import (
    AuthenticationMiddleware,
    BearerTokenBackend,
    CORSMiddleware,
    Layer,
    RequestIDMiddleware,
    compose,
)


# --8<-- [start:consumer]
class Hello(AsyncWebsocketConsumer):  # type: ignore[misc]
    """Greet the user the authentication layer found, then echo text frames."""

    async def connect(self) -> None:
        """Accept the handshake (the stack has checked the origin and the token)."""
        await self.accept()
        user = self.scope["user"]  # ours: is_authenticated, display_name, identity
        await self.send(text_data=f"hello {user.display_name}")

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Send the text back (text frames only)."""
        del bytes_data
        await self.send(text_data=text_data or "")


# --8<-- [end:consumer]

# --8<-- [start:router]
router = ProtocolTypeRouter(
    {
        "http": django_asgi,
        "websocket": URLRouter([path("ws", Hello.as_asgi())]),
    }
)

# The layers wrap the router: HTTP requests and WebSocket handshakes alike.
# No AuthMiddlewareStack inside AuthenticationMiddleware: see the guide.
application = compose(
    router,
    Layer(
        CORSMiddleware,
        allow_origins=[ORIGIN],
        allow_headers=["Authorization"],
        expose_headers=["X-Request-ID"],
        websocket_origins=[ORIGIN],
    ),
    Layer(RequestIDMiddleware),
    Layer(
        AuthenticationMiddleware,
        backend=BearerTokenBackend(tokens=[TOKEN]),
        exclude_paths=["/boom"],
    ),
)
# --8<-- [end:router]
app = application
