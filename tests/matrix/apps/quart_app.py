"""Quart, the whole app object wrapped with ``compose``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
from quart import Quart, Response, request, websocket

from asgi_middleware import Scope, compose
from tests.matrix.stack import (
    FIRST_CHUNK,
    ITEM_BODY,
    LAST_CHUNK,
    STREAM_PAUSE,
    configure_logging,
    layers,
    with_metrics_endpoint,
)

configure_logging()
quart_app = Quart(__name__)


@quart_app.before_request
async def route_to_state() -> None:
    """Put the matched URL rule where the metrics layer's route function reads it."""
    if request.url_rule is not None:
        request.scope["state"]["http.route"] = request.url_rule.rule


@quart_app.get("/items/<item_id>")
async def item(item_id: str) -> Response:
    """One item, compressible."""
    return Response(ITEM_BODY, content_type="text/plain")


@quart_app.get("/stream")
async def stream() -> Response:
    """Two chunks, a pause apart."""

    async def chunks() -> AsyncIterator[bytes]:
        yield FIRST_CHUNK
        await anyio.sleep(STREAM_PAUSE)
        yield LAST_CHUNK

    return Response(chunks(), content_type="text/plain")


@quart_app.get("/private")
async def private() -> dict[str, str]:
    """Only with the token (the stack refuses anyone else)."""
    return {"user": request.scope["user"].display_name}  # type: ignore[typeddict-item]


@quart_app.websocket("/ws")
async def echo() -> None:
    """Echo text frames until the client leaves."""
    while True:
        await websocket.send(await websocket.receive())


def quart_route(scope: Scope) -> str | None:
    """What ``route_to_state`` found, None for a 404 (docs/metrics.md)."""
    route: str | None = scope["state"].get("http.route")
    return route


app = compose(with_metrics_endpoint(quart_app), *layers(route=quart_route))
