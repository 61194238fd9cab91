"""The production edge: a FastAPI service behind nginx with the whole collection in front of it.

Run it behind nginx (docs/recipes/production-edge.md shows the server block) with
`uvicorn recipe_production_edge:app --app-dir docs/examples --no-access-log --no-proxy-headers`:
the stack's own access log and proxy-headers layer replace uvicorn's.
"""

from __future__ import annotations

import anyio
from fastapi import FastAPI, Request
from prometheus_client import CollectorRegistry
from starlette.routing import Route

from asgi_middleware import (
    NONCE,
    AccessLogMiddleware,
    ASGIApp,
    AuthenticationMiddleware,
    BearerTokenBackend,
    BodyLimitMiddleware,
    CompressionMiddleware,
    ContentSecurityPolicy,
    CORSMiddleware,
    HTTPSRedirectMiddleware,
    Layer,
    MemoryStore,
    MetricsMiddleware,
    PrometheusExporter,
    ProxyHeadersMiddleware,
    RateLimit,
    RateLimitMiddleware,
    RequestIDMiddleware,
    SecurityHeadersMiddleware,
    TimeoutMiddleware,
    TimingMiddleware,
    TrustedHostMiddleware,
    compose,
    metrics_app,
    requires,
)
from asgi_middleware.rate_limit import Store, user

#: The public name nginx serves; requests for any other host are refused.
PUBLIC_HOST = "api.example.com"
#: The single-page app that calls the API from another origin.
SPA_ORIGIN = "https://app.example.com"
#: A made-up token; a real service loads its secrets from the environment or a vault.
TOKEN = "edge-token-change-me"  # noqa: S105 - a published example value


def create_api(registry: CollectorRegistry) -> FastAPI:
    """The service itself: a few endpoints, nothing about the edge."""
    api = FastAPI()

    @api.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/api/orders/{order_id}")
    @requires()
    async def order(request: Request, order_id: int) -> dict[str, object]:
        return {"id": order_id, "user": request.user.display_name, "items": ["tea"] * 200}

    @api.post("/api/upload")
    @requires()
    async def upload(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @api.get("/api/report")
    @requires()
    async def report(request: Request) -> dict[str, str]:
        await anyio.sleep(30)  # a query that hangs: the timeout answers 504 long before
        return {"report": "never"}

    api.router.routes.append(Route("/metrics", metrics_app(registry)))
    return api


# --8<-- [start:stack]
def create_app(*, store: Store | None = None) -> ASGIApp:
    """The service behind the whole collection, in the recommended order, first outermost."""
    registry = CollectorRegistry()
    return compose(
        create_api(registry),
        # nginx on the same host: trust its X-Forwarded-For and -Proto, and only its.
        Layer(ProxyHeadersMiddleware, trusted_proxies=["127.0.0.1", "::1"]),
        Layer(
            SecurityHeadersMiddleware,
            csp=ContentSecurityPolicy(default_src=["'self'"], script_src=["'self'", NONCE]),
        ),
        Layer(
            CORSMiddleware,
            allow_origins=[SPA_ORIGIN],
            allow_headers=["Authorization"],
            expose_headers=["X-Request-ID", "RateLimit", "RateLimit-Policy"],
        ),
        RequestIDMiddleware,
        Layer(AccessLogMiddleware, exclude_paths=["/healthz", "/metrics"]),
        Layer(MetricsMiddleware, exporters=PrometheusExporter(registry=registry)),
        # The public name, and 127.0.0.1 for nginx's and the orchestrator's health checks.
        Layer(TrustedHostMiddleware, allowed_hosts=[PUBLIC_HOST, "127.0.0.1"]),
        # Health checks come over plain HTTP from the host itself; everything else must be HTTPS.
        Layer(HTTPSRedirectMiddleware, status=308, exclude_paths=["/healthz", "/metrics"]),
        Layer(BodyLimitMiddleware, max_body_size=1024 * 1024, path_limits={"/api/upload": 2**24}),
        TimingMiddleware,
        Layer(TimeoutMiddleware, timeout=10, path_timeouts={"/api/report": 0.5}),
        Layer(
            AuthenticationMiddleware,
            backend=BearerTokenBackend(tokens={TOKEN: "edge-user"}),
            allow_anonymous=True,
        ),
        # 20 requests a second per user (per client address when anonymous), 40 at once.
        Layer(
            RateLimitMiddleware,
            limits=[RateLimit("api", 20, 1, burst=40)],
            key=user(),
            store=store if store is not None else MemoryStore(),
        ),
        CompressionMiddleware,
    )


app = create_app()
# --8<-- [end:stack]
