"""The recommended stack every matrix app sits behind, and what the apps have in common.

The layers are listed once, as ``(class, options)`` pairs in the order of docs/composition.md
("Recommended order", outermost first); each app module turns them into its framework's form
(``compose`` layers, Starlette ``Middleware``, FastAPI ``add_middleware`` calls, Litestar
``DefineMiddleware``). Every app serves the same endpoints:

* ``GET /items/{item_id}``: :data:`ITEM_BODY`, long enough to be compressed;
* ``GET /stream``: :data:`FIRST_CHUNK`, a pause of :data:`STREAM_PAUSE` seconds, :data:`LAST_CHUNK`;
* ``GET /private``: refused without the bearer token :data:`TOKEN`;
* ``GET /metrics``: the Prometheus registry of the process;
* WebSocket ``/ws`` (where the framework has WebSockets): echoes text, token required.

The access log goes to stdout as one JSON object per line, which the tests read back.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

import structlog
from prometheus_client import CollectorRegistry

from asgi_middleware import (
    AccessLogMiddleware,
    ASGIApp,
    AuthenticationMiddleware,
    BearerTokenBackend,
    BodyLimitMiddleware,
    CompressionMiddleware,
    CORSMiddleware,
    HTTPSRedirectMiddleware,
    Layer,
    MetricsMiddleware,
    PrometheusExporter,
    ProxyHeadersMiddleware,
    RateLimit,
    RateLimitMiddleware,
    Receive,
    RequestIDMiddleware,
    Scope,
    SecurityHeadersMiddleware,
    Send,
    TimeoutMiddleware,
    TimingMiddleware,
    TrustedHostMiddleware,
    metrics_app,
)

#: The browser origin the stack serves (CORS and WebSockets).
ORIGIN = "https://app.example"
#: An origin the stack refuses.
FOREIGN_ORIGIN = "https://evil.example"
#: The bearer token ``/private`` and ``/ws`` ask for.
TOKEN = "matrix-token"  # noqa: S105 - a test value
#: The largest request body the stack lets through. The refused body (one byte more) fits in
#: HTTP/2's initial flow-control window (65,535 bytes), so an h2c client has sent all of it before
#: the 413 comes back; a larger one races the server's end of the stream (hypercorn then drops the
#: connection, and the client sees "Server disconnected" instead of the 413).
MAX_BODY = 16 * 1024
#: The body of ``/items/{item_id}``: well over the compression minimum, and compressible.
ITEM_BODY = b"".join(b"matrix item line %03d\n" % number for number in range(200))
#: ``/stream`` sends this, pauses, then sends :data:`LAST_CHUNK`.
FIRST_CHUNK = b"first chunk\n" * 100
LAST_CHUNK = b"last chunk\n"
#: Seconds ``/stream`` waits between its two chunks.
STREAM_PAUSE = 0.5
#: Paths served without credentials.
PUBLIC_PATHS = ("/items/*", "/stream", "/metrics")

#: The registry the metrics layer records into and ``/metrics`` serves (one app per process).
REGISTRY = CollectorRegistry()
_EXPORTER = PrometheusExporter(registry=REGISTRY)


def configure_logging() -> None:
    """Log structlog events as JSON lines on stdout, flushed at once, for the tests to read."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.WriteLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )


def stack(route: Callable[[Scope], str | None] | None = None) -> list[tuple[Any, dict[str, Any]]]:
    """The whole recommended stack, outermost first, as ``(class, options)`` pairs.

    Requests from the trusted 127.0.0.1 peer carry ``X-Forwarded-Proto: https`` in the tests, so
    the HTTPS redirect lets them through and plain ones are redirected.
    """
    return [
        (ProxyHeadersMiddleware, {}),
        (SecurityHeadersMiddleware, {}),
        (
            CORSMiddleware,
            {
                "allow_origins": [ORIGIN],
                "allow_methods": ["GET", "POST"],
                "allow_headers": ["Authorization"],
                "expose_headers": [
                    "X-Request-ID",
                    "Server-Timing",
                    "RateLimit",
                    "RateLimit-Policy",
                ],
                "websocket_origins": [ORIGIN],
            },
        ),
        (RequestIDMiddleware, {}),
        (AccessLogMiddleware, {"exclude_paths": ["/metrics"]}),
        (MetricsMiddleware, {"exporters": _EXPORTER, "route": route}),
        (TrustedHostMiddleware, {"allowed_hosts": ["127.0.0.1", "localhost"]}),
        (HTTPSRedirectMiddleware, {}),
        (BodyLimitMiddleware, {"max_body_size": MAX_BODY}),
        (TimingMiddleware, {"timing_allow_origin": [ORIGIN]}),
        (TimeoutMiddleware, {"timeout": 10}),
        (
            AuthenticationMiddleware,
            {"backend": BearerTokenBackend(tokens=[TOKEN]), "exclude_paths": PUBLIC_PATHS},
        ),
        # Generous: the matrix never comes near it; every response still carries the fields.
        (RateLimitMiddleware, {"limits": [RateLimit("matrix", 100_000, 60)]}),
        (CompressionMiddleware, {}),
    ]


def layers(route: Callable[[Scope], str | None] | None = None) -> list[Layer[Any]]:
    """:func:`stack` as ``compose`` layers."""
    return [Layer(cls, **options) for cls, options in stack(route)]


_ITEM = re.compile(r"/items/[^/]+")


def path_route(scope: Scope) -> str | None:
    """A ``route`` function for apps whose router leaves nothing in the scope: by path."""
    path: str = scope["path"]
    if _ITEM.fullmatch(path):
        return "/items/{item_id}"
    routes: Mapping[str, str] = {"/stream": "/stream", "/private": "/private", "/ws": "/ws"}
    return routes.get(path)


def with_metrics_endpoint(app: ASGIApp) -> ASGIApp:
    """Serve ``/metrics`` in front of ``app``, for frameworks that cannot route to an ASGI app."""
    metrics = metrics_app(REGISTRY)

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/metrics":
            await metrics(scope, receive, send)
        else:
            await app(scope, receive, send)

    return dispatch
