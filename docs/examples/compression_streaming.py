"""Server-Sent Events and NDJSON that arrive in real time, compressed.

Every streamed chunk is compressed and sync-flushed on arrival, so a client decodes each event
as soon as it is sent. Event streams are opted in with `compress_event_streams=True`.
Run it with `uvicorn compression_streaming:app --app-dir docs/examples`, then
`curl -N --compressed http://127.0.0.1:8000/events`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from asgi_middleware import CompressionMiddleware, Receive, Scope, Send

EVENT_PAUSE = 0.5


# --8<-- [start:app]
async def events(request: Request) -> StreamingResponse:
    """Three SSE events, half a second apart."""

    async def stream() -> AsyncIterator[bytes]:
        for number in range(3):
            yield f'id: {number}\nevent: tick\ndata: {{"tick": {number}}}\n\n'.encode()
            await anyio.sleep(EVENT_PAUSE)

    return StreamingResponse(stream(), media_type="text/event-stream")


async def export(request: Request) -> StreamingResponse:
    """A large NDJSON export: a bulk download, where flushing every row is wasted bytes."""

    async def rows() -> AsyncIterator[bytes]:
        for number in range(10_000):
            yield f'{{"row": {number}, "status": "exported"}}\n'.encode()

    return StreamingResponse(rows(), media_type="application/x-ndjson")


live = CompressionMiddleware(
    Starlette(routes=[Route("/events", events)]),
    compress_event_streams=True,  # SSE is left alone unless you opt in
)
bulk = CompressionMiddleware(
    Starlette(routes=[Route("/export", export)]),
    flush_chunks=False,  # let the compressor fill its blocks: smaller and faster for downloads
)
# --8<-- [end:app]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Route /export to the bulk configuration and everything else to the live one."""
    target = bulk if scope.get("path") == "/export" else live
    await target(scope, receive, send)
