"""Metrics scenarios: our MetricsMiddleware next to the Prometheus and OpenTelemetry peers.

Every row serves ``GET /api/items/42`` from a Starlette app with the route
``/api/items/{item_id}`` and must record that request under the route template, which each
check reads back from the row's own registry or reader.

* ``metrics-prometheus``: prometheus-fastapi-instrumentator's middleware (the reference; its
  default metrics: a request counter, size summaries and two duration histograms) and
  starlette-exporter's ``PrometheusMiddleware`` (with its optional body-size counters, so it does
  our job: count, duration, in-progress gauge, sizes) next to ours with a ``PrometheusExporter``
  on a fresh registry (duration and size histograms, active gauge). Both peers need the router
  in the scope before they run, so every row is added the way their docs say,
  ``Starlette(routes=..., middleware=[...])``; the bare row is the same app without middleware.
* ``metrics-otel``: ``opentelemetry.instrumentation.asgi.OpenTelemetryMiddleware`` with metrics
  only (a no-op tracer provider) and the stable HTTP conventions
  (``OTEL_SEMCONV_STABILITY_OPT_IN=http``), next to ours with an ``OpenTelemetryExporter``; each
  on its own SDK ``MeterProvider`` with an in-memory reader, wrapping the app from outside.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

# The peer reads this once, on first use: the stable instruments (seconds), as ours records.
os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")

from opentelemetry.instrumentation.asgi import (
    OpenTelemetryMiddleware,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.trace import NoOpTracerProvider
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_fastapi_instrumentator.middleware import (
    PrometheusInstrumentatorMiddleware,
)
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette_exporter import PrometheusMiddleware, optional_metrics

from asgi_middleware.metrics import (
    MetricsMiddleware,
    OpenTelemetryExporter,
    PrometheusExporter,
)
from benchmarks.checks import parse_response
from benchmarks.common import NO_BODY, OK_BODY, http_scope
from benchmarks.model import ASGIApp, Check, Message, Scenario, Variant

TEMPLATE = "/api/items/{item_id}"
PATH = "/api/items/42"


async def item(request: Request) -> Response:
    """The one endpoint: the same small JSON body as the other scenarios."""
    return Response(OK_BODY, media_type="application/json")


ROUTES = [Route(TEMPLATE, item)]


def starlette_app(*middleware: Middleware) -> ASGIApp:
    """The scenario's Starlette app, with ``middleware`` added as the peers' docs add theirs."""
    return Starlette(routes=ROUTES, middleware=list(middleware))


def _ok(messages: list[Message]) -> None:
    response = parse_response(messages)
    if response.status != 200 or response.body != OK_BODY:
        msg = f"status {response.status} or body changed"
        raise AssertionError(msg)


def counted(read: Callable[[], float]) -> Check:
    """The count ``read`` returns grew since the last check: the row recorded it by template.

    Timed requests are served between two checks' requests, so the count may grow by more.
    """
    seen = [read()]

    def check(messages: list[Message]) -> None:
        _ok(messages)
        count = read()
        if count <= seen[0]:
            msg = f"the request was not recorded under {TEMPLATE} (count {count})"
            raise AssertionError(msg)
        seen[0] = count

    return check


def sample(registry: CollectorRegistry, name: str, labels: dict[str, str]) -> Callable[[], float]:
    """Read one sample of ``registry``, 0 until it exists."""
    return lambda: registry.get_sample_value(name, labels) or 0.0


# --- Prometheus -------------------------------------------------------------------------------

_INSTRUMENTATOR_REGISTRY = CollectorRegistry()
_OUR_REGISTRY = CollectorRegistry()
_OUR_EXPORTER = PrometheusExporter(registry=_OUR_REGISTRY)


def instrumentator(app: ASGIApp) -> ASGIApp:
    """prometheus-fastapi-instrumentator's middleware, its default metrics, its own registry."""
    middleware = Middleware(PrometheusInstrumentatorMiddleware, registry=_INSTRUMENTATOR_REGISTRY)
    return starlette_app(middleware)


def starlette_exporter(app: ASGIApp) -> ASGIApp:
    """starlette-exporter with its body-size counters (it keeps its metrics on the class)."""
    sizes = [optional_metrics.request_body_size, optional_metrics.response_body_size]
    return starlette_app(Middleware(PrometheusMiddleware, optional_metrics=sizes))


