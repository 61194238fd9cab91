"""The recommended stack: request ID outside the access log, around the framework app.

Run: `uvicorn access_log_app:app --app-dir docs/examples` and watch the events on stdout
(structlog's default console output, since this file does not configure structlog). That default
prints a failing request's traceback with every frame's local variables, the request's headers
included, when Rich is installed: configure structlog as access_log_console.py does before the
service sees real credentials.
"""

from __future__ import annotations

import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from asgi_middleware import AccessLogMiddleware, Layer, RequestIDMiddleware, compose

logger = structlog.get_logger("shop")


async def checkout(request: Request) -> PlainTextResponse:
    """Log an application event; it carries method, path and request_id."""
    logger.info("checkout started", cart=request.query_params.get("cart"))
    return PlainTextResponse("ok")


async def health(request: Request) -> PlainTextResponse:
    """A health check the load balancer calls every few seconds."""
    return PlainTextResponse("up")


starlette_app = Starlette(routes=[Route("/checkout", checkout), Route("/health", health)])

# --8<-- [start:stack]
app = compose(
    starlette_app,
    RequestIDMiddleware,  # outside: the access log sees the ID
    Layer(
        AccessLogMiddleware,
        exclude_paths=["/health"],  # quiet unless it fails (5xx still logs)
        levels={"4xx": "info"},  # client errors are not our alerts
    ),
)
# --8<-- [end:stack]
