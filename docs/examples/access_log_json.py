"""Production: one JSON object per line, with the request ID in every event."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog
from access_log_app import starlette_app

from asgi_middleware import AccessLogMiddleware, RequestIDMiddleware, compose


# --8<-- [start:configure]
def configure_json_logging(stream: TextIO = sys.stdout) -> None:
    """Configure structlog once, at start-up, before the first request."""
    # Not structlog.processors.dict_tracebacks: it records every frame's local variables, and
    # the middleware's frames hold the ASGI scope, raw Authorization and Cookie headers included.
    tracebacks = structlog.processors.ExceptionRenderer(
        structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,  # method, path, request_id
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            tracebacks,  # exc_info -> structured "exception", without locals
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.WriteLoggerFactory(stream),
        cache_logger_on_first_use=True,
    )


# --8<-- [end:configure]

app = compose(starlette_app, RequestIDMiddleware, AccessLogMiddleware)
