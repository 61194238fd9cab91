"""The stack the server-settings page runs under every server: proxy headers, one access log.

The access log writes JSON lines to stdout through its own logger, so nothing is configured
globally. Try `uvicorn servers_stack:app --app-dir docs/examples --no-proxy-headers
--no-access-log`, then `curl http://127.0.0.1:8000/ -H "X-Forwarded-For: 203.0.113.9"`.
"""

from __future__ import annotations

import sys

import structlog

from asgi_middleware import (
    AccessLogMiddleware,
    Layer,
    ProxyHeadersMiddleware,
    Receive,
    RequestIDMiddleware,
    Scope,
    Send,
    compose,
)


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer every HTTP request with a short text."""
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"3")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok\n"})


# --8<-- [start:stack]
# One JSON line per request on stdout: the only access log, so turn the server's off.
access_logger = structlog.wrap_logger(
    structlog.WriteLogger(sys.stdout),
    processors=[
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.JSONRenderer(),
    ],
)

app = compose(
    hello,
    # Ours, not the server's: turn the server's proxy-header handling off.
    Layer(ProxyHeadersMiddleware, trusted_proxies=["127.0.0.1"]),
    Layer(RequestIDMiddleware),
    Layer(AccessLogMiddleware, logger=access_logger),
)
# --8<-- [end:stack]
