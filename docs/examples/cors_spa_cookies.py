"""Recipe: a single-page app on another origin that signs in with a cookie.

The SPA is served from https://app.example.com and calls the API on https://api.example.com.
They are different origins but the same site, so the API's `SameSite=Lax` session cookie is
stored and sent back on the SPA's `fetch(..., {credentials: "include"})` calls.
Try `uvicorn cors_spa_cookies:app --app-dir docs/examples`.
"""

from __future__ import annotations

import secrets

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from asgi_middleware import ASGIApp, CORSMiddleware, Layer, compose

SPA_ORIGIN = "https://app.example.com"


# --8<-- [start:app]
def create_app(spa_origin: str = SPA_ORIGIN, *, secure_cookie: bool = True) -> ASGIApp:
    """The API: ``POST /login``, ``GET /me``, ``POST /logout``, open to ``spa_origin`` only."""
    sessions: dict[str, str] = {}  # session id -> user; a real app uses a store

    async def login(request: Request) -> Response:
        user = str((await request.json())["user"])
        session_id = secrets.token_urlsafe(32)
        sessions[session_id] = user
        response = JSONResponse({"user": user})
        response.set_cookie(
            "session", session_id, httponly=True, secure=secure_cookie, samesite="lax"
        )
        return response

    async def me(request: Request) -> Response:
        user = sessions.get(request.cookies.get("session", ""))
        if user is None:
            return JSONResponse({"error": "not signed in"}, status_code=401)
        return JSONResponse({"user": user})

    async def logout(request: Request) -> Response:
        sessions.pop(request.cookies.get("session", ""), None)
        response = JSONResponse({"user": None})
        response.delete_cookie("session")
        return response

    routes = [
        Route("/login", login, methods=["POST"]),
        Route("/me", me),
        Route("/logout", logout, methods=["POST"]),
    ]
    return compose(
        Starlette(routes=routes),
        Layer(
            CORSMiddleware,
            allow_origins=[spa_origin],  # the SPA's origin, exactly; never "*"
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],  # JSON bodies need a preflight
            allow_credentials=True,  # cookies go both ways
        ),
    )


app = create_app()
# --8<-- [end:app]
