"""Everything through stdlib logging, rendered as JSON by structlog's ProcessorFormatter.

structlog events and records from plain `logging` loggers alike carry the request ID.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog
from access_log_app import starlette_app

from asgi_middleware import AccessLogMiddleware, RequestIDMiddleware, compose


# --8<-- [start:configure]
def configure_stdlib_logging(stream: TextIO = sys.stdout) -> logging.Handler:
    """Route structlog into stdlib logging and render every record with structlog."""
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,  # request_id for stdlib records too
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
    # Tracebacks as data, without the frames' local variables (which hold the raw headers).
    tracebacks = structlog.processors.ExceptionRenderer(
        structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,  # for records from plain logging.getLogger() loggers
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                tracebacks,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return handler


# --8<-- [end:configure]

app = compose(starlette_app, RequestIDMiddleware, AccessLogMiddleware)
