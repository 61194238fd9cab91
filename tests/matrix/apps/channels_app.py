"""Django Channels: its ``ProtocolTypeRouter`` wrapped with ``compose``, a WebSocket consumer."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer  # type: ignore[import-untyped]
from channels.routing import ProtocolTypeRouter, URLRouter  # type: ignore[import-untyped]
from django.urls import path  # type: ignore[import-untyped]

from asgi_middleware import Scope, compose
from tests.matrix.apps.django_app import django_asgi, django_route
from tests.matrix.stack import layers, path_route, with_metrics_endpoint


class Echo(AsyncWebsocketConsumer):  # type: ignore[misc]
    """Echo text frames; the stack has authenticated the handshake already."""

    async def receive(self, text_data: str | None = None, bytes_data: Any = None) -> None:
        """Send the text back (the matrix sends text only)."""
        del bytes_data
        await self.send(text_data=text_data or "")


def channels_route(scope: Scope) -> str | None:
    """Django's pattern for HTTP requests, the WebSocket path for sessions."""
    if scope["type"] == "websocket":
        return path_route(scope)
    return django_route(scope)


router = ProtocolTypeRouter(
    {"http": django_asgi, "websocket": URLRouter([path("ws", Echo.as_asgi())])}
)
app = compose(with_metrics_endpoint(router), *layers(route=channels_route))
