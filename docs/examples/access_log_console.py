"""Development: coloured, aligned console lines; tracebacks pretty-printed."""

from __future__ import annotations

import sys
from typing import TextIO

import structlog
from access_log_app import starlette_app

from asgi_middleware import AccessLogMiddleware, RequestIDMiddleware, compose


# --8<-- [start:configure]
def configure_console_logging(stream: TextIO = sys.stdout, *, colors: bool = True) -> None:
    """Human-readable output for a terminal."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="%H:%M:%S", utc=False),
            structlog.dev.ConsoleRenderer(colors=colors),
        ],
        logger_factory=structlog.PrintLoggerFactory(stream),
    )


# --8<-- [end:configure]

app = compose(starlette_app, RequestIDMiddleware, AccessLogMiddleware)
