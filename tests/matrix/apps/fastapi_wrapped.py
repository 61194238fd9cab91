"""FastAPI, the whole app object wrapped with ``compose`` (outside its error handler)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route

from asgi_middleware import compose
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


def fastapi_app() -> FastAPI:
    """The FastAPI app, without any middleware of ours."""
    api = FastAPI(openapi_url=None)

    @api.get("/items/{item_id}", response_class=PlainTextResponse)
    async def item(item_id: str) -> PlainTextResponse:
        return PlainTextResponse(ITEM_BODY)

    @api.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield FIRST_CHUNK
            await anyio.sleep(STREAM_PAUSE)
            yield LAST_CHUNK

        return StreamingResponse(chunks(), media_type="text/plain")

    @api.get("/private")
    async def private(request: Request) -> dict[str, str]:
        return {"user": request.user.display_name}

    @api.websocket("/ws")
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                await websocket.send_text(await websocket.receive_text())
        except WebSocketDisconnect:
            return

    # A Route, not a mount: Mount("/metrics") would only match "/metrics/...".
    api.router.routes.append(Route("/metrics", metrics_app(REGISTRY)))
    return api


app = compose(fastapi_app(), *layers())
