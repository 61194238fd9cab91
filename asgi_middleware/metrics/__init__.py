"""Metrics: HTTP server metrics by route template, for Prometheus and OpenTelemetry (SPEC §15).

``middleware`` holds the middleware, the exporter protocol and the attributes it records;
``prometheus`` the Prometheus exporter and the ``/metrics`` endpoint; ``otel`` the OpenTelemetry
exporter. ``_route`` reads route templates from what routers leave in the scope, and
``_instruments`` names the instruments. prometheus-client and opentelemetry-api (the
``prometheus`` and ``otel`` extras) are imported only when an exporter is built.
"""

from __future__ import annotations

from asgi_middleware.metrics._route import capture_route
from asgi_middleware.metrics.middleware import (
    CANCELLED,
    DISCONNECTED,
    UNMATCHED_ROUTE,
    Exporter,
    HTTPAttributes,
    MetricsMiddleware,
    WebSocketAttributes,
)
from asgi_middleware.metrics.otel import OpenTelemetryExporter
from asgi_middleware.metrics.prometheus import PrometheusExporter, metrics_app

__all__ = [
    "CANCELLED",
    "DISCONNECTED",
    "UNMATCHED_ROUTE",
    "Exporter",
    "HTTPAttributes",
    "MetricsMiddleware",
    "OpenTelemetryExporter",
    "PrometheusExporter",
    "WebSocketAttributes",
    "capture_route",
    "metrics_app",
]
