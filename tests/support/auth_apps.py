"""Starlette apps behind AuthenticationMiddleware, for the in-process and the real-server tests.

``starlette_wrapped()`` is a Starlette app (``/me``, ``/admin`` and the WebSocket ``/ws``) wrapped
whole in the middleware with a bearer backend of two tokens: ``reader-token`` (scope ``read``,
user ``reader``) and ``admin-token`` (scopes ``read`` and ``admin``, user ``root``).
"""

from __future__ import annotations

import base64
from typing import Any

from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from asgi_middleware import ASGIApp
from asgi_middleware.auth import (
    AuthCredentials,
    AuthenticationMiddleware,
    AuthResult,
    BearerTokenBackend,
    SimpleUser,
)

__all__ = ["ROUTES", "TOKENS", "auth", "backend", "basic", "starlette_wrapped"]

TOKENS = {
    "reader-token": AuthResult(AuthCredentials(["read"]), SimpleUser("reader")),
    "admin-token": AuthResult(AuthCredentials(["read", "admin"]), SimpleUser("root")),
}


def backend() -> BearerTokenBackend:
    """A bearer backend with a reader and an admin token."""
    return BearerTokenBackend(tokens=TOKENS)


def auth(token: str) -> dict[str, str]:
    """Request headers carrying a bearer token."""
    return {"Authorization": f"Bearer {token}"}


def basic(user: str, password: str) -> dict[str, str]:
    """An Authorization header for Basic credentials."""
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


async def me(request: Request) -> JSONResponse:
    """Who the request is, as Starlette sees it."""
    return JSONResponse(
        {
            "authenticated": request.user.is_authenticated,
            "name": request.user.display_name,
            "scopes": list(request.auth.scopes),
        }
    )


@requires("admin")
async def admin(request: Request) -> JSONResponse:
    """Only for the ``admin`` scope, through Starlette's own decorator."""
    return JSONResponse({"admin": request.user.display_name})


@requires("read")
async def ws_me(websocket: WebSocket) -> None:
    """Accept and send the user's name, for the ``read`` scope."""
    await websocket.accept()
    await websocket.send_text(websocket.user.display_name)
    await websocket.close()


ROUTES = [Route("/me", me), Route("/admin", admin), WebSocketRoute("/ws", ws_me)]


def starlette_wrapped(**options: Any) -> ASGIApp:
    """A Starlette app wrapped whole in our middleware."""
    return AuthenticationMiddleware(Starlette(routes=ROUTES), backend=backend(), **options)
