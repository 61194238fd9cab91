"""AuthenticationMiddleware with Starlette and FastAPI apps, through httpx in process.

The same apps under a real uvicorn: tests/live/test_auth_live.py.
"""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.applications import Starlette
from starlette.authentication import AuthCredentials as StarletteCredentials
from starlette.authentication import AuthenticationBackend, requires
from starlette.authentication import AuthenticationError as StarletteAuthenticationError
from starlette.authentication import SimpleUser as StarletteUser
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request

from asgi_middleware import ASGIApp, Scope
from asgi_middleware.auth import AuthBackend, AuthenticationMiddleware
from tests.support.asgi import asgi_client
from tests.support.auth_apps import ROUTES, auth, backend, starlette_wrapped

# --- Starlette --------------------------------------------------------------------------------


def starlette_listed(**options: Any) -> ASGIApp:
    """A Starlette app with our middleware in its own middleware list."""
    middleware = [Middleware(AuthenticationMiddleware, backend=backend(), **options)]
    return Starlette(routes=ROUTES, middleware=middleware)


STARLETTE_APPS = pytest.mark.parametrize("build", [starlette_wrapped, starlette_listed])


@pytest.mark.anyio
@STARLETTE_APPS
async def test_starlette_request_user_and_auth(build: Any) -> None:
    """Starlette's ``request.user`` and ``request.auth`` show our user and scopes."""
    async with asgi_client(build()) as client:
        response = await client.get("/me", headers=auth("reader-token"))

    assert response.json() == {"authenticated": True, "name": "reader", "scopes": ["read"]}


@pytest.mark.anyio
@STARLETTE_APPS
async def test_starlette_requires_allows_the_scope(build: Any) -> None:
    """``@requires("admin")`` lets a token with the admin scope in."""
    async with asgi_client(build()) as client:
        response = await client.get("/admin", headers=auth("admin-token"))

    assert (response.status_code, response.json()) == (200, {"admin": "root"})


@pytest.mark.anyio
@STARLETTE_APPS
async def test_starlette_requires_refuses_missing_scope(build: Any) -> None:
    """``@requires("admin")`` answers 403 for a token without the admin scope."""
    async with asgi_client(build()) as client:
        response = await client.get("/admin", headers=auth("reader-token"))

    assert response.status_code == 403


@pytest.mark.anyio
async def test_starlette_anonymous_user() -> None:
    """In anonymous mode Starlette sees an unauthenticated user with no scopes."""
    async with asgi_client(starlette_wrapped(allow_anonymous=True)) as client:
        response = await client.get("/me")

    assert response.json() == {"authenticated": False, "name": "", "scopes": []}


@pytest.mark.anyio
@STARLETTE_APPS
async def test_starlette_without_token_gets_our_401(build: Any) -> None:
    """Without a token the middleware answers 401 with the Bearer challenge."""
    async with asgi_client(build()) as client:
        response = await client.get("/me")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'
    assert response.json() == {"detail": "Authentication required"}


class SessionBackend(AuthenticationBackend):
    """A Starlette backend as written for Starlette's middleware: ``X-Session`` header sessions."""

    async def authenticate(
        self, conn: HTTPConnection
    ) -> tuple[StarletteCredentials, StarletteUser] | None:
        session = conn.headers.get("x-session")
        if session is None:
            return None
        if session != "s-1":
            msg = "Session expired"
            raise StarletteAuthenticationError(msg)
        return StarletteCredentials(["read"]), StarletteUser("sam")


class FromStarlette:
    """Runs a Starlette backend, ``authenticate(conn)``, as ours, ``authenticate(scope)``."""

    challenge = 'Session realm="app"'

    def __init__(self, backend: AuthenticationBackend) -> None:
        self.backend = backend

    async def authenticate(self, scope: Scope) -> Any:
        # Starlette's connection wants a mutable scope; the backend only reads this copy.
        return await self.backend.authenticate(HTTPConnection(dict(scope)))


@pytest.mark.anyio
async def test_starlette_backend_error_is_a_401_with_the_challenge() -> None:
    """A Starlette backend raising Starlette's AuthenticationError: 401 with the challenges."""
    chain: list[AuthBackend] = [FromStarlette(SessionBackend()), backend()]
    app = AuthenticationMiddleware(Starlette(routes=ROUTES), backend=chain)

    async with asgi_client(app) as client:
        expired = await client.get("/me", headers={"X-Session": "s-0"})
        valid = await client.get("/me", headers={"X-Session": "s-1"})

    assert expired.status_code == 401
    assert expired.json() == {"detail": "Session expired"}
    assert expired.headers.get_list("www-authenticate") == [
        'Session realm="app"',
        'Bearer realm="api"',
    ]
    assert valid.json() == {"authenticated": True, "name": "sam", "scopes": ["read"]}


# --- FastAPI ----------------------------------------------------------------------------------

bearer_scheme = HTTPBearer(auto_error=False)


def current_user(
    request: Request,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> str:
    """The user our middleware authenticated; the HTTPBearer dependency adds the OpenAPI scheme."""
    name: str = request.user.display_name
    return name


def fastapi_app() -> FastAPI:
    """A FastAPI app behind our middleware, with a security dependency and ``@requires``."""
    app = FastAPI()

    @app.get("/me")
    def read_me(user: Annotated[str, Depends(current_user)], request: Request) -> dict[str, Any]:
        return {"name": user, "scopes": list(request.auth.scopes)}

    @app.get("/admin")
    @requires("admin")
    async def read_admin(request: Request) -> dict[str, str]:
        return {"admin": request.user.display_name}

    app.add_middleware(AuthenticationMiddleware, backend=backend(), exclude_paths=["/openapi.json"])
    return app


@pytest.mark.anyio
async def test_fastapi_dependency_reads_request_user() -> None:
    """A FastAPI dependency reads the user our middleware set."""
    async with asgi_client(fastapi_app()) as client:
        response = await client.get("/me", headers=auth("reader-token"))

    assert response.json() == {"name": "reader", "scopes": ["read"]}


@pytest.mark.anyio
@pytest.mark.parametrize(("token", "status"), [("admin-token", 200), ("reader-token", 403)])
async def test_fastapi_requires(token: str, status: int) -> None:
    """Starlette's ``@requires`` works on a FastAPI route behind our middleware."""
    async with asgi_client(fastapi_app()) as client:
        response = await client.get("/admin", headers=auth(token))

    assert response.status_code == status


@pytest.mark.anyio
async def test_fastapi_openapi_declares_the_bearer_scheme() -> None:
    """The HTTPBearer dependency puts the scheme (the Authorize button) into the OpenAPI."""
    async with asgi_client(fastapi_app()) as client:
        schema = (await client.get("/openapi.json")).json()

    assert schema["components"]["securitySchemes"] == {
        "HTTPBearer": {"type": "http", "scheme": "bearer"}
    }
    assert schema["paths"]["/me"]["get"]["security"] == [{"HTTPBearer": []}]


@pytest.mark.anyio
async def test_fastapi_without_token_is_401() -> None:
    """FastAPI routes behind our middleware get our 401 before any dependency runs."""
    async with asgi_client(fastapi_app()) as client:
        response = await client.get("/me")

    assert response.status_code == 401
