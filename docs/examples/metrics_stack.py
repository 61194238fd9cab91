"""Metrics, request IDs and the access log together: from a slow bucket to its log lines.

Run it with `uvicorn metrics_stack:app --app-dir docs/examples`, call /orders/1 a few times,
then `curl -H 'Accept: application/openmetrics-text' localhost:8000/metrics`: each duration
bucket's exemplar names a request ID, and the access log has a line with that very ID.
"""

from __future__ import annotations

import logging
import sys

import structlog
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asgi_middleware import AccessLogMiddleware, Layer, RequestIDMiddleware, compose
from asgi_middleware.metrics import MetricsMiddleware, PrometheusExporter, metrics_app


async def order(request: Request) -> JSONResponse:
    """One order."""
    return JSONResponse({"id": int(request.path_params["order_id"])})


registry = CollectorRegistry()
api = Starlette(
    routes=[Route("/orders/{order_id:int}", order), Route("/metrics", metrics_app(registry))]
)
access_logger = structlog.wrap_logger(
    structlog.PrintLogger(sys.stdout),
    processors=[
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.JSONRenderer(),
    ],
    wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
)

# --8<-- [start:stack]
# compose puts capture_route() around the app by itself: the metrics layer reads the route the
# router matched through the layers in between.
app = compose(
    api,
    # Outermost, so the ID is set when the metrics layer records its exemplars...
    RequestIDMiddleware,
    # ...and next to the access log, which writes the same ID into every line.
    Layer(MetricsMiddleware, exporters=PrometheusExporter(registry=registry)),
    Layer(AccessLogMiddleware, logger=access_logger, exclude_paths=["/metrics"]),
)
# --8<-- [end:stack]
