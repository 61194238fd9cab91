"""CORSMiddleware under a real uvicorn server on 127.0.0.1: WebSocket origin checks and HTTP."""

from __future__ import annotations

from typing import Any

import pytest
import websockets.exceptions
import websockets.sync.client

from asgi_middleware import ASGIApp, CORSMiddleware, Receive, Scope, Send
from tests.support.asgi import answer_lifespan, respond
from tests.support.servers import ServeApp

ORIGIN = "https://app.example"
TIMEOUT = 5.0


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Echo WebSocket text frames; answer HTTP with ``ok``."""
    if scope["type"] == "lifespan":
        await answer_lifespan(receive, send)
    elif scope["type"] == "http":
        await respond(send, b"ok")
    else:
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        while (message := await receive())["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": message["text"]})


def without_extensions(app: ASGIApp) -> ASGIApp:
    """Hide the server's ASGI extensions from ``app``, as a server without them would."""

    async def wrapper(scope: Scope, receive: Receive, send: Send) -> None:
        await app({**scope, "extensions": {}}, receive, send)

    return wrapper


def connect(url: str, origin: str | None) -> Any:
    """Open a WebSocket, sending ``Origin: origin`` when given."""
    headers = {} if origin is None else {"Origin": origin}
    return websockets.sync.client.connect(
        url, additional_headers=headers, open_timeout=TIMEOUT, proxy=None
    )


@pytest.mark.server
@pytest.mark.parametrize("origin", [ORIGIN, "https://chat.example.com", None])
def test_allowed_websocket_works(live_server: ServeApp, origin: str | None) -> None:
    """A listed origin, a wildcard match and a non-browser client (no Origin) connect and talk."""
    app = CORSMiddleware(echo, websocket_origins=[ORIGIN, "https://*.example.com"])
    server = live_server(app)

    with connect(server.ws_url + "/ws", origin) as websocket:
        websocket.send("hello")
        assert websocket.recv(timeout=TIMEOUT) == "hello"


@pytest.mark.server
def test_disallowed_websocket_gets_403_with_reason(live_server: ServeApp) -> None:
    """A cross-site handshake is refused with the middleware's 403 and its plain-text reason."""
    server = live_server(CORSMiddleware(echo, websocket_origins=[ORIGIN]))

    with pytest.raises(websockets.exceptions.InvalidStatus) as info:
        connect(server.ws_url + "/ws", "https://evil.example")

    response = info.value.response
    assert response.status_code == 403
    assert response.body == b"WebSocket origin not allowed"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


@pytest.mark.server
def test_disallowed_websocket_closed_without_extension(live_server: ServeApp) -> None:
    """Without the denial-response extension the close before accept still refuses with 403."""
    app = without_extensions(CORSMiddleware(echo, websocket_origins=[ORIGIN]))
    server = live_server(app)

    with pytest.raises(websockets.exceptions.InvalidStatus) as info:
        connect(server.ws_url + "/ws", "https://evil.example")

    assert info.value.response.status_code == 403
    assert info.value.response.body != b"WebSocket origin not allowed"


@pytest.mark.server
def test_websocket_untouched_without_option(live_server: ServeApp) -> None:
    """Without websocket_origins, as with Starlette, any origin connects (the docs' warning)."""
    server = live_server(CORSMiddleware(echo, allow_origins=[ORIGIN]))

    with connect(server.ws_url + "/ws", "https://evil.example") as websocket:
        websocket.send("hi")
        assert websocket.recv(timeout=TIMEOUT) == "hi"


@pytest.mark.server
def test_preflight_and_get_over_http(live_server: ServeApp) -> None:
    """Over real HTTP a preflight is answered complete and the GET carries the CORS headers."""
    server = live_server(CORSMiddleware(echo, allow_origins=[ORIGIN], allow_methods=["PUT"]))
    preflight = {"origin": ORIGIN, "access-control-request-method": "PUT"}

    with server.client() as client:
        answer = client.options("/x", headers=preflight)
        refused = client.options("/x", headers={**preflight, "origin": "https://evil.example"})
        response = client.get("/x", headers={"origin": ORIGIN})

    assert (answer.status_code, answer.text) == (200, "OK")
    assert answer.headers["access-control-allow-methods"] == "PUT"
    assert (refused.status_code, refused.text) == (400, "Disallowed CORS origin")
    assert response.text == "ok"
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["vary"] == "Origin"
