"""Channels' ``AuthMiddlewareStack`` with our ``AuthenticationMiddleware``, for real servers.

Served by ``tests/live/test_channels_auth_live.py`` under daphne and uvicorn:

* ``unsupported``: ``AuthMiddlewareStack`` inside our ``AuthenticationMiddleware`` on the
  websocket branch, which our user objects refuse with a ``TypeError``.
* ``coexisting``: the documented split, our authentication around the HTTP branch only and
  ``AuthMiddlewareStack`` on the websocket branch, the whole router wrapped with ``compose``.

Channels' ``get_user`` reads the session from the database; it is replaced below with one that
returns Django's ``AnonymousUser``, so no database is needed: what is tested is how Channels'
``AuthMiddleware`` meets the ``scope["user"]`` already set by ours.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import django  # type: ignore[import-untyped]
from django.conf import settings  # type: ignore[import-untyped]

if not settings.configured:
    settings.configure(
        ROOT_URLCONF=ModuleType("channels_auth_urls"),
        ALLOWED_HOSTS=["*"],
        SECRET_KEY="live-tests-only",  # noqa: S106 - never deployed
        MIDDLEWARE=[],
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
        ],
    )
    django.setup()

from channels import auth as channels_auth  # type: ignore[import-untyped]
from channels.auth import AuthMiddlewareStack  # type: ignore[import-untyped]
from channels.generic.websocket import AsyncWebsocketConsumer  # type: ignore[import-untyped]
from channels.routing import ProtocolTypeRouter, URLRouter  # type: ignore[import-untyped]
from django.contrib.auth.models import AnonymousUser  # type: ignore[import-untyped]
from django.urls import path  # type: ignore[import-untyped]

from asgi_middleware import (
    AuthenticationMiddleware,
    BearerTokenBackend,
    Layer,
    Receive,
    RequestIDMiddleware,
    Scope,
    Send,
    compose,
)
from tests.support.asgi import respond

TOKEN = "live-token"  # noqa: S105 - a test token


async def _anonymous(scope: Any) -> Any:
    """Channels' ``get_user`` without the session database: nobody is logged in."""
    del scope
    return AnonymousUser()


channels_auth.get_user = _anonymous


class Who(AsyncWebsocketConsumer):  # type: ignore[misc]
    """Accept, then say which user object the consumer sees."""

    async def connect(self) -> None:
        """Accept; send the user's type, the class it stands for, and ``is_authenticated``."""
        await self.accept()
        user = self.scope["user"]  # Channels' lazy object: __class__ is the wrapped user's
        text = f"{type(user).__name__} {user.__class__.__name__} {user.is_authenticated}"
        await self.send(text_data=text)


async def http_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer HTTP requests with the user's identity."""
    del receive
    await respond(send, f"hello {scope['user'].identity}".encode())


def _backend() -> BearerTokenBackend:
    return BearerTokenBackend(tokens=[TOKEN])


websocket_app = AuthMiddlewareStack(URLRouter([path("ws", Who.as_asgi())]))

# Unsupported: our authentication around the whole router, so around AuthMiddlewareStack too.
unsupported = compose(
    ProtocolTypeRouter({"http": http_app, "websocket": websocket_app}),
    Layer(RequestIDMiddleware),
    Layer(AuthenticationMiddleware, backend=_backend()),
)

# Documented: one authority per connection; ours for HTTP, Channels' for WebSockets.
coexisting = compose(
    ProtocolTypeRouter(
        {
            "http": AuthenticationMiddleware(http_app, backend=_backend()),
            "websocket": websocket_app,
        }
    ),
    Layer(RequestIDMiddleware),
)
