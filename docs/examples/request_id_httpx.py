"""Forward the request ID on outgoing httpx calls, so the next service logs the same ID.

Run: `uvicorn request_id_httpx:app --app-dir docs/examples` (it calls UPSTREAM_URL).
"""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asgi_middleware import RequestIDMiddleware, compose, get_request_id

UPSTREAM_URL = "http://inventory.internal/items"


# --8<-- [start:hook]
async def forward_request_id(request: httpx.Request) -> None:
    """An httpx event hook: copy the current request's ID onto the outgoing request."""
    request_id = get_request_id()
    if request_id is not None and "x-request-id" not in request.headers:
        request.headers["X-Request-ID"] = request_id


def make_client(transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """One client for the whole app, every request it sends tagged with the ID."""
    return httpx.AsyncClient(transport=transport, event_hooks={"request": [forward_request_id]})


# --8<-- [end:hook]


def make_app(client: httpx.AsyncClient) -> Starlette:
    """A Starlette app whose endpoint calls the upstream service with ``client``."""

    async def items(request: Request) -> JSONResponse:
        upstream = await client.get(UPSTREAM_URL)
        return JSONResponse({"upstream_status": upstream.status_code})

    return Starlette(routes=[Route("/items", items)])


app = compose(make_app(make_client()), RequestIDMiddleware)
