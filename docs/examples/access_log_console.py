"""Development: coloured, aligned console lines; tracebacks pretty-printed, without locals."""

from __future__ import annotations

import sys
from typing import TextIO

import structlog
from access_log_app import starlette_app

from asgi_middleware import AccessLogMiddleware, RequestIDMiddleware, compose


# --8<-- [start:configure]
def configure_console_logging(stream: TextIO = sys.stdout, *, colors: bool = True) -> None:
    """Human-readable output for a terminal."""
    # ConsoleRenderer's default, Rich's traceback, prints every frame's local variables, and the
    # middleware's frames hold the ASGI scope, raw Authorization and Cookie headers included.
    tracebacks = structlog.dev.RichTracebackFormatter(
        color_system="truecolor" if colors else None, show_locals=False
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="%H:%M:%S", utc=False),
            structlog.dev.ConsoleRenderer(colors=colors, exception_formatter=tracebacks),
        ],
        logger_factory=structlog.PrintLoggerFactory(stream),
    )


# --8<-- [end:configure]

app = compose(starlette_app, RequestIDMiddleware, AccessLogMiddleware)
