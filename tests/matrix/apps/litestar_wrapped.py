"""Litestar, the whole app object wrapped with ``compose``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
from litestar import Litestar, Request, get, route, websocket
from litestar.connection import WebSocket
from litestar.exceptions import WebSocketDisconnect
from litestar.handlers import asgi
from litestar.middleware import DefineMiddleware
from litestar.response import Response, Stream

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
)

configure_logging()
_metrics = metrics_app(REGISTRY)


@route("/items/{item_id:str}", http_method=["GET", "POST"], status_code=200)
async def item(item_id: str) -> Response[bytes]:
    """One item, compressible; POST too, as Litestar's own list wraps matched routes only."""
    return Response(ITEM_BODY, media_type="text/plain")


@get("/stream")
async def stream() -> Stream:
    """Two chunks, a pause apart."""

    async def chunks() -> AsyncIterator[bytes]:
        yield FIRST_CHUNK
        await anyio.sleep(STREAM_PAUSE)
        yield LAST_CHUNK

    return Stream(chunks(), media_type="text/plain")


@get("/private")
async def private(request: Request[Any, Any, Any]) -> dict[str, str]:
    """Only with the token (the stack refuses anyone else)."""
    return {"user": request.scope["user"].display_name}


@websocket("/ws")
async def echo(socket: WebSocket[Any, Any, Any]) -> None:
    """Echo text frames until the client leaves."""
    await socket.accept()
    try:
        while True:
            await socket.send_text(await socket.receive_text())
    except WebSocketDisconnect:
        return


@asgi("/metrics", is_mount=False)
async def metrics(scope: Scope, receive: Receive, send: Send) -> None:
    """The Prometheus registry."""
    await _metrics(scope, receive, send)


def litestar_app(middleware: list[DefineMiddleware] | None = None) -> Litestar:
    """The Litestar app, with ``middleware`` in its own list."""
    return Litestar(route_handlers=[item, stream, private, echo, metrics], middleware=middleware)


app = compose(litestar_app(), *layers())
