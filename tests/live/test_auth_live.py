"""AuthenticationMiddleware and JWTBackend under a real uvicorn on 127.0.0.1.

The in-process tests of the same apps are in tests/integration/test_auth_frameworks.py; the JWT
backend's own tests in tests/unit/test_auth_jwt.py.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import anyio
import httpx
import pytest
import websockets.exceptions
import websockets.sync.client

from asgi_middleware import ASGIApp, Receive, Scope, Send
from asgi_middleware.auth import AuthenticationError, JWTBackend
from tests.support.asgi import http_scope
from tests.support.auth_apps import auth, starlette_wrapped
from tests.support.jwks import jwks_app, jwks_document, sign
from tests.support.servers import ServeApp

TIMEOUT = 5.0


# --- AuthenticationMiddleware around Starlette ------------------------------------------------


@pytest.mark.server
def test_live_http_401_is_complete(live_server: ServeApp) -> None:
    """Over real HTTP the 401 arrives whole, with a matching content-length and the challenge."""
    server = live_server(starlette_wrapped())

    with server.client() as client:
        response = client.get("/me", headers={"Authorization": "Bearer wrong"})

    assert response.status_code == 401
    assert response.headers["content-length"] == str(len(response.content))
    assert response.headers["www-authenticate"] == 'Bearer realm="api", error="invalid_token"'


@pytest.mark.server
def test_live_websocket_with_token_is_accepted(live_server: ServeApp) -> None:
    """A WebSocket with a valid token is accepted and the app sees the user."""
    server = live_server(starlette_wrapped())

    with websockets.sync.client.connect(
        server.ws_url + "/ws",
        additional_headers=auth("reader-token"),
        open_timeout=TIMEOUT,
        proxy=None,
    ) as websocket:
        assert websocket.recv(timeout=TIMEOUT) == "reader"


@pytest.mark.server
def test_live_websocket_without_token_gets_401_response(live_server: ServeApp) -> None:
    """Under uvicorn, which offers ``websocket.http.response``, the handshake gets our 401."""
    server = live_server(starlette_wrapped())

    with pytest.raises(websockets.exceptions.InvalidStatus) as info:
        websockets.sync.client.connect(server.ws_url + "/ws", open_timeout=TIMEOUT, proxy=None)

    response = info.value.response
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.body == b'{"detail":"Authentication required"}'


@pytest.mark.server
def test_live_websocket_insufficient_scope_gets_403(live_server: ServeApp) -> None:
    """A token without a required scope is refused with 403 before the handshake completes."""
    server = live_server(starlette_wrapped(required_scopes=["admin"]))

    with pytest.raises(websockets.exceptions.InvalidStatus) as info:
        websockets.sync.client.connect(
            server.ws_url + "/ws",
            additional_headers=auth("reader-token"),
            open_timeout=TIMEOUT,
            proxy=None,
        )

    assert info.value.response.status_code == 403


def hide_extensions(app: ASGIApp) -> ASGIApp:
    """Present scopes without ``extensions``, as a server lacking the denial extension does."""

    async def wrapper(scope: Scope, receive: Receive, send: Send) -> None:
        await app({k: v for k, v in scope.items() if k != "extensions"}, receive, send)

    return wrapper


@pytest.mark.server
def test_live_websocket_close_1008_is_never_accepted(live_server: ServeApp) -> None:
    """Without the extension the denial is a close before accept: the handshake fails."""
    server = live_server(hide_extensions(starlette_wrapped()))

    with pytest.raises(websockets.exceptions.InvalidStatus) as info:
        websockets.sync.client.connect(server.ws_url + "/ws", open_timeout=TIMEOUT, proxy=None)

    # A close before accept is a refused handshake, which uvicorn sends as 403.
    assert info.value.response.status_code == 403


@pytest.mark.server
def test_live_http_client_errors_are_not_500(live_server: ServeApp) -> None:
    """Malformed credentials over real HTTP give 400/401, never 500."""
    server = live_server(starlette_wrapped())
    cases = [
        [("Authorization", "Bearer \x7f")],
        [("Authorization", "Basic ???")],
        [("Authorization", "Bearer " + "a" * 10000)],
        [("Authorization", "Bearer a"), ("Authorization", "Bearer b")],
    ]

    with server.client() as client:
        statuses = [client.get("/me", headers=httpx.Headers(case)).status_code for case in cases]

    assert statuses == [401, 401, 401, 400]


# --- JWTBackend fetching a JWKS over HTTP -----------------------------------------------------


def rs256(kid: str) -> str:
    """An RS256 token for the subject ``ada``, valid for an hour, naming ``kid``."""
    return sign({"sub": "ada", "exp": int(time.time()) + 3600}, kid)


async def authenticate(backend: JWTBackend, token: str) -> Any:
    """Run the backend on one bearer token."""
    return await backend.authenticate(http_scope(headers=[("Authorization", f"Bearer {token}")]))


@pytest.mark.server
def test_jwks_url_fetched_from_a_real_server(live_server: ServeApp) -> None:
    """A ``jwks_url`` on a real server is fetched in a worker thread and its key used."""
    server = live_server(jwks_app(jwks_document("k1")))
    backend = JWTBackend(algorithms=["RS256"], jwks_url=f"{server.url}/.well-known/jwks.json")

    for backend_name in ("asyncio", "trio"):
        _, user = anyio.run(authenticate, backend, rs256("k1"), backend=backend_name)
        assert user.identity == "ada"


@pytest.mark.server
def test_jwks_url_oversized_document_is_refused(
    live_server: ServeApp, caplog: pytest.LogCaptureFixture
) -> None:
    """A JWKS larger than 1 MiB is refused (logged) and the token gets a 401."""
    server = live_server(jwks_app(b" " * (1 << 20) + b"{}"))
    backend = JWTBackend(algorithms=["RS256"], jwks_url=f"{server.url}/jwks")

    with pytest.raises(AuthenticationError), caplog.at_level(logging.WARNING):
        anyio.run(authenticate, backend, rs256("k1"))

    assert "larger than 1048576 bytes" in caplog.text
