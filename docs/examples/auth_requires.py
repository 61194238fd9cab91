"""`requires` per endpoint: public pages for everyone, 401 or 403 with a challenge elsewhere.

Run the Starlette app with
`ADMIN_PASSWORD=... DEPLOY_TOKEN=... uvicorn auth_requires:app --app-dir docs/examples`,
or the FastAPI one with
`EDITOR_TOKEN=... VIEWER_TOKEN=... uvicorn auth_requires:api --app-dir docs/examples`.
"""

from __future__ import annotations

import os
import secrets

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from asgi_middleware import (
    AuthenticationMiddleware,
    BasicAuthBackend,
    BearerTokenBackend,
    Layer,
    compose,
    requires,
)
from asgi_middleware.auth import AuthCredentials, AuthResult, SimpleUser

# Unset, random secrets nobody knows: the apps refuse everyone rather than run open.
password = os.environ.get("ADMIN_PASSWORD") or secrets.token_urlsafe(32)
deploy_token = os.environ.get("DEPLOY_TOKEN") or secrets.token_urlsafe(32)
editor_token = os.environ.get("EDITOR_TOKEN") or secrets.token_urlsafe(32)
viewer_token = os.environ.get("VIEWER_TOKEN") or secrets.token_urlsafe(32)


# --8<-- [start:starlette]
async def home(request: Request) -> PlainTextResponse:
    """Public: anonymous users get in too (allow_anonymous=True below)."""
    return PlainTextResponse(f"Hello, {request.user.display_name or 'guest'}!\n")


@requires()
async def account(request: Request) -> PlainTextResponse:
    """Any authenticated user; anonymous ones get 401 with the Basic and Bearer challenges."""
    return PlainTextResponse(f"Signed in as {request.user.display_name}\n")


@requires("deploy")
async def deploy(request: Request) -> PlainTextResponse:
    """Only with the "deploy" scope; others get 403 (insufficient_scope for bearer tokens)."""
    return PlainTextResponse(f"Deploying for {request.user.display_name}\n")


app = compose(
    Starlette(
        routes=[
            Route("/", home),
            Route("/account", account),
            Route("/deploy", deploy, methods=["POST"]),
        ]
    ),
    Layer(
        AuthenticationMiddleware,
        backend=[
            BasicAuthBackend(users={"admin": password}, scopes=["read"]),
            BearerTokenBackend(tokens={deploy_token: "ci-pipeline"}, scopes=["read", "deploy"]),
        ],
        allow_anonymous=True,
    ),
)
# --8<-- [end:starlette]

# --8<-- [start:fastapi]
items_api = FastAPI()


@items_api.get("/items")
async def list_items(request: Request) -> dict[str, object]:
    """Public."""
    return {"items": [], "viewer": request.user.display_name or None}


# Below the route decorator, and with a `request` parameter for requires to read.
@items_api.delete("/items/{item_id}")
@requires("items:write")
async def delete_item(item_id: int, request: Request) -> dict[str, object]:
    """Only for tokens with items:write; FastAPI still injects item_id."""
    return {"deleted": item_id, "by": request.user.display_name}


tokens = BearerTokenBackend(
    tokens={
        viewer_token: "viewer",  # gets the scopes below
        editor_token: AuthResult(AuthCredentials(["items:read", "items:write"]), SimpleUser("ed")),
    },
    scopes=["items:read"],
)
api = compose(items_api, Layer(AuthenticationMiddleware, backend=tokens, allow_anonymous=True))
# --8<-- [end:fastapi]
