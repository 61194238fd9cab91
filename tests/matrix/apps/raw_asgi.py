"""A raw ASGI callable, no framework, wrapped with ``compose``."""

from __future__ import annotations

import anyio

from asgi_middleware import Receive, Scope, Send, compose
from asgi_middleware.metrics import metrics_app
from tests.matrix.stack import (
    FIRST_CHUNK,
    ITEM_BODY,
    LAST_CHUNK,
    REGISTRY,
    STREAM_PAUSE,
    configure_logging,
    layers,
    path_route,
)

configure_logging()
_metrics = metrics_app(REGISTRY)


async def _start(send: Send, status: int, content_type: bytes, length: int | None) -> None:
    headers = [(b"content-type", content_type)]
    if length is not None:
        headers.append((b"content-length", str(length).encode("ascii")))
    await send({"type": "http.response.start", "status": status, "headers": headers})


async def _websocket(receive: Receive, send: Send) -> None:
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] != "websocket.receive":
            return
        await send({"type": "websocket.send", "text": message.get("text") or ""})


async def endpoints(scope: Scope, receive: Receive, send: Send) -> None:
    """Route by path, as the other apps do with their routers."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    path = scope["path"]
    if scope["type"] == "websocket":
        await _websocket(receive, send)
        return
    if path == "/metrics":
        await _metrics(scope, receive, send)
    elif path_route(scope) == "/items/{item_id}":
        await _start(send, 200, b"text/plain; charset=utf-8", len(ITEM_BODY))
        await send({"type": "http.response.body", "body": ITEM_BODY})
    elif path == "/stream":
        await _start(send, 200, b"text/plain; charset=utf-8", None)
        await send({"type": "http.response.body", "body": FIRST_CHUNK, "more_body": True})
        await anyio.sleep(STREAM_PAUSE)
        await send({"type": "http.response.body", "body": LAST_CHUNK})
    elif path == "/private":
        body = b'{"user":"%s"}' % scope["user"].display_name.encode()
        await _start(send, 200, b"application/json", len(body))
        await send({"type": "http.response.body", "body": body})
    else:
        await _start(send, 404, b"text/plain; charset=utf-8", 9)
        await send({"type": "http.response.body", "body": b"not found"})


app = compose(endpoints, *layers(route=path_route))
