"""RateLimitMiddleware with its memory store under a real uvicorn on 127.0.0.1.

What goes over the socket: the 429 with ``Retry-After`` and a body its ``content-length``
describes, a ``Retry-After`` that holds in real time, and WebSocket handshakes over the limit
refused with the 429 (denial response) or with 1008 where the server offers no denial response.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Sequence

import anyio
import pytest
import websockets.exceptions
import websockets.sync.client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from asgi_middleware import ASGIApp, Receive, Scope, Send
from asgi_middleware.rate_limit import Decision, RateLimit, RateLimitMiddleware
from tests.support.servers import LiveServer, ServeApp
from tests.support.structured_fields import parse_list

TIMEOUT = 5.0


async def hello(request: Request) -> PlainTextResponse:
    """A plain endpoint."""
    return PlainTextResponse("hello")


async def echo(websocket: WebSocket) -> None:
    """Accept, say hello, close."""
    await websocket.accept()
    await websocket.send_text("hello")
    await websocket.close()


def limited(*limits: RateLimit, **options: object) -> ASGIApp:
    """A Starlette app with one HTTP and one WebSocket route, behind the rate limit."""
    app = Starlette(routes=[Route("/", hello), WebSocketRoute("/ws", echo)])
    return RateLimitMiddleware(app, limits=list(limits), **options)  # type: ignore[arg-type]


def raw_get(server: LiveServer) -> tuple[bytes, dict[bytes, bytes], bytes]:
    """One GET over a raw socket: the status line, the headers and the body, as sent."""
    with socket.create_connection((server.host, server.port), timeout=TIMEOUT) as connection:
        connection.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    head, _, content = b"".join(chunks).partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers = dict(line.lower().split(b": ", 1) for line in lines)
    return status, headers, content


@pytest.mark.server
def test_a_429_over_the_wire(live_server: ServeApp) -> None:
    """The refusal is a complete response: Retry-After, JSON, a content-length that fits."""
    server = live_server(limited(RateLimit("one", 1, 60)))

    first = raw_get(server)
    status, headers, content = raw_get(server)

    assert first[0] == b"HTTP/1.1 200 OK"
    assert status == b"HTTP/1.1 429 Too Many Requests"
    assert headers[b"retry-after"] == b"60"
    assert headers[b"content-type"] == b"application/json"
    assert int(headers[b"content-length"]) == len(content)
    assert json.loads(content) == {"detail": "Too many requests", "retry_after": 60}
    assert parse_list(headers[b"ratelimit"]) == [("one", {"r": 0, "t": 60})]
    assert parse_list(headers[b"ratelimit-policy"]) == [("one", {"q": 1, "w": 60})]


@pytest.mark.server
def test_retry_after_holds_in_real_time(live_server: ServeApp) -> None:
    """Refused with ``Retry-After: 1``; the same request a second later is admitted."""
    server = live_server(limited(RateLimit("fast", 1, 1)))

    with server.client() as client:
        statuses = [client.get("/").status_code]
        refused = client.get("/")
        time.sleep(int(refused.headers["retry-after"]))
        statuses += [refused.status_code, client.get("/").status_code]

    assert refused.headers["retry-after"] == "1"
    assert statuses == [200, 429, 200]


@pytest.mark.server
def test_a_websocket_handshake_is_counted_and_refused_with_429(live_server: ServeApp) -> None:
    """The accept carries the fields; the next handshake gets the 429 through the denial."""
    server = live_server(limited(RateLimit("one", 1, 60)))

    with websockets.sync.client.connect(
        server.ws_url + "/ws", open_timeout=TIMEOUT, proxy=None
    ) as websocket:
        greeting = websocket.recv(timeout=TIMEOUT)
        assert websocket.response is not None
        accepted = websocket.response.headers["ratelimit"]
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        websockets.sync.client.connect(server.ws_url + "/ws", open_timeout=TIMEOUT, proxy=None)

    assert (greeting, accepted) == ("hello", '"one";r=0;t=60')
    response = refused.value.response
    assert response.status_code == 429
    assert response.headers["retry-after"] == "60"
    assert json.loads(response.body) == {"detail": "Too many requests", "retry_after": 60}


def without_denial(app: ASGIApp) -> ASGIApp:
    """Hide the denial-response extension, as a server without it would."""

    async def hidden(scope: Scope, receive: Receive, send: Send) -> None:
        extensions = {
            name: value
            for name, value in (scope.get("extensions") or {}).items()
            if name != "websocket.http.response"
        }
        await app({**scope, "extensions": extensions}, receive, send)

    return hidden


@pytest.mark.server
def test_without_the_denial_extension_the_handshake_is_closed(live_server: ServeApp) -> None:
    """The middleware closes with 1008 before accepting; uvicorn refuses the handshake (403)."""
    server = live_server(without_denial(limited(RateLimit("one", 1, 60))))
    with websockets.sync.client.connect(server.ws_url + "/ws", open_timeout=TIMEOUT, proxy=None):
        pass

    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        websockets.sync.client.connect(server.ws_url + "/ws", open_timeout=TIMEOUT, proxy=None)

    assert refused.value.response.status_code == 403


class DownStore:
    """A store that is down: every call fails after ``delay`` seconds."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    async def acquire(
        self, key: str, limits: Sequence[RateLimit], cost: int = 1
    ) -> tuple[Decision, ...]:
        await anyio.sleep(self.delay)
        raise ConnectionError(f"down ({key}, {len(limits)} policies, cost {cost})")


@pytest.mark.server
@pytest.mark.parametrize(("on_store_error", "status"), [("open", 200), ("closed", 503)])
def test_a_store_that_hangs_is_given_up_on_in_time(
    live_server: ServeApp, on_store_error: str, status: int
) -> None:
    """A store stuck for 30 s: each request is answered within the 0.2 s timeout, never a 500."""
    server = live_server(
        limited(
            RateLimit("one", 1, 60),
            store=DownStore(30),
            store_timeout=0.2,
            on_store_error=on_store_error,
        )
    )

    with server.client() as client:
        started = time.monotonic()
        statuses = [client.get("/").status_code for _ in range(3)]
        took = time.monotonic() - started

    assert statuses == [status] * 3
    assert took < 3 * 0.2 + 1.5
