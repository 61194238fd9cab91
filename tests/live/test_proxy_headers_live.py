"""ProxyHeadersMiddleware under a real uvicorn on 127.0.0.1, whose peer really is 127.0.0.1.

uvicorn's own proxy-header handling is switched off (``proxy_headers=False``), so what the app
sees is our middleware's doing alone.
"""

from __future__ import annotations

import pytest
import websockets.sync.client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from asgi_middleware.proxy_headers import ProxyHeadersMiddleware
from tests.support.servers import ServeApp

SPOOF = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}


async def who(request: Request) -> JSONResponse:
    """The client and the URL as the app sees them."""
    assert request.client is not None
    return JSONResponse({"client": request.client.host, "url": str(request.url)})


async def scheme(websocket: WebSocket) -> None:
    """Send the WebSocket's scheme and client, then close."""
    await websocket.accept()
    assert websocket.client is not None
    await websocket.send_text(f"{websocket.url.scheme} {websocket.client.host}")
    await websocket.close()


def app() -> Starlette:
    """One HTTP and one WebSocket route."""
    return Starlette(routes=[Route("/who", who), WebSocketRoute("/ws", scheme)])


@pytest.mark.server
def test_trusted_peer_headers_are_applied(live_server: ServeApp) -> None:
    """The peer 127.0.0.1 is trusted by default: client and scheme come from its headers."""
    server = live_server(ProxyHeadersMiddleware(app()), proxy_headers=False)
    with server.client() as client:
        response = client.get("/who", headers=SPOOF)
    assert response.json() == {
        "client": "203.0.113.9",
        "url": f"https://{server.host}:{server.port}/who",
    }


@pytest.mark.server
def test_untrusted_peer_changes_nothing(live_server: ServeApp) -> None:
    """With 127.0.0.1 not among trusted_proxies, the same headers change nothing."""
    middleware = ProxyHeadersMiddleware(app(), trusted_proxies=["10.0.0.0/8", "::1"])
    server = live_server(middleware, proxy_headers=False)
    with server.client() as client:
        response = client.get("/who", headers=SPOOF)
    assert response.json() == {"client": "127.0.0.1", "url": f"{server.url}/who"}


@pytest.mark.server
def test_websocket_gets_wss(live_server: ServeApp) -> None:
    """A WebSocket handshake with X-Forwarded-Proto: https is wss to the app."""
    server = live_server(ProxyHeadersMiddleware(app()), proxy_headers=False)
    with websockets.sync.client.connect(
        f"{server.ws_url}/ws", additional_headers=SPOOF, open_timeout=5
    ) as websocket:
        assert websocket.recv(timeout=5) == "wss 203.0.113.9"
