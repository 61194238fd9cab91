"""MetricsMiddleware over httpx with Starlette, FastAPI and Litestar, and our other layers between.

Each test scrapes the app's own ``/metrics`` (``metrics_app``) and parses the exposition with
prometheus-client's parser, as Prometheus would read it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
import structlog
from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route

from asgi_middleware import (
    AccessLogMiddleware,
    ASGIApp,
    AuthenticationMiddleware,
    BearerTokenBackend,
    CompressionMiddleware,
    Layer,
    RequestIDMiddleware,
    compose,
)
from asgi_middleware.metrics import (
    MetricsMiddleware,
    PrometheusExporter,
    capture_route,
    metrics_app,
)
from tests.support.asgi import asgi_client

pytestmark = pytest.mark.anyio

DURATION = "http_server_request_duration_seconds"


def series(registry: CollectorRegistry, name: str = DURATION) -> dict[tuple[str, str, str], float]:
    """The request counts by (method, route, status) of the ``name`` histogram, via the parser."""
    found: dict[tuple[str, str, str], float] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            if sample.name == f"{name}_count":
                labels = sample.labels
                key = (
                    labels["http_request_method"],
                    labels["http_route"],
                    labels["http_response_status_code"],
                )
                found[key] = found.get(key, 0) + sample.value
    return found


async def requests(app: ASGIApp, calls: Iterable[tuple[str, str]], **headers: str) -> list[int]:
    """Send each ``(method, path)`` to ``app`` in process; return the statuses."""
    statuses = []
    async with asgi_client(app) as client:
        for method, path in calls:
            response = await client.request(method, path, headers=headers)
            statuses.append(response.status_code)
    return statuses


def drop(logger: Any, name: str, event: Any) -> Any:
    """A structlog processor that drops every event: the access log runs, nothing is printed."""
    raise structlog.DropEvent


def our_layers(app: ASGIApp, exporter: PrometheusExporter) -> ASGIApp:
    """Metrics outermost, then request ID, access log, auth and compression, then the app.

    compose wraps the app in capture_route by itself, since a metrics layer is in the stack.
    """
    logger = structlog.wrap_logger(None, processors=[drop])
    return compose(
        app,
        Layer(MetricsMiddleware, exporters=exporter),
        RequestIDMiddleware,
        Layer(AccessLogMiddleware, logger=logger),
        Layer(
            AuthenticationMiddleware,
            backend=BearerTokenBackend(tokens=["t0ken"]),
            allow_anonymous=True,
        ),
        CompressionMiddleware,
    )


async def text(request: Request) -> Response:
    """Any endpoint."""
    return PlainTextResponse("x" * 600)


def starlette_app(registry: CollectorRegistry) -> Starlette:
    """Routes, a parametrised mount and the metrics endpoint."""
    return Starlette(
        routes=[
            Route("/items/{item_id:int}", text, methods=["GET"]),
            Mount("/tenants/{tenant}", routes=[Route("/orders/{order_id}", text)]),
            Route("/metrics", metrics_app(registry)),
        ]
    )


STARLETTE_CALLS = [
    ("GET", "/items/1"),
    ("GET", "/items/2"),
    ("GET", "/tenants/acme/orders/9"),
    ("GET", "/tenants/globex/orders/9"),
    ("GET", "/nothing/here"),
    ("POST", "/items/1"),
    ("GET", "/metrics"),
]
STARLETTE_SERIES = {
    ("GET", "/items/{item_id:int}", "200"): 2,
    ("GET", "/tenants/{tenant}/orders/{order_id}", "200"): 2,
    ("GET", "_unmatched", "404"): 1,
    ("POST", "_unmatched", "405"): 1,
}


async def test_starlette_routes_directly_inside() -> None:
    """Directly around Starlette: templates with mounts, 404 and 405 unmatched, no /metrics."""
    registry = CollectorRegistry()
    app = MetricsMiddleware(
        starlette_app(registry), exporters=PrometheusExporter(registry=registry)
    )
    assert await requests(app, STARLETTE_CALLS) == [200, 200, 200, 200, 404, 405, 200]
    assert series(registry) == STARLETTE_SERIES


async def test_starlette_routes_through_our_other_layers() -> None:
    """With request ID, access log, auth and compression between, compose keeps the routes."""
    registry = CollectorRegistry()
    app = our_layers(starlette_app(registry), PrometheusExporter(registry=registry))
    statuses = await requests(app, STARLETTE_CALLS, authorization="Bearer t0ken")
    assert statuses == [200, 200, 200, 200, 404, 405, 200]
    assert series(registry) == STARLETTE_SERIES


async def test_compressed_bytes_are_counted_outside_compression() -> None:
    """Outside compression, the response size is the bytes on the wire (compressed)."""
    registry = CollectorRegistry()
    app = our_layers(starlette_app(registry), PrometheusExporter(registry=registry))
    await requests(app, [("GET", "/items/1")], accept_encoding="gzip")
    labels = {
        "http_request_method": "GET",
        "url_scheme": "http",
        "network_protocol_version": "1.1",
        "http_route": "/items/{item_id:int}",
        "http_response_status_code": "200",
        "error_type": "",
    }
    sent = registry.get_sample_value("http_server_response_body_size_bytes_sum", labels)
    assert sent is not None
    assert 0 < sent < 600


def fastapi_app(registry: CollectorRegistry) -> FastAPI:
    """Routers with prefixes, nested; a router included twice; a mounted FastAPI sub-app."""
    items = APIRouter(prefix="/items")

    @items.get("/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @items.post("/")
    async def create() -> dict[str, str]:
        return {"created": "yes"}

    v1 = APIRouter(prefix="/v1")
    v1.include_router(items)
    health = APIRouter()

    @health.get("/health")
    async def ok() -> dict[str, str]:
        return {"status": "ok"}

    sub = FastAPI()

    @sub.get("/reports/{report_id}")
    async def report(report_id: str) -> dict[str, str]:
        return {"id": report_id}

    app = FastAPI()
    app.include_router(v1, prefix="/api")
    app.include_router(health, prefix="/a")
    app.include_router(health, prefix="/b")
    app.mount("/admin", sub)
    app.router.routes.append(Route("/metrics", metrics_app(registry)))
    return app


FASTAPI_CALLS = [
    ("GET", "/api/v1/items/1"),
    ("GET", "/api/v1/items/2"),
    ("GET", "/api/v1/items/nan"),
    ("POST", "/api/v1/items/"),
    ("GET", "/a/health"),
    ("GET", "/b/health"),
    ("GET", "/admin/reports/q3"),
    ("DELETE", "/api/v1/items/1"),
    ("GET", "/missing"),
    ("GET", "/metrics"),
]
FASTAPI_SERIES = {
    ("GET", "/api/v1/items/{item_id}", "200"): 2,
    ("GET", "/api/v1/items/{item_id}", "422"): 1,
    ("POST", "/api/v1/items/", "200"): 1,
    ("GET", "/a/health", "200"): 1,
    ("GET", "/b/health", "200"): 1,
    ("GET", "/admin/reports/{report_id}", "200"): 1,
    ("DELETE", "_unmatched", "405"): 1,
    ("GET", "_unmatched", "404"): 1,
}


@pytest.mark.parametrize("layered", [False, True], ids=["directly", "through-our-layers"])
async def test_fastapi_routes_with_prefixes_and_mounts(layered: bool) -> None:
    """FastAPI: router prefixes, a router included twice, a mounted app; misses unmatched."""
    registry = CollectorRegistry()
    app: ASGIApp = fastapi_app(registry)
    exporter = PrometheusExporter(registry=registry)
    app = our_layers(app, exporter) if layered else MetricsMiddleware(app, exporters=exporter)
    statuses = await requests(app, FASTAPI_CALLS, authorization="Bearer t0ken")
    assert statuses == [200, 200, 422, 200, 200, 200, 200, 405, 404, 200]
    assert series(registry) == FASTAPI_SERIES


async def test_fastapi_add_middleware_inside_the_app() -> None:
    """``app.add_middleware(MetricsMiddleware, ...)`` reads the routes of the scope it passes on."""
    registry = CollectorRegistry()
    app = fastapi_app(registry)
    app.add_middleware(MetricsMiddleware, exporters=PrometheusExporter(registry=registry))
    await requests(app, FASTAPI_CALLS)
    assert series(registry) == FASTAPI_SERIES


@pytest.mark.parametrize("layered", [False, True], ids=["directly", "through-our-layers"])
async def test_litestar_routes(layered: bool) -> None:
    """Litestar: ``path_template`` of routers with prefixes; 404 and 405 unmatched."""
    litestar = pytest.importorskip("litestar")
    from litestar import Router, get  # noqa: PLC0415
    from litestar.handlers import asgi  # noqa: PLC0415

    registry = CollectorRegistry()
    scrape = metrics_app(registry)

    @get("/items/{item_id:int}", sync_to_thread=False)
    def item() -> dict[str, Any]:
        return {"id": 1}

    @asgi("/metrics", is_mount=True, copy_scope=True)
    async def metrics(scope: Any, receive: Any, send: Any) -> None:
        await scrape(scope, receive, send)

    app: ASGIApp = litestar.Litestar(
        route_handlers=[Router(path="/api/v1", route_handlers=[item]), metrics]
    )
    exporter = PrometheusExporter(registry=registry)
    app = our_layers(app, exporter) if layered else MetricsMiddleware(app, exporters=exporter)
    calls = [
        ("GET", "/api/v1/items/1"),
        ("GET", "/api/v1/items/2"),
        ("GET", "/nope"),
        ("POST", "/api/v1/items/1"),
        ("GET", "/metrics"),
    ]
    assert await requests(app, calls, authorization="Bearer t0ken") == [200, 200, 404, 405, 200]
    assert series(registry) == {
        ("GET", "/api/v1/items/{item_id}", "200"): 2,
        ("GET", "_unmatched", "404"): 1,
        ("POST", "_unmatched", "405"): 1,
    }


async def test_auth_refusals_are_recorded_under_the_route_they_asked_for() -> None:
    """A 401 from the auth layer never reached the router: it is recorded as unmatched."""
    registry = CollectorRegistry()
    exporter = PrometheusExporter(registry=registry)
    app = compose(
        capture_route(starlette_app(registry)),
        Layer(MetricsMiddleware, exporters=exporter),
        Layer(AuthenticationMiddleware, backend=BearerTokenBackend(tokens=["t0ken"])),
    )
    assert await requests(app, [("GET", "/items/1")]) == [401]
    assert series(registry) == {("GET", "_unmatched", "401"): 1}


async def test_scrape_through_the_endpoint_parses() -> None:
    """``/metrics`` served through the app parses with prometheus-client's own parser."""
    registry = CollectorRegistry()
    app = MetricsMiddleware(
        starlette_app(registry), exporters=PrometheusExporter(registry=registry)
    )
    async with asgi_client(app) as client:
        await client.get("/items/1")
        response = await client.get("/metrics")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {
        "http_server_request_duration_seconds",
        "http_server_active_requests",
        "http_server_request_body_size_bytes",
        "http_server_response_body_size_bytes",
        "asgi_websocket_session_duration_seconds",
        "asgi_websocket_active_sessions",
    } <= names


@pytest.mark.parametrize("mounted", [False, True], ids=["route", "mount"])
async def test_scrapes_are_not_counted_whether_routed_or_mounted(mounted: bool) -> None:
    """Scrapes stay out of the metrics with the defaults, via ``Route`` or Starlette's ``Mount``.

    A ``Mount("/metrics", ...)`` (as Starlette's own docs mount an ASGI app) serves
    ``/metrics/`` and redirects ``/metrics`` there; Prometheus follows the redirect, and
    neither request is recorded.
    """
    registry = CollectorRegistry()
    endpoint = metrics_app(registry)
    routes = [Mount("/metrics", endpoint) if mounted else Route("/metrics", endpoint)]
    app = MetricsMiddleware(
        Starlette(routes=routes), exporters=PrometheusExporter(registry=registry)
    )
    async with asgi_client(app) as client:
        for _ in range(3):
            response = await client.get("/metrics", follow_redirects=True)
    assert response.status_code == 200
    assert [step.status_code for step in response.history] == ([307] if mounted else [])
    assert series(registry) == {}
