"""A JSON API with a small default body limit, large uploads on one prefix, none on one path.

Run it with ``uvicorn body_limit_basic:app --app-dir docs/examples``.
"""

from __future__ import annotations

from contextlib import aclosing

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from asgi_middleware.body_limit import BodyLimitMiddleware

#: How many lines /ingest reads before it stops.
MAX_LINES = 10


async def create_item(request: Request) -> JSONResponse:
    """Parse a JSON body: ``request.json()`` reads it whole, which is what a limit protects."""
    item = await request.json()
    return JSONResponse({"fields": len(item)}, status_code=201)


async def upload(request: Request) -> JSONResponse:
    """Take an upload as a stream and report its size."""
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    return JSONResponse({"size": size})


async def ingest(request: Request) -> JSONResponse:
    """A stream the app bounds itself: it stops reading after ``MAX_LINES`` lines."""
    lines = 0
    async with aclosing(request.stream()) as stream:
        async for chunk in stream:
            lines += chunk.count(b"\n")
            if lines >= MAX_LINES:
                break
    return JSONResponse({"lines": min(lines, MAX_LINES)})


async def chat(websocket: WebSocket) -> None:
    """Echo text messages."""
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(text)


starlette_app = Starlette(
    routes=[
        Route("/items", create_item, methods=["POST"]),
        Route("/uploads/{name}", upload, methods=["PUT"]),
        Route("/ingest", ingest, methods=["POST"]),
        WebSocketRoute("/chat", chat),
    ]
)

# --8<-- [start:wrap]
app = BodyLimitMiddleware(
    starlette_app,
    max_body_size=1_000_000,  # 1 MB for any request body...
    path_limits={
        "/uploads/*": 100_000_000,  # ...100 MB under /uploads/...
        "/ingest": None,  # ...and no limit where the app bounds what it reads
    },
    websocket_max_message_size=64_000,  # a chat message over 64 kB closes with 1009
)
# --8<-- [end:wrap]
