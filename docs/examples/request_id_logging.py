"""The request ID in stdlib log lines (RequestIDLogFilter) and in structlog events."""

from __future__ import annotations

import logging
from typing import TextIO

import structlog

from asgi_middleware import Receive, RequestIDLogFilter, RequestIDMiddleware, Scope, Send

from set_header import send_text

stdlib_logger = logging.getLogger("shop.orders")
struct_logger = structlog.get_logger("shop.orders")


# --8<-- [start:filter]
def request_id_handler(stream: TextIO | None = None) -> logging.Handler:
    """A stdlib handler whose lines start with the request ID ("-" outside requests)."""
    handler: logging.Handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIDLogFilter())
    handler.setFormatter(logging.Formatter("%(request_id)s %(levelname)s %(name)s: %(message)s"))
    return handler


# --8<-- [end:filter]


async def orders(scope: Scope, receive: Receive, send: Send) -> None:
    """Log through both APIs, then answer."""
    if scope["type"] != "http":
        return
    stdlib_logger.warning("stock low")
    # structlog: request_id is in the contextvars, merged by merge_contextvars.
    struct_logger.info("order placed", order=42)
    await send_text(send, "ordered\n")


app = RequestIDMiddleware(orders)
