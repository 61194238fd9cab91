"""One request, end to end: a FastAPI service whose request ID and timings go everywhere.

Run it with `uvicorn recipe_end_to_end:app --app-dir docs/examples --no-access-log` (the
access log middleware replaces uvicorn's) and call http://127.0.0.1:8000/orders/7: the
inventory service it calls is made up, so that call fails, with the request ID in every line.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TextIO

import httpx
import structlog
from fastapi import FastAPI

from asgi_middleware import (
    AccessLogMiddleware,
    ASGIApp,
    CORSMiddleware,
    Layer,
    RequestIDMiddleware,
    TimingMiddleware,
    compose,
    get_request_id,
)
from asgi_middleware.timing import timed

SPA_ORIGIN = "https://app.example"
INVENTORY_URL = "http://inventory.internal"


# --8<-- [start:logging]
def configure_logging(stream: TextIO = sys.stdout, level: int = logging.INFO) -> logging.Handler:
    """One JSON object per line for structlog events and stdlib records alike."""
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,  # request_id, method, path of the request
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    # Not dict_tracebacks: it records every frame's local variables, and the middleware's
    # frames hold the ASGI scope, raw Authorization and Cookie headers included.
    tracebacks = structlog.processors.ExceptionRenderer(
        structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,  # stdlib records (httpx, your libraries) get the same
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                tracebacks,  # exc_info -> structured "exception", without locals
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    return handler


# --8<-- [end:logging]


# --8<-- [start:forward]
class RequestIDTransport(httpx.AsyncBaseTransport):
    """An httpx transport that sends the current request's ID with every outgoing request."""

    def __init__(self, wrapped: httpx.AsyncBaseTransport | None = None) -> None:
        self._wrapped = wrapped if wrapped is not None else httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Add ``X-Request-ID`` (inside a request only), then send as usual."""
        request_id = get_request_id()
        if request_id is not None:
            request.headers["X-Request-ID"] = request_id
        return await self._wrapped.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._wrapped.aclose()


# --8<-- [end:forward]

log = structlog.get_logger("shop.orders")
stdlib_log = logging.getLogger("shop.inventory")


# --8<-- [start:app]
def create_app(
    transport: httpx.AsyncBaseTransport | None = None, spa_origin: str = SPA_ORIGIN
) -> ASGIApp:
    """The FastAPI service, wrapped whole in the recommended order (first layer outermost)."""
    inventory = httpx.AsyncClient(base_url=INVENTORY_URL, transport=RequestIDTransport(transport))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        configure_logging()
        yield
        await inventory.aclose()

    api = FastAPI(lifespan=lifespan)

    @api.get("/orders/{order_id}")
    async def order(order_id: int) -> dict[str, object]:
        log.info("order_requested", order_id=order_id)  # a structlog event
        with timed("inventory", "stock lookup"):  # shows up in Server-Timing
            response = await inventory.get(f"/stock/{order_id}")
        stdlib_log.info("inventory answered %d", response.status_code)  # a stdlib record
        return {"order_id": order_id, "in_stock": response.json()["in_stock"]}

    return compose(
        api,
        Layer(
            CORSMiddleware,
            allow_origins=[spa_origin],
            # Without this the SPA's fetch() cannot read these two response headers.
            expose_headers=["X-Request-ID", "Server-Timing"],
        ),
        RequestIDMiddleware,
        AccessLogMiddleware,
        # Without this the SPA's devtools and performance API hide the Server-Timing values.
        Layer(TimingMiddleware, timing_allow_origin=[spa_origin]),
    )


app = create_app()
# --8<-- [end:app]
