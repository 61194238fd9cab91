"""The demo service: a Starlette app with a raw ASGI app mounted inside, wrapped in our stack.

Run it with the README's command (``./scripts/demo``), or inside the dev environment::

    python -m uvicorn examples.demo:app --host 127.0.0.1 --port 8000

The whole Starlette object is wrapped (not its ``add_middleware`` list), so our layers sit outside
Starlette's error handler and a 500 carries their headers too (see docs/composition.md).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import anyio
from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket

from asgi_middleware import (
    AccessLogMiddleware,
    AuthenticationMiddleware,
    BearerTokenBackend,
    CompressionMiddleware,
    CORSMiddleware,
    Layer,
    LayerLike,
    Receive,
    RequestIDMiddleware,
    Scope,
    Send,
    TimingMiddleware,
    compose,
    get_request_id,
    record_timing,
)

#: Where a single-page app under development would run; the demo lets it call the API.
SPA_ORIGINS = ("http://localhost:5173", "http://127.0.0.1:5173")
#: A made-up bearer token for ``/private``; a real service loads secrets from its environment.
DEMO_TOKEN = "demo-token-change-me"  # noqa: S105 - a published demo value, not a secret


async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
    """A raw ASGI endpoint, with no framework at all."""
    if scope["type"] != "http":
        return
    content = b"hello from a raw ASGI app\n"
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(content)).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})


async def index(request: Request) -> JSONResponse:
    """Describe the service and its stack."""
    return JSONResponse(
        {
            "service": "asgi-middleware demo",
            "stack": [_name(layer) for layer in STACK],
            "endpoints": ["/", "/stream", "/boom", "/private", "/raw/", "/ws"],
            "request_id": get_request_id(),
        }
    )


def _name(layer: object) -> str:
    # Names only: a Layer's repr would show its options, and those may hold secrets.
    cls = getattr(layer, "cls", layer)
    return str(getattr(cls, "__name__", type(cls).__name__))


async def stream(request: Request) -> StreamingResponse:
    """Stream five NDJSON lines, a little apart, as a live feed would."""

    async def lines() -> AsyncIterator[bytes]:
        for number in range(5):
            yield json.dumps({"tick": number}).encode() + b"\n"
            await anyio.sleep(0.05)

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@requires("authenticated")
async def private(request: Request) -> JSONResponse:
    """Answer only requests with the demo's bearer token (``Authorization: Bearer ...``)."""
    record_timing("lookup", 0.2, "user lookup")
    return JSONResponse({"user": request.user.display_name, "scopes": request.auth.scopes})


async def boom(request: Request) -> JSONResponse:
    """Fail on purpose, to show what an unhandled exception looks like from outside."""
    msg = "the demo's deliberate failure"
    raise RuntimeError(msg)


async def echo(websocket: WebSocket) -> None:
    """Echo text frames until the client leaves."""
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(text)


starlette_app = Starlette(
    routes=[
        Route("/", index),
        Route("/stream", stream),
        Route("/boom", boom),
        Route("/private", private),
        Mount("/raw", app=raw_app),
        WebSocketRoute("/ws", echo),
    ]
)

#: The recommended order, outermost first: CORS, request ID, access log, timing, auth, compression.
STACK: tuple[LayerLike, ...] = (
    Layer(
        CORSMiddleware,
        allow_origins=SPA_ORIGINS,
        allow_methods=("GET", "POST"),
        allow_headers=("Authorization",),
        expose_headers=("X-Request-ID", "Server-Timing"),
        websocket_origins=(*SPA_ORIGINS, "http://127.0.0.1:8000"),
    ),
    RequestIDMiddleware,
    AccessLogMiddleware,
    Layer(TimingMiddleware, timing_allow_origin=list(SPA_ORIGINS)),
    # Anonymous requests go through; /private asks for the "authenticated" scope itself.
    Layer(
        AuthenticationMiddleware,
        backend=BearerTokenBackend(tokens=[DEMO_TOKEN]),
        allow_anonymous=True,
    ),
    CompressionMiddleware,
)

app = compose(starlette_app, *STACK)
