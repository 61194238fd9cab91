"""The docs' code samples (docs/examples/*.py) that need a real uvicorn on 127.0.0.1.

A WebSocket handshake, a JWKS provider to fetch from, uvicorn's own 500 and headers: the rest of
each page's samples run in process in tests/integration/test_docs_*.py.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import anyio
import pytest
import websockets.exceptions
import websockets.sync.client

from asgi_middleware import ASGIApp
from tests.support.asgi import asgi_client
from tests.support.auth_apps import basic
from tests.support.jwks import jwks_app, jwks_document, sign
from tests.support.samples import app_of, load
from tests.support.servers import ServeApp

TIMEOUT = 5.0


# --- auth_starlette ---------------------------------------------------------------------------


@pytest.fixture
def starlette_app(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """The Starlette example with known secrets."""
    monkeypatch.setenv("ADMIN_PASSWORD", "correct horse")
    monkeypatch.setenv("DEPLOY_TOKEN", "deploy-123")
    return app_of(load("auth_starlette"))


@pytest.mark.server
def test_starlette_example_websocket(starlette_app: ASGIApp, live_server: ServeApp) -> None:
    """auth_starlette: the WebSocket greets an authenticated user and refuses others with 401."""
    server = live_server(starlette_app)

    with websockets.sync.client.connect(
        server.ws_url + "/feed",
        additional_headers=basic("admin", "correct horse"),
        open_timeout=TIMEOUT,
        proxy=None,
    ) as websocket:
        greeting = websocket.recv(timeout=TIMEOUT)
    with pytest.raises(websockets.exceptions.InvalidStatus) as info:
        websockets.sync.client.connect(server.ws_url + "/feed", open_timeout=TIMEOUT, proxy=None)

    assert greeting == "hello admin"
    assert info.value.response.status_code == 401


# --- auth_jwt ---------------------------------------------------------------------------------


def token(**claims: Any) -> str:
    """A token from the provider for the docs' audience and issuer."""
    payload = {
        "sub": "user-42",
        "iss": "https://login.example/",
        "aud": "https://api.example",
        "scope": "api profile",
        "exp": int(time.time()) + 300,
        **claims,
    }
    return sign(payload, "2026-01")


@pytest.mark.server
@pytest.mark.parametrize(
    ("claims", "status", "text"),
    [
        ({}, 200, "user-42 api profile\n"),
        ({"scope": "profile"}, 403, '{"detail":"Insufficient scope"}'),
        ({"aud": "https://other.example"}, 401, '{"detail":"Invalid credentials"}'),
    ],
    ids=["valid", "no-api-scope", "other-audience"],
)
def test_jwt_example_against_a_jwks_server(
    live_server: ServeApp,
    monkeypatch: pytest.MonkeyPatch,
    claims: dict[str, Any],
    status: int,
    text: str,
) -> None:
    """auth_jwt: tokens are checked against the provider's JWKS, audience and scopes."""
    provider = live_server(jwks_app(jwks_document("2026-01", use="sig")))
    monkeypatch.setenv("JWKS_URL", provider.url + "/.well-known/jwks.json")
    app = app_of(load("auth_jwt"))

    async def call() -> tuple[int, str]:
        async with asgi_client(app) as client:
            response = await client.get("/", headers={"Authorization": f"Bearer {token(**claims)}"})
        return response.status_code, response.text

    assert anyio.run(call) == (status, text)


# --- cors_websocket ---------------------------------------------------------------------------

SPA = "https://app.example.com"


@pytest.mark.server
@pytest.mark.parametrize(("origin", "allowed"), [(SPA, True), ("https://evil.example", False)])
def test_websocket_example_refuses_other_sites(
    live_server: ServeApp, origin: str, allowed: bool
) -> None:
    """cors_websocket: the SPA's origin opens the socket; another site gets a 403."""
    server = live_server(app_of(load("cors_websocket")))
    url = server.ws_url + "/ws"
    headers = {"Origin": origin}

    if not allowed:
        with pytest.raises(websockets.exceptions.InvalidStatus) as info:
            websockets.sync.client.connect(url, additional_headers=headers, proxy=None)
        assert info.value.response.status_code == 403
        return
    with websockets.sync.client.connect(url, additional_headers=headers, proxy=None) as ws:
        ws.send("ping")
        assert ws.recv(timeout=5) == "ping"


# --- raw_asgi and wrap_framework (composition.md) ---------------------------------------------


@pytest.mark.server
@pytest.mark.usefixtures("sibling_imports")
def test_raw_asgi_runs_under_uvicorn(live_server: ServeApp) -> None:
    """raw_asgi: a real uvicorn server with lifespan on serves the composed app, as shown."""
    server = live_server(app_of(load("raw_asgi")), lifespan="on")
    with server.client() as client:
        response = client.get("/")
    assert response.status_code == 200
    assert response.text == "Hello, world!\n"
    headers = response.headers.multi_items()
    assert [name for name, _ in headers[:2]] == ["date", "server"]  # uvicorn's own, first
    assert headers[2:] == [
        ("content-type", "text/plain; charset=utf-8"),
        ("content-length", "14"),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
    ]


@pytest.mark.server
@pytest.mark.usefixtures("sibling_imports")
@pytest.mark.parametrize(("attribute", "carried"), [("app", True), ("inside", False)])
def test_wrap_framework_500_under_uvicorn(
    live_server: ServeApp, caplog: pytest.LogCaptureFixture, attribute: str, carried: bool
) -> None:
    """wrap_framework: on a real server the 500 carries the header only when composed outside."""
    server = live_server(app_of(load("wrap_framework"), attribute))
    with caplog.at_level(logging.CRITICAL, logger="uvicorn.error"), server.client() as client:
        response = client.get("/boom")  # uvicorn logs the exception; that is expected here
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    expected = ["https://app.example"] if carried else []
    assert response.headers.get_list("access-control-allow-origin") == expected
