"""Access log: one structlog event per HTTP request or WebSocket session (SPEC §6).

``middleware`` holds the middleware and its records; ``_redact`` the redaction of headers and
query strings.
"""

from __future__ import annotations

from asgi_middleware.access_log.middleware import (
    DEFAULT_REDACT_HEADERS,
    DEFAULT_REDACT_QUERY_PARAMS,
    HTTP_EVENT,
    WEBSOCKET_EVENT,
    AccessLogMiddleware,
)

__all__ = [
    "DEFAULT_REDACT_HEADERS",
    "DEFAULT_REDACT_QUERY_PARAMS",
    "HTTP_EVENT",
    "WEBSOCKET_EVENT",
    "AccessLogMiddleware",
]
