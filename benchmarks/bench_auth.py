"""Authentication scenarios: our AuthenticationMiddleware next to Starlette's, and PyJWT alone.

``auth-bearer-static`` times a valid bearer token from a static set against Starlette's
``AuthenticationMiddleware`` with the smallest equivalent backend (header lookup, scheme check,
dict lookup). ``auth-jwt-hs256`` times an HS256 JWT against a baseline that is not middleware at
all: a wrapper that calls ``jwt.decode`` on the header and sets the user, so the overhead column
shows what our backend adds on top of PyJWT's own decode.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
from starlette.authentication import AuthCredentials as StarletteCredentials
from starlette.authentication import AuthenticationBackend, AuthenticationError, BaseUser
from starlette.authentication import SimpleUser as StarletteUser
from starlette.middleware.authentication import (
    AuthenticationMiddleware as StarletteAuthenticationMiddleware,
)
from starlette.requests import HTTPConnection

from asgi_middleware import AuthenticationMiddleware, BearerTokenBackend, JWTBackend
from benchmarks.checks import expect
from benchmarks.common import NO_BODY, OK_BODY, http_scope
from benchmarks.model import ASGIApp, Message, Scenario, Scope, Variant

TOKEN = "c2VjcmV0LWJlbmNobWFyay10b2tlbi0wMDAx"  # noqa: S105 - a benchmark token
USER = "token-0"
SECRET = "benchmark-hs256-secret-of-32-bytes!"  # noqa: S105 - a benchmark key
JWT = jwt.encode(
    {"sub": USER, "scope": "read", "exp": int(time.time()) + 10 * 365 * 86400},
    SECRET,
    algorithm="HS256",
)


def user_app() -> ASGIApp:
    """A bare app that reads the request, then answers 200 naming ``scope["user"]``, if any."""

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        while True:
            message: Message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(OK_BODY)).encode("ascii")),
        ]
        user = scope.get("user")
        if user is not None:
            headers.append((b"x-user", user.display_name.encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": OK_BODY})

    return app


class _StaticBearer(AuthenticationBackend):
    """The smallest Starlette backend doing our job: scheme check and a dict lookup."""

    def __init__(self) -> None:
        self.tokens = {TOKEN: (StarletteCredentials(["read"]), StarletteUser(USER))}

    async def authenticate(
        self, conn: HTTPConnection
    ) -> tuple[StarletteCredentials, BaseUser] | None:
        value = conn.headers.get("authorization")
        if value is None:
            return None
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer":
            return None
        result = self.tokens.get(token)
        if result is None:
            msg = "Invalid token"
            raise AuthenticationError(msg)
        return result


def starlette_bearer(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in Starlette's AuthenticationMiddleware with the static bearer backend."""
    return StarletteAuthenticationMiddleware(app, backend=_StaticBearer())


def ours_bearer(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in our AuthenticationMiddleware with the same static token."""
    return AuthenticationMiddleware(
        app, backend=BearerTokenBackend(tokens=[TOKEN], scopes=["read"])
    )


class _DecodedUser:
    __slots__ = ("display_name",)

    def __init__(self, name: str) -> None:
        self.display_name = name


def pyjwt_decode(app: ASGIApp) -> ASGIApp:
    """Not middleware: what any JWT check costs, ``jwt.decode`` on the header, then the app."""

    async def wrapper(scope: Scope, receive: Any, send: Any) -> None:
        token = dict(scope["headers"])[b"authorization"][7:]
        claims = jwt.decode(token, SECRET, algorithms=["HS256"])
        await app({**scope, "user": _DecodedUser(claims["sub"])}, receive, send)

    return wrapper


def ours_jwt(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` in our AuthenticationMiddleware with an HS256 JWTBackend."""
    return AuthenticationMiddleware(app, backend=JWTBackend(algorithms=["HS256"], key=SECRET))


BARE = expect(body=OK_BODY, absent=("x-user",))
AUTHENTICATED = expect(body=OK_BODY, headers={"x-user": USER})

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        name="auth-bearer-static",
        description="GET with a valid bearer token from a static set: the user is set",
        app=user_app(),
        scope=http_scope("GET", "/api/items", ((b"authorization", f"Bearer {TOKEN}".encode()),)),
        request=NO_BODY,
        bare_check=BARE,
        reference="starlette",
        variants=(
            Variant("starlette", starlette_bearer, AUTHENTICATED, "dict lookup backend"),
            Variant("asgi-middleware", ours_bearer, AUTHENTICATED),
        ),
    ),
    Scenario(
        name="auth-jwt-hs256",
        description="GET with a valid HS256 JWT: verified, the user is set",
        app=user_app(),
        scope=http_scope("GET", "/api/items", ((b"authorization", f"Bearer {JWT}".encode()),)),
        request=NO_BODY,
        bare_check=BARE,
        reference="pyjwt-decode",
        variants=(
            Variant("pyjwt-decode", pyjwt_decode, AUTHENTICATED, "baseline, not middleware"),
            Variant("asgi-middleware", ours_jwt, AUTHENTICATED),
        ),
    ),
)
