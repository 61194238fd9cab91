"""From the structlog BaseHTTPMiddleware recipe to AccessLogMiddleware."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import structlog
from access_log_app import starlette_app
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response

from asgi_middleware import AccessLogMiddleware, Layer, RequestIDMiddleware, compose

logger = structlog.get_logger("access")


# --8<-- [start:before]
class LoggingMiddleware(BaseHTTPMiddleware):
    """The usual recipe: time call_next and log one event."""

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Bind the request's context, time the call and log one event."""
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(path=request.url.path, method=request.method)
        start = time.perf_counter_ns()
        response = await call_next(request)
        logger.info(
            "http_request",
            status=response.status_code,
            duration_ms=(time.perf_counter_ns() - start) / 1e6,
        )
        return response


# --8<-- [end:before]

before_app = compose(starlette_app, LoggingMiddleware)

# --8<-- [start:after]
app = compose(
    starlette_app,
    RequestIDMiddleware,
    Layer(AccessLogMiddleware, logger=structlog.get_logger("access")),
)
# --8<-- [end:after]