def ours_prometheus(app: ASGIApp) -> ASGIApp:
    """Our middleware with a Prometheus exporter on its own registry."""
    return starlette_app(Middleware(MetricsMiddleware, exporters=_OUR_EXPORTER))


_OURS_PROMETHEUS_LABELS = {
    "http_request_method": "GET",
    "url_scheme": "https",
    "network_protocol_version": "1.1",
    "http_route": TEMPLATE,
    "http_response_status_code": "200",
    "error_type": "",
}

# --- OpenTelemetry ----------------------------------------------------------------------------


class Reader:
    """An SDK meter provider with an in-memory reader, and the count of one histogram in it."""

    def __init__(self) -> None:
        self.reader = InMemoryMetricReader()
        self.provider = MeterProvider(metric_readers=[self.reader])

    def count(self, name: str) -> float:
        """Requests recorded by the ``name`` histogram under the route template."""
        data = self.reader.get_metrics_data()
        total = 0
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name != name:
                        continue
                    for point in metric.data.data_points:
                        attributes: dict[str, Any] = dict(point.attributes or {})
                        if attributes.get("http.route", TEMPLATE) == TEMPLATE:
                            total += point.count  # type: ignore[union-attr]  # histograms
        return total


_PEER_READER = Reader()
_OUR_READER = Reader()


def otel_peer(app: ASGIApp) -> ASGIApp:
    """opentelemetry-instrumentation-asgi, metrics only: tracing off with a no-op provider."""
    return OpenTelemetryMiddleware(
        app, tracer_provider=NoOpTracerProvider(), meter_provider=_PEER_READER.provider
    )


def ours_otel(app: ASGIApp) -> ASGIApp:
    """Our middleware with an OpenTelemetry exporter on its own meter provider."""
    exporter = OpenTelemetryExporter(meter_provider=_OUR_READER.provider)
    return MetricsMiddleware(app, exporters=exporter)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        name="metrics-prometheus",
        description=f"GET {PATH}: Prometheus metrics by route template ({TEMPLATE})",
        app=starlette_app(),
        scope=http_scope("GET", PATH, ()),
        request=NO_BODY,
        bare_check=_ok,
        reference="instrumentator",
        fresh_scope=True,  # Starlette writes the route into the scope it is given
        variants=(
            Variant(
                "instrumentator",
                instrumentator,
                counted(
                    sample(
                        _INSTRUMENTATOR_REGISTRY,
                        "http_requests_total",
                        {"handler": TEMPLATE, "method": "GET", "status": "2xx"},
                    )
                ),
                "prometheus-fastapi-instrumentator, default metrics",
            ),
            Variant(
                "starlette-exporter",
                starlette_exporter,
                counted(
                    sample(
                        REGISTRY,
                        "starlette_requests_total",
                        {
                            "method": "GET",
                            "path": TEMPLATE,
                            "status_code": "200",
                            "app_name": "starlette",
                        },
                    )
                ),
                "with request/response body size",
            ),
            Variant(
                "asgi-middleware",
                ours_prometheus,
                counted(
                    sample(
                        _OUR_REGISTRY,
                        "http_server_request_duration_seconds_count",
                        _OURS_PROMETHEUS_LABELS,
                    )
                ),
                "PrometheusExporter, fresh registry",
            ),
        ),
    ),
    Scenario(
        name="metrics-otel",
        description=f"GET {PATH}: OpenTelemetry HTTP server metrics, SDK in-memory reader",
        app=starlette_app(),
        scope=http_scope("GET", PATH, ()),
        request=NO_BODY,
        bare_check=_ok,
        reference="otel-asgi",
        fresh_scope=True,
        variants=(
            Variant(
                "otel-asgi",
                otel_peer,
                counted(lambda: _PEER_READER.count("http.server.request.duration")),
                "opentelemetry-instrumentation-asgi, tracing off",
            ),
            Variant(
                "asgi-middleware",
                ours_otel,
                counted(lambda: _OUR_READER.count("http.server.request.duration")),
                "OpenTelemetryExporter",
            ),
        ),
    ),
)
