"""The demo service: a Starlette app with a raw ASGI app mounted inside, wrapped in our stack.

Run it with the README's command (``./scripts/demo``), or inside the dev environment::

    python -m uvicorn examples.demo:app --host 127.0.0.1 --port 8000 --no-access-log

``--no-access-log`` because the stack has its own access log (uvicorn's would log every request a
second time). The stack trusts proxy headers from 127.0.0.1 only (a local nginx, say) and answers
only for the hosts in ``DEMO_ALLOWED_HOSTS`` (by default ``localhost``, ``127.0.0.1`` and
``[::1]``). Behind a TLS-terminating proxy, set ``DEMO_BEHIND_TLS_PROXY=1``: plain-HTTP requests
are then redirected to HTTPS (on a plain-HTTP development server that would redirect everything).

The whole Starlette object is wrapped (not its ``add_middleware`` list), so our layers sit outside
Starlette's error handler and a 500 carries their headers too (see docs/composition.md). Its
lifespan configures structlog (``configure_logging``) at start-up.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator

import anyio
import structlog
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket

from asgi_middleware import (
    NONCE,
    AccessLogMiddleware,
    AuthenticationMiddleware,
    BearerTokenBackend,
    BodyLimitMiddleware,
    CompressionMiddleware,
    ContentSecurityPolicy,
    CORSMiddleware,
    HTTPSRedirectMiddleware,
    Layer,
    LayerLike,
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
    compose,
    get_request_id,
    metrics_app,
    record_timing,
    requires,
)

#: Where a single-page app under development would run; the demo lets it call the API.
SPA_ORIGINS = ("http://localhost:5173", "http://127.0.0.1:5173")
#: The hosts the demo answers for; any other ``Host`` header gets a 400.
ALLOWED_HOSTS = tuple(
    host.strip()
    for host in os.environ.get("DEMO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
    if host.strip()
)
#: The Prometheus registry the metrics layer records into and /metrics serves.
REGISTRY = CollectorRegistry()
#: Whether a TLS-terminating proxy stands in front: then plain HTTP is redirected to HTTPS.
BEHIND_TLS_PROXY = os.environ.get("DEMO_BEHIND_TLS_PROXY", "") == "1"
#: A made-up bearer token for ``/private``; a real service loads secrets from its environment.
DEMO_TOKEN = "demo-token-change-me"  # noqa: S105 - a published demo value, not a secret


async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
    """A raw ASGI endpoint, with no framework at all."""
    if scope["type"] != "http":
        return
    content = b"hello from a raw ASGI app\n"
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(content)).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})


#: What each endpoint shows; the index lists them, and is itself long enough to be compressed.
ENDPOINTS = {
    "/": "this page: over the compression minimum, so it comes back compressed (Content-Encoding)",
    "/stream": "five NDJSON lines 50 ms apart, each compressed and sent as it is produced",
    "/boom": "an unhandled exception: a 500 that still carries the request ID and CORS headers",
    "/private": "401 with a WWW-Authenticate challenge, unless you send the demo's bearer token",
    "/raw/": "a raw ASGI app mounted in the Starlette app, behind the same stack",
    "/ws": "a WebSocket echo; its Origin is checked by the CORS layer",
    "/metrics": "Prometheus metrics of every request, by route template (not itself counted)",
}


async def index(request: Request) -> JSONResponse:
    """Describe the service, its stack and its endpoints, with commands to try them."""
    base = str(request.base_url).rstrip("/")
    return JSONResponse(
        {
            "service": "asgi-middleware demo",
            "stack": [_name(layer) for layer in STACK],
            "endpoints": ENDPOINTS,
            "try": [
                f"curl -s -D - -o /dev/null -H 'Accept-Encoding: gzip' {base}/",
                f"curl -si {base}/private",
                f"curl -s -H 'Authorization: Bearer {DEMO_TOKEN}' {base}/private",
                f"curl -sN --compressed {base}/stream",
            ],
            "request_id": get_request_id(),
        }
    )


def _name(layer: object) -> str:
    # Names only: a Layer's repr would show its options, and those may hold secrets.
    cls = getattr(layer, "cls", layer)
    return str(getattr(cls, "__name__", type(cls).__name__))


async def stream(request: Request) -> StreamingResponse:
    """Stream five NDJSON lines, a little apart, as a live feed would."""

    async def lines() -> AsyncIterator[bytes]:
        for number in range(5):
            yield json.dumps({"tick": number}).encode() + b"\n"
            await anyio.sleep(0.05)

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@requires()
async def private(request: Request) -> JSONResponse:
    """Answer only requests with the demo's bearer token (``Authorization: Bearer ...``).

    Anonymous requests get 401 with the middleware's ``WWW-Authenticate: Bearer`` challenge
    (Starlette's own ``requires`` would answer 403, telling the client nothing about logging in).
    """
    record_timing("lookup", 0.2, "user lookup")
    return JSONResponse({"user": request.user.display_name, "scopes": request.auth.scopes})


async def boom(request: Request) -> JSONResponse:
    """Fail on purpose, to show what an unhandled exception looks like from outside."""
    msg = "the demo's deliberate failure"
    raise RuntimeError(msg)


async def echo(websocket: WebSocket) -> None:
    """Echo text frames until the client leaves."""
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(text)


def configure_logging() -> None:
    """Log structlog events as console lines, with tracebacks but never a frame's local variables.

    structlog's default console renderer shows every frame's locals when ``rich`` is installed,
    and so does ``dict_tracebacks``. Here the locals hold the ASGI scope and its raw headers,
    ``Authorization`` and ``Cookie`` included, so the demo prints plain tracebacks instead.
    """
    # structlog's own defaults otherwise: colours only on a terminal, and never with NO_COLOR.
    colors = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.StackInfoRenderer(),
            structlog.dev.set_exc_info,
            structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S", utc=False),
            structlog.dev.ConsoleRenderer(
                colors=colors, exception_formatter=structlog.dev.plain_traceback
            ),
        ]
    )


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """Configure logging when a server starts the app; in-process tests never start it."""
    configure_logging()
    yield


starlette_app = Starlette(
    lifespan=lifespan,
    routes=[
        Route("/", index),
        Route("/stream", stream),
        Route("/boom", boom),
        Route("/private", private),
        Mount("/raw", app=raw_app),
        Route("/metrics", metrics_app(REGISTRY)),
        WebSocketRoute("/ws", echo),
    ],
)

#: The recommended order, outermost first (docs/composition.md): proxy headers, security
#: headers, CORS, request ID, access log, metrics, trusted host, HTTPS redirect (behind a TLS
#: proxy only), body limit, timing, timeout, auth, rate limit, compression.
STACK: tuple[LayerLike, ...] = (
    # Trusts X-Forwarded-For and -Proto from 127.0.0.1 and ::1 (its defaults): a local proxy.
    ProxyHeadersMiddleware,
    Layer(
        SecurityHeadersMiddleware,
        # A fresh nonce per request; a page would use request.state.csp_nonce in its <script>.
        csp=ContentSecurityPolicy(
            default_src=["'self'"], script_src=["'self'", NONCE], frame_ancestors=["'none'"]
        ),
    ),
    Layer(
        CORSMiddleware,
        allow_origins=SPA_ORIGINS,
        allow_methods=("GET", "POST"),
        allow_headers=("Authorization",),
        expose_headers=("X-Request-ID", "Server-Timing"),
        websocket_origins=(*SPA_ORIGINS, "http://127.0.0.1:8000"),
    ),
    RequestIDMiddleware,
    AccessLogMiddleware,
    # Counted into the demo's own registry, which /metrics serves.
    Layer(MetricsMiddleware, exporters=PrometheusExporter(registry=REGISTRY)),
    Layer(TrustedHostMiddleware, allowed_hosts=ALLOWED_HOSTS),
    *((HTTPSRedirectMiddleware,) if BEHIND_TLS_PROXY else ()),
    # The demo's endpoints take no uploads: 64 KiB is plenty for any request it expects.
    Layer(BodyLimitMiddleware, max_body_size=64 * 1024),
    Layer(TimingMiddleware, timing_allow_origin=list(SPA_ORIGINS)),
    # No endpoint of the demo should take 5 s to start answering; /stream then streams on.
    Layer(TimeoutMiddleware, timeout=5),
    # Anonymous requests go through; /private refuses them itself, with @requires.
    Layer(
        AuthenticationMiddleware,
        backend=BearerTokenBackend(tokens=[DEMO_TOKEN]),
        allow_anonymous=True,
    ),
    # 10 requests a second per client, up to 20 at once: every response says how many are left.
    Layer(RateLimitMiddleware, limits=[RateLimit("demo", 10, 1, burst=20)]),
    CompressionMiddleware,
)

app = compose(starlette_app, *STACK)
