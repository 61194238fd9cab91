"""A Starlette app: Basic for people, bearer tokens for machines, `@requires` in the views.

Run it with
`ADMIN_PASSWORD=... DEPLOY_TOKEN=... uvicorn auth_starlette:app --app-dir docs/examples`.
"""

from __future__ import annotations

import os
import secrets

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from asgi_middleware import (
    AuthenticationMiddleware,
    BasicAuthBackend,
    BearerTokenBackend,
    Layer,
    compose,
    requires,
)
from asgi_middleware.auth import AuthCredentials, AuthResult, SimpleUser


# --8<-- [start:views]
async def profile(request: Request) -> JSONResponse:
    """Starlette's request.user and request.auth, filled in by our middleware."""
    return JSONResponse(
        {
            "user": request.user.display_name,
            "authenticated": request.user.is_authenticated,
            "scopes": list(request.auth.scopes),
        }
    )


@requires("deploy")
async def deploy(request: Request) -> PlainTextResponse:
    """Only for connections granted the "deploy" scope (403 otherwise)."""
    return PlainTextResponse(f"deploying for {request.user.display_name}\n")


@requires("read")
async def feed(websocket: WebSocket) -> None:
    """A WebSocket: refused before the handshake without credentials."""
    await websocket.accept()
    await websocket.send_text(f"hello {websocket.user.display_name}")
    await websocket.close()


async def health(request: Request) -> PlainTextResponse:
    """Served without credentials (see exclude_paths)."""
    return PlainTextResponse("ok\n")


routes = [
    Route("/me", profile),
    Route("/deploy", deploy, methods=["POST"]),
    Route("/health", health),
    WebSocketRoute("/feed", feed),
]
# --8<-- [end:views]

# --8<-- [start:app]
# Unset, random secrets nobody knows: the app refuses everyone rather than run open.
password = os.environ.get("ADMIN_PASSWORD") or secrets.token_urlsafe(32)
deploy_token = os.environ.get("DEPLOY_TOKEN") or secrets.token_urlsafe(32)

people = BasicAuthBackend(users={"admin": password}, scopes=["read"])
machines = BearerTokenBackend(
    tokens={
        deploy_token: AuthResult(AuthCredentials(["read", "deploy"]), SimpleUser("ci-pipeline")),
    },
)

app = compose(
    Starlette(routes=routes),
    Layer(AuthenticationMiddleware, backend=[people, machines], exclude_paths=["/health"]),
)
# --8<-- [end:app]
