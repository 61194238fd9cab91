"""Request IDs and the access log under a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import websockets.sync.client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from asgi_middleware import AccessLogMiddleware, ASGIApp, Layer, RequestIDMiddleware, compose
from tests.support.logs import Events
from tests.support.servers import ServeApp

CHUNK = b"x" * 1000
CHUNKS = 5


def starlette_app(events: Events, log_before_last: list[int]) -> Starlette:
    """Endpoints: an unhandled exception, a slow stream, a WebSocket echo."""

    async def boom(request: Request) -> PlainTextResponse:
        raise RuntimeError("unhandled in the endpoint")

    async def stream(request: Request) -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for index in range(CHUNKS):
                if index == CHUNKS - 1:
                    log_before_last.append(len(events.capture.entries))
                yield CHUNK

        return StreamingResponse(chunks(), media_type="application/octet-stream")

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(await websocket.receive_text())
        await websocket.close(code=4000)

    return Starlette(
        routes=[Route("/boom", boom), Route("/stream", stream), WebSocketRoute("/ws", echo)]
    )


def recommended(app: ASGIApp, events: Events) -> ASGIApp:
    """Wrapped as the docs recommend: compose(app, RequestIDMiddleware, AccessLogMiddleware)."""
    return compose(app, RequestIDMiddleware, Layer(AccessLogMiddleware, logger=events.logger))


@pytest.mark.server
def test_unhandled_exception_is_a_500_with_the_id_logged(live_server: ServeApp) -> None:
    """Under uvicorn a crash answers 500 with X-Request-ID; its event has that ID and 500."""
    events = Events()
    server = live_server(recommended(starlette_app(events, []), events))

    with server.client() as client:
        response = client.get("/boom", headers={"X-Request-ID": "live-500"})

    assert response.status_code == 500
    assert response.headers["x-request-id"] == "live-500"
    (event,) = events.wait(1)
    assert event["event"] == "http_request"
    assert (event["request_id"], event["status"]) == ("live-500", 500)
    assert isinstance(event["exc_info"], RuntimeError)


@pytest.mark.server
def test_streamed_response_event_follows_the_last_chunk(live_server: ServeApp) -> None:
    """A streamed response's event comes after its last chunk, with every byte counted."""
    events = Events()
    before_last: list[int] = []
    server = live_server(recommended(starlette_app(events, before_last), events))

    with server.client() as client, client.stream("GET", "/stream") as response:
        received = b"".join(response.iter_bytes())
        request_id = response.headers["x-request-id"]

    assert received == CHUNK * CHUNKS
    assert before_last == [0]
    (event,) = events.wait(1)
    assert (event["status"], event["bytes_sent"]) == (200, CHUNKS * len(CHUNK))
    assert event["request_id"] == request_id
    assert event["ttfb_ms"] <= event["duration_ms"]


@pytest.mark.server
def test_websocket_session_carries_the_id_and_is_logged(live_server: ServeApp) -> None:
    """The handshake response carries X-Request-ID; the session's event has the close code."""
    events = Events()
    server = live_server(recommended(starlette_app(events, []), events))

    with websockets.sync.client.connect(
        f"{server.ws_url}/ws", additional_headers={"X-Request-ID": "live-ws"}, open_timeout=5
    ) as connection:
        connection.send("ping")
        assert connection.recv(timeout=5) == "ping"
        header = connection.response.headers["x-request-id"] if connection.response else None

    assert header == "live-ws"
    (event,) = events.wait(1)
    assert event["event"] == "websocket_session"
    assert (event["status"], event["close_code"], event["request_id"]) == (101, 4000, "live-ws")
